//! Operator arguments that may hold `%{...}` macros.

use std::borrow::Cow;

use crate::macros::{MacroResolver, MacroString};

/// An operator argument: fixed text, or a macro string expanded per evaluation.
#[derive(Debug, Clone)]
pub(crate) enum Argument {
    /// No macro: the bytes are used as they are.
    Fixed(Vec<u8>),
    /// Holds `%{...}`: expanded through the transaction's resolver at each evaluation.
    Macro(MacroString),
}

impl Argument {
    /// Parses the raw argument once, at load time.
    pub(crate) fn parse(raw: &str) -> Argument {
        let parsed = MacroString::parse(raw);
        if parsed.has_macros() {
            Argument::Macro(parsed)
        } else {
            Argument::Fixed(raw.as_bytes().to_vec())
        }
    }

    /// The argument's value for this evaluation.
    pub(crate) fn value<'a>(&'a self, macros: &dyn MacroResolver) -> Cow<'a, [u8]> {
        match self {
            Argument::Fixed(v) => Cow::Borrowed(v),
            Argument::Macro(m) => Cow::Owned(m.expand(macros)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::macros::NoMacros;

    struct One;
    impl MacroResolver for One {
        fn resolve(&self, reference: &str) -> Option<Vec<u8>> {
            (reference == "tx.x").then(|| b"42".to_vec())
        }
    }

    #[test]
    fn fixed_and_macro() {
        assert!(matches!(Argument::parse("abc"), Argument::Fixed(_)));
        assert_eq!(&*Argument::parse("abc").value(&NoMacros), b"abc");
        let m = Argument::parse("v=%{tx.x}");
        assert!(matches!(m, Argument::Macro(_)));
        assert_eq!(&*m.value(&One), b"v=42");
        assert_eq!(&*m.value(&NoMacros), b"v=");
    }
}
