//! SQL injection detection: tokenize, fold to a fingerprint, look the fingerprint up.

mod fold;
mod keyword_index;
mod keywords;
mod token;
mod tokenizer;

pub use fold::{fold, TokenVec, MAX_TOKENS};
pub use token::{Token, TokenType};
pub use tokenizer::{Dialect, Flags, Quote, Stats, Tokenizer};

use TokenType as T;

/// Result of fingerprinting one input under one set of flags.
pub struct Fingerprint<'a> {
    input: &'a [u8],
    /// Fingerprint characters: at most five, but a six-token "evil" fold reaches here too.
    chars: [u8; MAX_TOKENS + 3],
    len: usize,
    /// The folded tokens (the first `len` are meaningful).
    tokens: TokenVec,
    stats: Stats,
}

impl<'a> Fingerprint<'a> {
    /// Tokenizes and folds `input` under `flags`.
    pub fn of(input: &'a [u8], flags: Flags) -> Self {
        let mut tz = Tokenizer::new(input, flags);
        let mut tokens = TokenVec::default();
        let mut count = fold(&mut tz, &mut tokens);

        // PHP's backtick comment: a trailing empty, unterminated `...` bare word is a comment.
        if count > 2 {
            let last = &mut tokens[count - 1];
            if last.kind == T::Bareword && last.str_open == b'`' && last.len == 0 && last.str_close == 0 {
                last.kind = T::Comment;
            }
        }

        // A type code of 0 would end libinjection's C string early.
        count = tokens[..count].iter().position(|t| t.kind == T::None).unwrap_or(count);
        let mut chars = [0u8; MAX_TOKENS + 3];
        for (c, t) in chars.iter_mut().zip(&tokens[..count]) {
            *c = t.kind.code();
        }
        let mut fp = Fingerprint {
            input,
            chars,
            len: count,
            tokens,
            stats: tz.stats(),
        };

        // Unparsable input ('X' anywhere) collapses to the fingerprint "X".
        if fp.as_bytes().contains(&b'X') {
            fp.chars = [0; MAX_TOKENS + 3];
            fp.chars[0] = b'X';
            fp.len = 1;
            fp.tokens[0].make_evil();
            fp.tokens[1].kind = T::None;
        }
        fp
    }

    /// The fingerprint characters, e.g. `s&1c`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.chars[..self.len]
    }

    /// The fingerprint as text.
    pub fn as_str(&self) -> &str {
        // Every token type code is ASCII.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The folded tokens behind the fingerprint.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens[..self.len]
    }

    /// True when the fingerprint is in libinjection's SQLi list and no false-positive rule
    /// clears it.
    pub fn is_sqli(&self) -> bool {
        self.in_blacklist() && !self.is_benign()
    }

    fn in_blacklist(&self) -> bool {
        if self.len == 0 {
            return false;
        }
        let mut key = [0u8; MAX_TOKENS + 4];
        key[0] = b'0';
        key[1..=self.len].copy_from_slice(self.as_bytes());
        tokenizer::lookup(&key[..=self.len]) == Some(T::Fingerprint)
    }

    /// libinjection's "whitelist": shapes that match the list but are common in plain text.
    fn is_benign(&self) -> bool {
        let input = self.input;
        let fp = self.as_bytes();
        let tv = &self.tokens;

        // SQL Server's audit log hides statements containing "sp_password".
        if fp.len() > 1 && fp[fp.len() - 1] == b'c' && contains(input, b"sp_password") {
            return false;
        }

        match fp.len() {
            2 => {
                if fp[1] == b'U' {
                    // "1 union" alone is common; with folding or comments around it, not.
                    return self.stats.tokens == 2;
                }
                // A '#' comment is too common.
                if tv[1].byte(0) == b'#' {
                    return true;
                }
                // "nc": only /* comments count.
                if tv[0].kind == T::Bareword && tv[1].kind == T::Comment && tv[1].byte(0) != b'/' {
                    return true;
                }
                if tv[0].kind == T::Number && tv[1].kind == T::Comment {
                    if tv[1].byte(0) == b'/' || self.stats.tokens > 2 {
                        return false;
                    }
                    // "1234--" is SQLi but "1234-ABCDEF--" (base64-looking) is not: look at the
                    // raw byte after the number. C reads a signed char, so bytes >= 0x80 count
                    // as whitespace here.
                    let at = |i: usize| input.get(i).copied().unwrap_or(0);
                    let n = tv[0].len;
                    let ch = at(n);
                    let sqli = ch <= 32
                        || ch >= 0x80
                        || (ch == b'/' && at(n + 1) == b'*')
                        || (ch == b'-' && at(n + 1) == b'-');
                    return !sqli;
                }
                // Only "1--" at the end of input, not "1-- some text".
                tv[1].len > 2 && tv[1].byte(0) == b'-'
            }
            3 => match fp {
                b"sos" | b"s&s" => {
                    // ...foo' + 'bar... : no opening quote, no closing quote.
                    let quoted_join = tv[0].str_open == 0 && tv[2].str_close == 0 && tv[0].str_close == tv[2].str_open;
                    !quoted_join
                }
                b"s&n" | b"n&1" | b"1&1" | b"1&v" | b"1&s" => self.stats.tokens == 3,
                _ if tv[1].kind == T::Keyword => {
                    // Only "INTO OUTFILE" / "INTO DUMPFILE" keep this shape SQLi.
                    tv[1].len < 5 || !token::eq_upper(b"INTO", &tv[1].value()[..4])
                }
                _ => false,
            },
            _ => false,
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// libinjection_sqli: the fingerprint when `input` is SQLi under any of the contexts tried
/// (as-is, after a `'`, after a `"`; ANSI and then MySQL comment rules).
pub fn detect(input: &[u8]) -> Option<String> {
    if input.is_empty() {
        return None;
    }
    let ansi = |quote| Flags {
        quote,
        dialect: Dialect::Ansi,
    };
    let mysql = |quote| Flags {
        quote,
        dialect: Dialect::Mysql,
    };
    let hit = |flags: Flags| -> (Option<String>, bool) {
        let fp = Fingerprint::of(input, flags);
        let reparse = fp.stats.comment_ddx > 0 || fp.stats.comment_hash > 0;
        (fp.is_sqli().then(|| fp.as_str().to_owned()), reparse)
    };
    let try_context = |quote: Quote| -> Option<String> {
        let (found, reparse) = hit(ansi(quote));
        if found.is_some() {
            return found;
        }
        if reparse {
            return hit(mysql(quote)).0;
        }
        None
    };

    if let Some(fp) = try_context(Quote::None) {
        return Some(fp);
    }
    if input.contains(&b'\'') {
        if let Some(fp) = try_context(Quote::Single) {
            return Some(fp);
        }
    }
    if input.contains(&b'"') {
        return hit(mysql(Quote::Double)).0;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_lookup_ignores_ascii_case_only() {
        assert_eq!(tokenizer::lookup(b"select"), Some(T::Expression));
        assert_eq!(tokenizer::lookup(b"UNION ALL"), Some(T::Union));
        assert_eq!(tokenizer::lookup(b"0S&1C"), Some(T::Fingerprint));
        assert_eq!(tokenizer::lookup(b"sel\0ect"), None);
        assert_eq!(tokenizer::lookup(b""), None);
    }

    #[test]
    fn contexts_are_tried_in_libinjections_order() {
        // Only SQLi when read as following a single quote.
        assert_eq!(detect(b"1' or '1'='1").as_deref(), Some("s&sos"));
        let as_is = Fingerprint::of(b"1' or '1'='1", Flags::ANSI);
        assert!(!as_is.is_sqli());
        // MySQL reading of '#' is tried only after a '#' was seen.
        assert_eq!(detect(b"' OR 1=1 #").as_deref(), Some("s&1c"));
    }

    #[test]
    fn unparsable_comments_are_evil() {
        let fp = Fingerprint::of(b"1 /*! union */", Flags::ANSI);
        assert_eq!(fp.as_str(), "X");
        assert!(fp.is_sqli());
    }
}
