//! `@rx` and `@rxGlobal`.
//!
//! A fixed pattern is translated and parsed at load time (so a bad rule is rejected there with
//! its file and line, and its required literals are known for the prefilter), but its
//! automaton is only built the first time a value reaches it: most CRS regexes never run on
//! a given VM's traffic (the prefilter rejects their values), and building all of them was
//! half of the load time.

use std::sync::OnceLock;

use regex::bytes::Regex;

use super::argument::Argument;
use super::captures::Captures;
use super::regex::{compile, compile_translated, parse, translate};
use crate::macros::MacroResolver;
use crate::rx_table::{self, RxTable};

/// A compiled `@rx` / `@rxGlobal`.
#[derive(Debug)]
pub(crate) struct Rx {
    /// The fixed pattern's regex, built on first use; an error the parser could not foresee
    /// (the compiled-size limit) is kept here and makes the operator never match.
    regex: OnceLock<Result<Regex, String>>,
    /// Strings one of which every match contains (fixed, non-empty patterns only).
    literals: Option<Vec<Vec<u8>>>,
    /// `Macro` patterns are compiled per evaluation, as ModSecurity does.
    source: Argument,
    global: bool,
}

impl Rx {
    /// Checks `pattern` (translation and syntax); with `global`, captures come from every
    /// match (`@rxGlobal`). The automaton is built on first use.
    /// A pattern listed in `table` was checked when the table was made and is not parsed again.
    pub(crate) fn new(pattern: &str, global: bool, table: RxTable) -> Result<Rx, String> {
        let source = Argument::parse(pattern);
        let literals = match &source {
            Argument::Fixed(p) if !p.is_empty() => match rx_table::lookup(table, pattern) {
                Some(known) => known.literals.map(|set| set.iter().map(|l| l.to_vec()).collect()),
                None => {
                    let hir = parse(&translate(pattern)?)?;
                    super::literals::required_literals(&hir)
                }
            },
            _ => None,
        };
        Ok(Rx {
            regex: OnceLock::new(),
            literals,
            source,
            global,
        })
    }

    /// Strings one of which every match contains (ASCII case-insensitively), when the
    /// pattern is fixed and has such a set.
    pub(crate) fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        self.literals.clone()
    }

    /// Why the fixed pattern's first-use compile failed, if it was tried and did.
    pub(crate) fn compile_error(&self) -> Option<&str> {
        self.regex.get()?.as_ref().err().map(String::as_str)
    }

    /// The fixed pattern's regex, built now if this is its first use.
    fn fixed(&self, pattern: &[u8]) -> Option<&Regex> {
        self.regex
            .get_or_init(|| {
                let built = std::str::from_utf8(pattern)
                    .map_err(|e| e.to_string())
                    .and_then(|p| compile_translated(&translate(p)?));
                if built.is_err() {
                    super::note_deferred_failure();
                }
                built
            })
            .as_ref()
            .ok()
    }

    /// Matches `value`; fills `captures` (TX.0..TX.9) when given and the regex matched.
    pub(crate) fn matches(&self, value: &[u8], macros: &dyn MacroResolver, captures: Option<&mut Captures>) -> bool {
        let expanded;
        let regex = match &self.source {
            // ModSecurity: an empty pattern matches everything.
            Argument::Fixed(p) if p.is_empty() => return true,
            Argument::Fixed(p) => match self.fixed(p) {
                Some(r) => r,
                None => return false,
            },
            source => {
                let pattern = source.value(macros);
                match compile(&String::from_utf8_lossy(&pattern)) {
                    Ok(r) => {
                        expanded = r;
                        &expanded
                    }
                    Err(_) => return false,
                }
            }
        };
        let Some(out) = captures else {
            return regex.is_match(value);
        };
        if self.global {
            global_captures(regex, value, out)
        } else {
            let Some(caps) = regex.captures(value) else {
                return false;
            };
            for (i, slot) in out.groups.iter_mut().enumerate() {
                if let Some(m) = caps.get(i) {
                    *slot = Some(m.as_bytes().to_vec());
                }
            }
            true
        }
    }
}

/// `@rxGlobal`: groups of every match, numbered consecutively (match 1 groups, then match 2...).
fn global_captures(regex: &Regex, value: &[u8], out: &mut Captures) -> bool {
    let mut next = 0usize;
    let mut any = false;
    for caps in regex.captures_iter(value) {
        any = true;
        let first = next;
        for i in 0..caps.len() {
            if let Some(m) = caps.get(i) {
                if let Some(slot) = out.groups.get_mut(first + i) {
                    *slot = Some(m.as_bytes().to_vec());
                }
                next = first + i + 1;
            }
        }
        if next >= out.groups.len() {
            break;
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::macros::NoMacros;

    fn caps(p: &str, global: bool, v: &[u8]) -> Option<Vec<Option<Vec<u8>>>> {
        let mut c = Captures::default();
        Rx::new(p, global, &[])
            .expect("compiles")
            .matches(v, &NoMacros, Some(&mut c))
            .then(|| c.groups.to_vec())
    }

    #[test]
    fn empty_pattern_matches_everything() {
        let rx = Rx::new("", false, &[]).expect("compiles");
        assert!(rx.matches(b"", &NoMacros, None));
        assert!(rx.matches(b"x", &NoMacros, None));
    }

    #[test]
    fn single_match_groups() {
        let g = caps("(a)(b?)(c)", false, b"xac").expect("matches");
        assert_eq!(g[0].as_deref(), Some(&b"ac"[..]));
        assert_eq!(g[2].as_deref(), Some(&b""[..]));
        assert_eq!(g[3].as_deref(), Some(&b"c"[..]));
        assert!(caps("z", false, b"abc").is_none());
        // Only ten slots, extra groups are ignored.
        let many = "(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)(a)";
        assert!(caps(many, false, b"aaaaaaaaaaa").expect("matches")[9].is_some());
    }

    #[test]
    fn syntax_errors_are_found_at_load() {
        for p in ["(a", "a{2,1}", "[z-a]", "(?<=a)b", "a)"] {
            assert!(Rx::new(p, false, &[]).is_err(), "{p}");
        }
    }

    #[test]
    fn compiled_on_first_use_only() {
        let rx = Rx::new("fo+", false, &[]).expect("valid");
        assert!(rx.regex.get().is_none(), "not built at load");
        assert!(rx.matches(b"xfoo", &NoMacros, None));
        assert!(rx.regex.get().is_some_and(Result::is_ok));
        assert!(rx.compile_error().is_none());
    }

    #[test]
    fn a_regex_too_large_to_build_never_matches_and_says_why() {
        // Valid syntax, but its automaton exceeds the compiled-size limit: only the first use
        // can tell, and it must neither panic nor match.
        let rx = Rx::new("(?:[a-z]{1000}){1000}", false, &[]).expect("syntax is valid");
        assert!(rx.compile_error().is_none());
        assert!(!rx.matches(&[b'a'; 60_000], &NoMacros, None));
        assert!(
            rx.compile_error().is_some_and(|e| e.contains("size limit")),
            "{:?}",
            rx.compile_error()
        );
        assert!(!rx.matches(b"abc", &NoMacros, None));
    }

    #[test]
    fn global_numbering() {
        let g = caps("(^|a)(b|c)(d)", true, b"bdacd").expect("matches");
        let want: [&[u8]; 8] = [b"bd", b"", b"b", b"d", b"acd", b"a", b"c", b"d"];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(g[i].as_deref(), Some(*w), "TX.{i}");
        }
        assert_eq!(g[8], None);
    }
}
