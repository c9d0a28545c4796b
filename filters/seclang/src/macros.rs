//! Macro expansion in SecLang strings: `%{tx.anomaly_score}`, `%{MATCHED_VAR}`, `%{rule.id}`.

/// Resolves one macro reference (the text between `%{` and `}`) to its current value.
pub(crate) trait MacroResolver {
    /// Returns the value of `reference` (e.g. `tx.blocking_paranoia_level`, `MATCHED_VAR`),
    /// or `None` when it is unset; an unset macro expands to the empty string.
    fn resolve(&self, reference: &str) -> Option<Vec<u8>>;

    /// Appends the value of `reference` to `out` (nothing when unset). Resolvers that can
    /// borrow the value override this so expanding a string makes no copy per macro.
    fn resolve_into(&self, reference: &str, out: &mut Vec<u8>) {
        if let Some(v) = self.resolve(reference) {
            out.extend_from_slice(&v);
        }
    }
}

/// A resolver that knows no variables; every macro expands to the empty string.
#[cfg(test)]
pub(crate) struct NoMacros;

#[cfg(test)]
impl MacroResolver for NoMacros {
    fn resolve(&self, _reference: &str) -> Option<Vec<u8>> {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Reference(String),
}

/// A string that may contain `%{...}` macros, parsed once at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MacroString {
    parts: Vec<Part>,
    /// Total length of the literal parts: the least an expansion needs, reserved up front.
    literal_len: usize,
}

impl MacroString {
    /// Parses `text`; an unterminated `%{` is kept as literal text, as ModSecurity does.
    pub(crate) fn parse(text: &str) -> MacroString {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("%{") {
            let after = &rest[start + 2..];
            match after.find('}') {
                Some(end) => {
                    literal.push_str(&rest[..start]);
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Reference(after[..end].to_string()));
                    rest = &after[end + 1..];
                }
                None => break,
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        let literal_len = parts
            .iter()
            .map(|p| match p {
                Part::Literal(l) => l.len(),
                Part::Reference(_) => 0,
            })
            .sum();
        MacroString { parts, literal_len }
    }

    /// True when the string holds at least one macro, so it must be expanded per use.
    pub(crate) fn has_macros(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Reference(_)))
    }

    /// The references this string uses, in order (e.g. `["tx.x", "MATCHED_VAR"]`).
    #[cfg(test)]
    pub(crate) fn references(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Reference(r) => Some(r.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Expands every macro through `resolver`.
    pub(crate) fn expand(&self, resolver: &dyn MacroResolver) -> Vec<u8> {
        // Room for the literals and a short value or two (most macros are scores and ids).
        let mut out = Vec::with_capacity(self.literal_len + 16);
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.extend_from_slice(s.as_bytes()),
                Part::Reference(r) => resolver.resolve_into(r, &mut out),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl MacroResolver for Fixed {
        fn resolve(&self, reference: &str) -> Option<Vec<u8>> {
            (reference == "tx.a").then(|| b"1".to_vec())
        }
    }

    #[test]
    fn expands_known_and_unknown() {
        let m = MacroString::parse("x=%{tx.a},y=%{tx.b}!");
        assert!(m.has_macros());
        assert_eq!(m.expand(&Fixed), b"x=1,y=!");
        assert_eq!(m.references().collect::<Vec<_>>(), ["tx.a", "tx.b"]);
    }

    /// Resolves through `resolve_into` only, as the transaction's resolver does.
    struct Appending;
    impl MacroResolver for Appending {
        fn resolve(&self, _reference: &str) -> Option<Vec<u8>> {
            None
        }
        fn resolve_into(&self, reference: &str, out: &mut Vec<u8>) {
            if reference == "tx.a" {
                out.extend_from_slice(b"1234567890123456789012345");
            }
        }
    }

    #[test]
    fn appending_resolvers_expand_the_same() {
        let m = MacroString::parse("%{tx.a}-%{tx.b}-%{tx.a}");
        assert_eq!(
            m.expand(&Appending),
            b"1234567890123456789012345--1234567890123456789012345"
        );
        assert_eq!(MacroString::parse("x=%{tx.a}").expand(&Fixed), b"x=1");
        assert_eq!(MacroString::parse("").expand(&Fixed), b"");
    }

    #[test]
    fn unterminated_macro_is_literal() {
        let m = MacroString::parse("a %{tx.a");
        assert!(!m.has_macros());
        assert_eq!(m.expand(&Fixed), b"a %{tx.a");
    }
}
