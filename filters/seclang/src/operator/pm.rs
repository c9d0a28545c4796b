//! Phrase matching: `@pm` and `@pmFromFile` / `@pmf`, case-insensitive (ASCII) as
//! ModSecurity's Aho-Corasick (`acmp`) is.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// A phrase set; its automaton is built the first time a value reaches it (the rule
/// set's prefilter already holds the phrases, so most values never do, and building every
/// CRS phrase file's automaton was a tenth of the load time).
#[derive(Debug, Clone)]
pub(crate) struct PhraseSet {
    matcher: OnceLock<Result<AhoCorasick, String>>,
    phrases: Vec<Vec<u8>>,
}

impl PhraseSet {
    /// Keeps the set; empty phrases are dropped.
    pub(crate) fn new(phrases: Vec<Vec<u8>>) -> Result<PhraseSet, String> {
        let phrases: Vec<Vec<u8>> = phrases.into_iter().filter(|p| !p.is_empty()).collect();
        Ok(PhraseSet {
            matcher: OnceLock::new(),
            phrases,
        })
    }

    /// The automaton, built now on first use.
    fn matcher(&self) -> Option<&AhoCorasick> {
        self.matcher
            .get_or_init(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&self.phrases)
                    .map_err(|e| {
                        super::note_deferred_failure();
                        e.to_string()
                    })
            })
            .as_ref()
            .ok()
    }

    /// Why the first-use build failed, if it was tried and did.
    pub(crate) fn build_error(&self) -> Option<&str> {
        self.matcher.get()?.as_ref().err().map(String::as_str)
    }

    /// The `@pm` argument: space-separated phrases, optionally in double quotes, with `|HH HH|`
    /// hex bytes and `\:` `\;` `\\` `\"` escapes (an invalid hex or escape makes ModSecurity use
    /// the raw argument instead).
    pub(crate) fn from_argument(arg: &str) -> Result<PhraseSet, String> {
        let content = parse_pm_content(arg.as_bytes());
        let phrases = content
            .split(|&c| is_c_space(c))
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        PhraseSet::new(phrases)
    }

    /// A `@pmFromFile` data file: one phrase per line, as is (not trimmed); empty lines and
    /// lines whose first non-whitespace byte is `#` are skipped.
    pub(crate) fn from_file_contents(text: &[u8]) -> Result<PhraseSet, String> {
        let phrases = text
            .split(|&c| c == b'\n')
            .filter(|line| !is_comment(line))
            .map(<[u8]>::to_vec)
            .collect();
        PhraseSet::new(phrases)
    }

    /// Number of phrases.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.phrases.len()
    }

    /// The phrases, lower-cased (a value matches when it contains one, ignoring ASCII case).
    pub(crate) fn lowercase_phrases(&self) -> Vec<Vec<u8>> {
        self.phrases.iter().map(|p| p.to_ascii_lowercase()).collect()
    }

    /// The first phrase found (the one ending earliest in `value`), as written in the rule.
    pub(crate) fn find(&self, value: &[u8]) -> Option<&[u8]> {
        let m = self.matcher()?.find(value)?;
        self.phrases.get(m.pattern().as_usize()).map(Vec::as_slice)
    }
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_comment(line: &[u8]) -> bool {
    if line.is_empty() {
        return true;
    }
    match line.iter().position(|&c| c == b'#') {
        Some(hash) => line[..hash].iter().all(|&c| is_c_space(c)),
        None => false,
    }
}

/// ModSecurity's `parse_pm_content`.
fn parse_pm_content(raw: &[u8]) -> Vec<u8> {
    let Some(offset) = raw.iter().position(|&c| c != b' ' && c != b'\t') else {
        return raw.to_vec();
    };
    let mut body = &raw[offset..];
    if body.len() >= 2 && body[0] == b'"' && body[body.len() - 1] == b'"' {
        body = &body[1..body.len() - 1];
    }
    if body.is_empty() {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(body.len());
    let mut bin = false;
    let mut esc = false;
    let mut hex: Vec<u8> = Vec::with_capacity(2);
    for &c in body {
        if c == b'|' {
            bin = !bin;
        } else if !esc && c == b'\\' {
            esc = true;
        } else if bin {
            if !c.is_ascii_hexdigit() {
                return raw.to_vec();
            }
            hex.push(c);
            if hex.len() == 2 {
                out.push(crate::transform::x2c(hex[0], hex[1]));
                hex.clear();
            }
        } else if esc {
            if !matches!(c, b':' | b';' | b'\\' | b'"') {
                return raw.to_vec();
            }
            out.push(c);
            esc = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(arg: &str, value: &[u8]) -> Option<Vec<u8>> {
        PhraseSet::from_argument(arg)
            .expect("valid")
            .find(value)
            .map(<[u8]>::to_vec)
    }

    #[test]
    fn case_insensitive_phrases() {
        assert_eq!(pm("abc def", b"xxDEFxx"), Some(b"def".to_vec()));
        assert_eq!(pm("ABC", b"xabcx"), Some(b"ABC".to_vec()));
        assert_eq!(pm("abc def", b"xyz"), None);
        assert_eq!(pm("abc", b""), None);
        // The phrase that ends first wins; at the same end, the longer one.
        assert_eq!(pm("bcd abcd", b"abcd"), Some(b"abcd".to_vec()));
        assert_eq!(pm("cde ab", b"abcde"), Some(b"ab".to_vec()));
    }

    #[test]
    fn argument_syntax() {
        assert_eq!(parse_pm_content(b"\"a b\""), b"a b");
        assert_eq!(parse_pm_content(b"a|41 42|"), b"a|41 42|");
        assert_eq!(parse_pm_content(b"a|4142|c"), b"aABc");
        assert_eq!(parse_pm_content(b"a\\:b\\;\\\\\\\""), b"a:b;\\\"");
        assert_eq!(parse_pm_content(b"a\\nb"), b"a\\nb");
        assert_eq!(parse_pm_content(b"  "), b"  ");
        assert_eq!(pm("( )", b"abc"), None);
        assert_eq!(pm("( )", b"f)(x"), Some(b")".to_vec()));
        assert_eq!(pm("|3c|script", b"<SCRIPT"), Some(b"<script".to_vec()));
        assert_eq!(PhraseSet::from_argument("").expect("valid").len(), 0);
    }

    #[test]
    fn data_files() {
        let set = PhraseSet::from_file_contents(b"# comment\n  # indented comment\n\nfoo\nbar baz\n").expect("valid");
        assert_eq!(set.len(), 2);
        assert_eq!(set.find(b"xBAR BAZx"), Some(&b"bar baz"[..]));
        assert_eq!(set.find(b"bar"), None);
        // A '#' after other text is part of the phrase.
        let set = PhraseSet::from_file_contents(b"a#b\n").expect("valid");
        assert_eq!(set.find(b"xa#bx"), Some(&b"a#b"[..]));
    }
}
