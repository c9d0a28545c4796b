//! What one path segment looks like: an identifier a template folds into `{*}`, or a word.

/// Why a segment is folded into `{*}` on sight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// Digits only.
    Number,
    /// `8-4-4-4-12` hex.
    Uuid,
    /// 16 or more hex digits (a hash, an object id).
    Hex,
    /// `YYYY-MM-DD`.
    Date,
    /// 8 or more letters and digits, at least two digits (`a1b2c3d4`, `usr_7Hk29xQp`).
    Token,
    /// 16 or more base64url characters: both cases, each at least a quarter of the letters
    /// (random, unlike camelCase words), or both cases and two digits.
    Base64Url,
    /// A segment holding a value the filter redacted (`[redacted]`, `a;jsessionid=[redacted]`).
    Redacted,
    /// Holds `*`, `{` or `}`, which no path pattern can say literally.
    Unrepresentable,
}

/// The id kind of `seg`, or `None` for a word that stays literal unless its siblings are many.
pub fn id_kind(seg: &str) -> Option<IdKind> {
    if seg.is_empty() {
        return None;
    }
    if seg.contains(['*', '{', '}']) {
        return Some(IdKind::Unrepresentable);
    }
    // The filter redacts sensitive values, also inside a segment (`a;jsessionid=[redacted]`):
    // the logged text is not what the application receives, so only `{*}` can match it.
    if seg.contains("[redacted]") {
        return Some(IdKind::Redacted);
    }
    let b = seg.as_bytes();
    if b.iter().all(u8::is_ascii_digit) {
        return Some(IdKind::Number);
    }
    if is_uuid(b) {
        return Some(IdKind::Uuid);
    }
    if b.len() >= 16 && b.iter().all(u8::is_ascii_hexdigit) {
        return Some(IdKind::Hex);
    }
    if is_date(b) {
        return Some(IdKind::Date);
    }
    if is_token(seg) {
        return Some(IdKind::Token);
    }
    if is_base64url(b) {
        return Some(IdKind::Base64Url);
    }
    None
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_date(b: &[u8]) -> bool {
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// Letters and digits, 8 or more, two digits at least; a `prefix_` or `prefix-` of letters is
/// allowed (`ord_8f3k2m9x`). One digit is not enough: `oauth2callback`, `user2fa` are words.
fn is_token(seg: &str) -> bool {
    let body = match seg.rfind(['_', '-']) {
        Some(i) if seg[..i].bytes().all(|c| c.is_ascii_alphabetic()) && i > 0 => &seg[i + 1..],
        Some(_) => return false,
        None => seg,
    };
    let b = body.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    b.len() >= 8 && b.iter().all(u8::is_ascii_alphanumeric) && digits >= 2 && digits < b.len()
}

fn is_base64url(b: &[u8]) -> bool {
    if b.len() < 16 || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_') {
        return false;
    }
    let upper = b.iter().filter(|c| c.is_ascii_uppercase()).count();
    let lower = b.iter().filter(|c| c.is_ascii_lowercase()).count();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = upper + lower;
    let mixed = upper * 4 >= letters && lower * 4 >= letters;
    upper > 0 && lower > 0 && (mixed || digits >= 2)
}

/// A gRPC service segment (`pkg.v1.Service`): its children are methods, a closed set that is
/// never folded however many there are.
pub fn is_grpc_service(seg: &str) -> bool {
    let mut parts = seg.split('.');
    let last = parts.next_back().unwrap_or("");
    seg.contains('.')
        && last.starts_with(|c: char| c.is_ascii_uppercase())
        && seg
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// Whether the last segment names a file (`app.3f2a.js`, `logo.png`): a static asset.
pub fn has_file_extension(seg: &str) -> bool {
    match seg.rsplit_once('.') {
        Some((name, ext)) => {
            !name.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && ext.chars().any(|c| c.is_ascii_alphabetic())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_recognised() {
        let cases = [
            ("42", Some(IdKind::Number)),
            ("0", Some(IdKind::Number)),
            ("3f2504e0-4f89-11d3-9a0c-0305e82c3301", Some(IdKind::Uuid)),
            ("3f2504e0-4f89-11d3-9a0c-0305e82c330", None),
            ("d41d8cd98f00b204e9800998ecf8427e", Some(IdKind::Hex)),
            ("2026-12-07", Some(IdKind::Date)),
            ("a1b2c3d4", Some(IdKind::Token)),
            ("ord_8f3k2m9x", Some(IdKind::Token)),
            ("aZ-k_9PqLm3xYt7w", Some(IdKind::Base64Url)),
            ("rFpXukdGMQaAGVgzwekWrS", Some(IdKind::Base64Url)),
            ("sCtTIJ_QLJBTsAdbspikga", Some(IdKind::Base64Url)),
            ("[redacted]", Some(IdKind::Redacted)),
            ("cart;jsessionid=[redacted]", Some(IdKind::Redacted)),
            ("a*b", Some(IdKind::Unrepresentable)),
            ("{x}", Some(IdKind::Unrepresentable)),
        ];
        for (seg, want) in cases {
            assert_eq!(id_kind(seg), want, "{seg}");
        }
    }

    #[test]
    fn words_stay_words() {
        for seg in [
            "",
            "users",
            "v1",
            "v2beta1",
            "oauth2callback",
            "user_2fa_settings",
            "me",
            "get-user-profile-settings",
            "helloworld.Greeter",
            "SayHello",
            "abcdef12",
            "deadbeef",
            "red-wool-sweater-2",
            "getUserProfileSettings",
            "ListInvoicesByCustomer",
        ] {
            // `abcdef12` is hex but short, and a token only with two digits: it is one.
            let want = (seg == "abcdef12").then_some(IdKind::Token);
            assert_eq!(id_kind(seg), want, "{seg}");
        }
    }

    #[test]
    fn grpc_services_and_file_names() {
        assert!(is_grpc_service("helloworld.Greeter"));
        assert!(is_grpc_service("acme.billing.v1.Invoices"));
        assert!(!is_grpc_service("Greeter"));
        assert!(!is_grpc_service("app.min.js"));
        assert!(!is_grpc_service("a..B"));
        assert!(has_file_extension("app.3f2a.js"));
        assert!(has_file_extension("logo.png"));
        assert!(!has_file_extension("v1.2"));
        assert!(!has_file_extension(".env"));
        assert!(!has_file_extension("users"));
    }
}
