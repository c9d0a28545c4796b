//! Required literals of a regex: a set of byte strings such that every match of the regex
//! contains at least one of them (compared ASCII case-insensitively).
//!
//! The engine's multi-rule prefilter uses them to reject values before running the regex, so
//! the answer must never miss a literal a match could need: when in doubt a node yields
//! nothing, and a regex without a usable set always runs.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Most strings kept in a set; larger sets are given up (or cut short at a run boundary).
const MAX_SET: usize = 64;

/// Most distinct bytes a character class may stand for and still count as literal text.
const MAX_CLASS: usize = 4;

/// A set of lower-cased byte strings.
type Set = Vec<Vec<u8>>;

/// What a sub-pattern tells about its matches.
struct Info {
    /// Every match is exactly one of these strings.
    exact: Option<Set>,
    /// Every match contains one of these non-empty strings.
    required: Option<Set>,
}

impl Info {
    /// The most selective set every match contains, if any.
    fn best(&self) -> Option<Set> {
        let exact = self.exact.as_ref().filter(|s| usable(s));
        let required = self.required.as_ref().filter(|s| usable(s));
        match (exact, required) {
            (Some(a), Some(b)) => Some(if better(a, b) { a.clone() } else { b.clone() }),
            (Some(a), None) | (None, Some(a)) => Some(a.clone()),
            (None, None) => None,
        }
    }
}

/// A set can prefilter when it is not empty and holds no empty string.
fn usable(set: &Set) -> bool {
    !set.is_empty() && set.iter().all(|s| !s.is_empty())
}

/// Whether `a` rejects more values than `b`: longer shortest string, then fewer strings.
fn better(a: &Set, b: &Set) -> bool {
    let min = |s: &Set| s.iter().map(Vec::len).min().unwrap_or(0);
    (min(a), std::cmp::Reverse(a.len())) > (min(b), std::cmp::Reverse(b.len()))
}

fn dedup(mut set: Set) -> Set {
    set.sort_unstable();
    set.dedup();
    set
}

/// Concatenates every string of `a` with every string of `b`, unless the result is too big.
fn cross(a: &Set, b: &Set) -> Option<Set> {
    if a.len().saturating_mul(b.len()) > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(dedup(out))
}

/// The ASCII-lower-cased bytes a class matches, when there are few of them.
fn class_bytes(class: &Class) -> Option<Set> {
    let mut bytes: Vec<u8> = Vec::new();
    match class {
        Class::Bytes(c) => {
            for r in c.ranges() {
                if usize::from(r.end() - r.start()) >= 2 * MAX_CLASS {
                    return None;
                }
                bytes.extend((r.start()..=r.end()).map(|b| b.to_ascii_lowercase()));
                if bytes.len() > 2 * MAX_CLASS {
                    return None;
                }
            }
        }
        Class::Unicode(c) => {
            for r in c.ranges() {
                let (start, end) = (u32::from(r.start()), u32::from(r.end()));
                // Only ASCII is the same byte in the subject; anything else is given up.
                if end >= 0x80 || end - start >= 2 * MAX_CLASS as u32 {
                    return None;
                }
                bytes.extend((start..=end).map(|b| (b as u8).to_ascii_lowercase()));
                if bytes.len() > 2 * MAX_CLASS {
                    return None;
                }
            }
        }
    }
    bytes.sort_unstable();
    bytes.dedup();
    (!bytes.is_empty() && bytes.len() <= MAX_CLASS).then(|| bytes.into_iter().map(|b| vec![b]).collect())
}

fn analyze(hir: &Hir) -> Info {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Info {
            exact: Some(vec![Vec::new()]),
            required: None,
        },
        HirKind::Literal(lit) => {
            let s = lit.0.to_ascii_lowercase();
            Info {
                exact: Some(vec![s.clone()]),
                required: Some(vec![s]),
            }
        }
        HirKind::Class(c) => {
            let set = class_bytes(c);
            Info {
                exact: set.clone(),
                required: set,
            }
        }
        HirKind::Capture(c) => analyze(&c.sub),
        HirKind::Repetition(rep) => {
            let sub = analyze(&rep.sub);
            if rep.min == 0 {
                // Optional: may match nothing, so nothing is required.
                let exact = match (rep.max, sub.exact) {
                    (Some(1), Some(mut s)) if s.len() < MAX_SET => {
                        s.push(Vec::new());
                        Some(dedup(s))
                    }
                    (Some(0), _) => Some(vec![Vec::new()]),
                    _ => None,
                };
                return Info { exact, required: None };
            }
            let required = sub.best();
            let exact = if rep.max == Some(1) { sub.exact } else { None };
            Info { exact, required }
        }
        HirKind::Concat(children) => concat(children),
        HirKind::Alternation(children) => {
            let infos: Vec<Info> = children.iter().map(analyze).collect();
            let mut exact: Option<Set> = Some(Vec::new());
            let mut required: Option<Set> = Some(Vec::new());
            for info in &infos {
                exact = match (exact, &info.exact) {
                    (Some(mut acc), Some(s)) if acc.len() + s.len() <= MAX_SET => {
                        acc.extend(s.iter().cloned());
                        Some(acc)
                    }
                    _ => None,
                };
                required = match (required, info.best()) {
                    (Some(mut acc), Some(s)) if acc.len() + s.len() <= MAX_SET * 4 => {
                        acc.extend(s);
                        Some(acc)
                    }
                    _ => None,
                };
            }
            Info {
                exact: exact.map(dedup),
                required: required.map(dedup),
            }
        }
    }
}

/// A concatenation: runs of exact children are joined into longer strings; the most
/// selective run (or child requirement) wins.
fn concat(children: &[Hir]) -> Info {
    let mut best: Option<Set> = None;
    let mut consider = |set: Option<Set>| {
        if let Some(s) = set.filter(usable) {
            if best.as_ref().is_none_or(|b| better(&s, b)) {
                best = Some(s);
            }
        }
    };
    // The current run of exact children, joined.
    let mut run: Option<Set> = Some(vec![Vec::new()]);
    // Whether the whole concatenation is still exact (every child so far joined into `run`).
    let mut all_exact = true;
    for child in children {
        let info = analyze(child);
        match &info.exact {
            Some(e) => {
                let joined = run.as_ref().and_then(|r| cross(r, e));
                match joined {
                    Some(j) => run = Some(j),
                    None => {
                        // Too many combinations: the run so far still has to appear; restart.
                        consider(run.take());
                        all_exact = false;
                        run = Some(e.clone());
                    }
                }
            }
            None => {
                consider(run.take());
                all_exact = false;
                run = Some(vec![Vec::new()]);
            }
        }
        consider(info.best());
    }
    let exact = if all_exact { run.clone() } else { None };
    consider(run);
    Info { exact, required: best }
}

/// The required literals of a parsed `@rx` pattern (see `regex::parse`); `None` when every
/// value must go to the regex.
pub(crate) fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    analyze(hir).best()
}

#[cfg(test)]
mod tests {
    fn required_literals(translated: &str) -> Option<Vec<Vec<u8>>> {
        super::required_literals(&crate::operator::regex::parse(translated).ok()?)
    }

    fn lits(p: &str) -> Option<Vec<String>> {
        required_literals(p).map(|s| {
            s.into_iter()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect()
        })
    }

    #[test]
    fn plain_and_case_insensitive_literals() {
        assert_eq!(lits("abc"), Some(vec!["abc".into()]));
        assert_eq!(lits("(?i)SeLeCt"), Some(vec!["select".into()]));
        assert_eq!(lits("x+select\\s+from"), Some(vec!["select".into()]));
    }

    #[test]
    fn alternations_union_their_requirements() {
        assert_eq!(
            lits("(?:foo|ba[rz])"),
            Some(vec!["bar".into(), "baz".into(), "foo".into()])
        );
        assert_eq!(lits("a(?:b|c)d"), Some(vec!["abd".into(), "acd".into()]));
    }

    #[test]
    fn optional_or_open_patterns_require_nothing() {
        assert_eq!(lits("a?"), None);
        assert_eq!(lits("(?:foo|x*)"), None);
        assert_eq!(lits("[a-z]+"), None);
        assert_eq!(lits("^$"), None);
        assert_eq!(lits(""), None);
    }

    #[test]
    fn optional_parts_do_not_leak_into_requirements() {
        // "ab" is not required when b is optional: "a" alone matches.
        let got = lits("ab?c").unwrap_or_default();
        assert!(
            got.iter().all(|l| l == "ac" || l == "abc" || l == "a" || l == "c"),
            "{got:?}"
        );
        assert!(got.contains(&"ac".to_string()) || got.contains(&"a".to_string()) || got.contains(&"c".to_string()));
    }

    #[test]
    fn every_required_set_is_met_by_matching_values() {
        let cases: &[(&str, &[&[u8]])] = &[
            ("(?i)<script[^>]*>", &[b"<SCRIPT src=x>", b"<script>"]),
            ("(?i:union\\s+select|sleep\\()", &[b"1 UNION   SELECT 2", b"sleep(5)"]),
            ("a(?:bc|d)?e", &[b"ae", b"abce", b"ade"]),
            ("(?i)\\bon[a-z]+\\s*=", &[b"onload =", b"ONERROR="]),
            ("x{2,}y", &[b"xxy", b"xxxxy"]),
        ];
        for (pattern, values) in cases {
            let re = regex::bytes::RegexBuilder::new(pattern)
                .unicode(false)
                .build()
                .expect("compiles");
            let set = required_literals(pattern);
            for v in *values {
                assert!(re.is_match(v), "{pattern} should match {v:?}");
                if let Some(set) = &set {
                    let lower = v.to_ascii_lowercase();
                    assert!(
                        set.iter().any(|l| lower.windows(l.len()).any(|w| w == l.as_slice())),
                        "{pattern}: {v:?} matches but holds none of {set:?}"
                    );
                }
            }
        }
    }
}
