//! `@rx` and `@rxGlobal`.

use regex::bytes::Regex;

use super::argument::Argument;
use super::captures::Captures;
use super::regex::{compile, translate};
use crate::macros::MacroResolver;

/// A compiled `@rx` / `@rxGlobal`.
#[derive(Debug)]
pub(crate) struct Rx {
    /// `None` when the pattern holds macros (compiled per evaluation, as ModSecurity does).
    regex: Option<Regex>,
    source: Argument,
    global: bool,
}

impl Rx {
    /// Compiles `pattern`; with `global`, captures come from every match (`@rxGlobal`).
    pub(crate) fn new(pattern: &str, global: bool) -> Result<Rx, String> {
        let source = Argument::parse(pattern);
        let regex = match &source {
            Argument::Fixed(_) => Some(compile(pattern)?),
            Argument::Macro(_) => None,
        };
        Ok(Rx { regex, source, global })
    }

    /// Strings one of which every match contains (ASCII case-insensitively), when the
    /// pattern is fixed and has such a set.
    pub(crate) fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        match (&self.regex, &self.source) {
            (Some(_), Argument::Fixed(p)) if !p.is_empty() => {
                let translated = translate(std::str::from_utf8(p).ok()?).ok()?;
                super::literals::required_literals(&translated)
            }
            _ => None,
        }
    }

    /// Matches `value`; fills `captures` (TX.0..TX.9) when given and the regex matched.
    pub(crate) fn matches(&self, value: &[u8], macros: &dyn MacroResolver, captures: Option<&mut Captures>) -> bool {
        let expanded;
        let regex = match (&self.regex, &self.source) {
            // ModSecurity: an empty pattern matches everything.
            (_, Argument::Fixed(p)) if p.is_empty() => return true,
            (Some(r), _) => r,
            (None, source) => {
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
        Rx::new(p, global)
            .expect("compiles")
            .matches(v, &NoMacros, Some(&mut c))
            .then(|| c.groups.to_vec())
    }

    #[test]
    fn empty_pattern_matches_everything() {
        let rx = Rx::new("", false).expect("compiles");
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
    fn global_numbering() {
        let g = caps("(^|a)(b|c)(d)", true, b"bdacd").expect("matches");
        let want: [&[u8]; 8] = [b"bd", b"", b"b", b"d", b"acd", b"a", b"c", b"d"];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(g[i].as_deref(), Some(*w), "TX.{i}");
        }
        assert_eq!(g[8], None);
    }
}
