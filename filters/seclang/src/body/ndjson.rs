//! Newline-delimited JSON (`application/x-ndjson`, JSON Lines): each non-blank line is one JSON
//! document, parsed as `application/json` is; arguments are named `json.<key>` for the first
//! document and `json[n].<key>` for the n-th.

use super::json::{self, JsonConfig};
use super::message_prefix;

/// What the NDJSON processor extracted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ndjson {
    /// Arguments in document order (ARGS_POST).
    pub(crate) args: Vec<(Vec<u8>, Vec<u8>)>,
    /// The first parse error (REQBODY_ERROR_MSG), naming its line; arguments before it are kept.
    pub(crate) error: Option<String>,
}

/// Parses `body` line by line; stops at the first line that is not JSON.
pub(crate) fn parse(body: &[u8], config: &JsonConfig) -> Ndjson {
    let mut out = Ndjson::default();
    let mut index = 0;
    for (n, line) in body.split(|&c| c == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        index += 1;
        let prefix = message_prefix("json", index);
        let parsed = json::parse(line, config);
        out.args
            .extend(parsed.args.into_iter().map(|(k, v)| (json::renamed(&k, &prefix), v)));
        if let Some(e) = parsed.error {
            out.error = Some(format!("line {}: {e}", n + 1));
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &Ndjson) -> Vec<String> {
        n.args
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    #[test]
    fn each_line_is_a_document() {
        let n = parse(b"{\"a\":1}\r\n\n{\"b\":{\"c\":\"x\"}}\n", &JsonConfig::default());
        assert_eq!(n.error, None);
        assert_eq!(names(&n), ["json.a", "json[2].b.c"]);
    }

    #[test]
    fn a_bad_line_is_an_error_after_the_good_ones() {
        let n = parse(b"{\"a\":1}\n{\"a\":1}{\n{\"z\":1}", &JsonConfig::default());
        assert!(n.error.as_deref().is_some_and(|e| e.starts_with("line 2:")), "{n:?}");
        assert_eq!(names(&n), ["json.a", "json[2].a"]);
    }
}
