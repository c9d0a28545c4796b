//! Splits a SecLang action list (`id:1,msg:'a, b',t:none`) into name/value pairs.

/// One action as written: name and optional unquoted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawAction {
    /// Action name (e.g. `setvar`), as written.
    pub(crate) name: String,
    /// The value after the first `:`, with single quotes removed and `\'` unescaped.
    pub(crate) value: Option<String>,
}

/// Splits `text` on commas outside single quotes.
pub(crate) fn split_actions(text: &str) -> Result<Vec<RawAction>, String> {
    let mut out = Vec::new();
    let mut piece = String::new();
    let mut in_quote = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_quote => {
                // Keep the escape: the value parser below decides what it means.
                piece.push('\\');
                if let Some(n) = chars.next() {
                    piece.push(n);
                }
            }
            '\'' => {
                in_quote = !in_quote;
                piece.push(c);
            }
            ',' if !in_quote => {
                push_piece(&mut out, &piece)?;
                piece.clear();
            }
            c => piece.push(c),
        }
    }
    if in_quote {
        return Err(format!("unterminated single quote in actions: {text}"));
    }
    push_piece(&mut out, &piece)?;
    Ok(out)
}

fn push_piece(out: &mut Vec<RawAction>, piece: &str) -> Result<(), String> {
    let piece = piece.trim();
    if piece.is_empty() {
        return Ok(());
    }
    let (name, value) = match piece.find(':') {
        Some(i) => (piece[..i].trim(), Some(unquote(piece[i + 1..].trim()))),
        None => (piece, None),
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("malformed action `{piece}`"));
    }
    out.push(RawAction {
        name: name.to_string(),
        value,
    });
    Ok(())
}

/// Removes one pair of surrounding single quotes and unescapes `\'` inside them.
fn unquote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        value[1..value.len() - 1].replace("\\'", "'")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, Option<String>)> {
        split_actions(text)
            .unwrap()
            .into_iter()
            .map(|a| (a.name, a.value))
            .collect()
    }

    #[test]
    fn commas_inside_quotes() {
        let p = pairs("id:1, msg:'a, b', setvar:'tx.x=%{tx.y},z',t:none,pass");
        assert_eq!(p[0], ("id".into(), Some("1".into())));
        assert_eq!(p[1], ("msg".into(), Some("a, b".into())));
        assert_eq!(p[2], ("setvar".into(), Some("tx.x=%{tx.y},z".into())));
        assert_eq!(p[3], ("t".into(), Some("none".into())));
        assert_eq!(p[4], ("pass".into(), None));
    }

    #[test]
    fn ctl_with_colon_in_value() {
        let p = pairs("ctl:ruleRemoveTargetById=942100;ARGS:foo");
        assert_eq!(
            p[0],
            ("ctl".into(), Some("ruleRemoveTargetById=942100;ARGS:foo".into()))
        );
    }

    #[test]
    fn escaped_quote_in_value() {
        let p = pairs(r"msg:'it\'s, here',log");
        assert_eq!(p[0].1.as_deref(), Some("it's, here"));
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn unterminated_quote_fails() {
        assert!(split_actions("msg:'abc").is_err());
    }
}
