//! Operators (`@rx`, `@pm`, `@detectSQLi`, ...) compiled at load time and matched per value.
//!
//! CONTRACT (shared by the engine core):
//! - `Operator::compile(name, argument, &CompileEnv)` at load time (regexes, pattern sets and
//!   data files are built here, never per request). `name` has no `@`; negation (`!@rx`) is
//!   handled by the engine, not here.
//! - `Operator::matches(&self, value, &dyn MacroResolver, Option<&mut Captures>) -> bool`
//!   per value; arguments holding `%{...}` are expanded through the resolver.
//!
//! Semantics follow libmodsecurity v3 operator by operator (see each module), pinned by unit
//! tests and by the public SecRules Test Set cases in `testdata/`.

use std::path::{Path, PathBuf};

use crate::macros::MacroResolver;

mod argument;
mod captures;
mod injection;
mod ip;
pub(crate) mod literals;
mod numeric;
mod pm;
pub(crate) mod regex;
mod rx;
mod string;
mod validate;
mod verify;

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod crs;

use argument::Argument;
use numeric::Comparison;

pub(crate) use captures::Captures;

/// First-use builds that failed in this process (see `Operator::deferred_error`): a counter a
/// host can poll for a change per request, before walking the rules for the reasons.
pub(crate) static DEFERRED_FAILURES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts one failed first-use build.
pub(crate) fn note_deferred_failure() {
    DEFERRED_FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// What an operator may read while it compiles (data files are relative to `base_dir`).
#[derive(Debug, Clone, Default)]
pub(crate) struct CompileEnv {
    /// Directory of the rule file that holds the operator.
    pub(crate) base_dir: PathBuf,
    /// Where data files are read from (the disk unless the rule set was loaded from memory).
    pub(crate) files: crate::files::Files,
    /// `@rx` analyses known ahead of time (see `rx_table`).
    pub(crate) rx_table: crate::rx_table::RxTable,
}

/// Errors raised while compiling an operator; the engine adds file, line and rule id.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OperatorError {
    /// The operator name is not one this engine knows.
    #[error("unknown operator @{0}")]
    Unknown(String),
    /// The argument is invalid for this operator.
    #[error("invalid argument for @{operator}: {reason}")]
    InvalidArgument {
        /// Operator name.
        operator: String,
        /// Why the argument was rejected.
        reason: String,
    },
}

/// SecLang operator names (canonical spelling), for diagnostics and documentation.
pub(crate) const OPERATOR_NAMES: &[&str] = &[
    "beginsWith",
    "contains",
    "containsWord",
    "detectSQLi",
    "detectXSS",
    "endsWith",
    "eq",
    "ge",
    "gt",
    "ipMatch",
    "ipMatchF",
    "ipMatchFromFile",
    "le",
    "lt",
    "noMatch",
    "pm",
    "pmf",
    "pmFromFile",
    "rx",
    "rxGlobal",
    "streq",
    "strmatch",
    "unconditionalMatch",
    "validateByteRange",
    "validateUrlEncoding",
    "validateUtf8Encoding",
    "verifyCC",
    "within",
];

/// What a compiled operator does.
#[derive(Debug)]
enum Kind {
    Rx(rx::Rx),
    Pm(pm::PhraseSet),
    DetectSqli,
    DetectXss,
    StrEq(Argument),
    StrMatch(Argument),
    Contains(Argument),
    ContainsWord(Argument),
    BeginsWith(Argument),
    EndsWith(Argument),
    Within(Argument),
    Compare(Comparison, Argument),
    IpMatch(ip::IpSet),
    /// Boxed: its 256-entry table would make every operator that large.
    ValidateByteRange(Box<validate::ByteRange>),
    ValidateUtf8,
    ValidateUrlEncoding,
    VerifyCc(verify::VerifyCc),
    Unconditional,
    NoMatch,
}

/// A compiled operator.
#[derive(Debug)]
pub(crate) struct Operator {
    /// The canonical name, checked by tests (the engine logs the operator as written).
    #[cfg(test)]
    name: &'static str,
    kind: Kind,
}

impl Operator {
    /// Compiles operator `name` (without `@`, case-insensitive) with its raw `argument`.
    pub(crate) fn compile(name: &str, argument: &str, env: &CompileEnv) -> Result<Operator, OperatorError> {
        let canonical = OPERATOR_NAMES
            .iter()
            .copied()
            .find(|n| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| OperatorError::Unknown(name.to_string()))?;
        let invalid = |reason: String| OperatorError::InvalidArgument {
            operator: canonical.to_string(),
            reason,
        };
        let arg = || Argument::parse(argument);
        let kind = match canonical {
            "rx" => Kind::Rx(rx::Rx::new(argument, false, env.rx_table).map_err(invalid)?),
            "rxGlobal" => Kind::Rx(rx::Rx::new(argument, true, env.rx_table).map_err(invalid)?),
            "pm" => Kind::Pm(pm::PhraseSet::from_argument(argument).map_err(invalid)?),
            "pmf" | "pmFromFile" => {
                let text = read_data_file(argument, env).map_err(invalid)?;
                Kind::Pm(pm::PhraseSet::from_file_contents(&text).map_err(invalid)?)
            }
            "detectSQLi" => Kind::DetectSqli,
            "detectXSS" => Kind::DetectXss,
            "streq" => Kind::StrEq(arg()),
            "strmatch" => Kind::StrMatch(arg()),
            "contains" => Kind::Contains(arg()),
            "containsWord" => Kind::ContainsWord(arg()),
            "beginsWith" => Kind::BeginsWith(arg()),
            "endsWith" => Kind::EndsWith(arg()),
            "within" => Kind::Within(arg()),
            "eq" => Kind::Compare(Comparison::Eq, arg()),
            "ge" => Kind::Compare(Comparison::Ge, arg()),
            "gt" => Kind::Compare(Comparison::Gt, arg()),
            "lt" => Kind::Compare(Comparison::Lt, arg()),
            "le" => Kind::Compare(Comparison::Le, arg()),
            "ipMatch" => {
                let mut set = ip::IpSet::default();
                set.add_list(argument).map_err(invalid)?;
                if set.len() == 0 {
                    return Err(invalid("no address given".into()));
                }
                Kind::IpMatch(set)
            }
            "ipMatchF" | "ipMatchFromFile" => {
                let text = read_data_file(argument, env).map_err(invalid)?;
                let text = String::from_utf8_lossy(&text);
                let mut set = ip::IpSet::default();
                set.add_file_contents(&text).map_err(invalid)?;
                Kind::IpMatch(set)
            }
            "validateByteRange" => {
                Kind::ValidateByteRange(Box::new(validate::ByteRange::parse(argument).map_err(invalid)?))
            }
            "validateUtf8Encoding" => Kind::ValidateUtf8,
            "validateUrlEncoding" => Kind::ValidateUrlEncoding,
            "verifyCC" => Kind::VerifyCc(verify::VerifyCc::new(argument).map_err(invalid)?),
            "unconditionalMatch" => Kind::Unconditional,
            "noMatch" => Kind::NoMatch,
            other => return Err(OperatorError::Unknown(other.to_string())),
        };
        Ok(Operator {
            #[cfg(test)]
            name: canonical,
            kind,
        })
    }

    /// The operator's SecLang name, without `@`.
    #[cfg(test)]
    pub(crate) fn name(&self) -> &str {
        self.name
    }

    /// Strings one of which a value must contain (ignoring ASCII case) for this operator to
    /// match it; `None` when the operator may match any value. Used to build prefilters.
    pub(crate) fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        match &self.kind {
            Kind::Rx(rx) => rx.required_literals(),
            Kind::Pm(set) => Some(set.lowercase_phrases()).filter(|p| !p.is_empty()),
            _ => None,
        }
    }

    /// Whether the operator is a regex (`@rx`), whose per-call cost a literal gate saves.
    pub(crate) fn is_regex(&self) -> bool {
        matches!(self.kind, Kind::Rx(_))
    }

    /// Why an automaton this operator builds on first use could not be built (the operator
    /// then never matches); `None` while it is unbuilt, built, or built at load.
    pub(crate) fn deferred_error(&self) -> Option<&str> {
        match &self.kind {
            Kind::Rx(rx) => rx.compile_error(),
            Kind::Pm(set) => set.build_error(),
            _ => None,
        }
    }

    /// Tests one (already transformed) value. With `captures`, a match fills the groups
    /// ModSecurity would store in TX (`@rx`: the match and its groups; `@pm`: the phrase;
    /// `@detectSQLi`: the fingerprint; `@detectXSS`: the value; `@verifyCC`: the number).
    pub(crate) fn matches(&self, value: &[u8], macros: &dyn MacroResolver, captures: Option<&mut Captures>) -> bool {
        let set0 = |captures: Option<&mut Captures>, v: &[u8]| {
            if let Some(c) = captures {
                c.groups[0] = Some(v.to_vec());
            }
        };
        match &self.kind {
            Kind::Rx(rx) => rx.matches(value, macros, captures),
            Kind::Pm(set) => match set.find(value) {
                Some(phrase) => {
                    set0(captures, phrase);
                    true
                }
                None => false,
            },
            Kind::DetectSqli => match injection::sqli(value) {
                Some(fingerprint) => {
                    set0(captures, fingerprint.as_bytes());
                    true
                }
                None => false,
            },
            Kind::DetectXss => {
                let hit = injection::xss(value);
                if hit {
                    set0(captures, value);
                }
                hit
            }
            Kind::StrEq(a) => string::streq(value, &a.value(macros)),
            Kind::StrMatch(a) | Kind::Contains(a) => string::contains(value, &a.value(macros)),
            Kind::ContainsWord(a) => string::contains_word(value, &a.value(macros)),
            Kind::BeginsWith(a) => string::begins_with(value, &a.value(macros)),
            Kind::EndsWith(a) => string::ends_with(value, &a.value(macros)),
            Kind::Within(a) => string::within(value, &a.value(macros)),
            Kind::Compare(op, a) => op.holds(value, &a.value(macros)),
            Kind::IpMatch(set) => set.contains(value),
            Kind::ValidateByteRange(r) => r.violated_by(value),
            Kind::ValidateUtf8 => validate::invalid_utf8(value),
            Kind::ValidateUrlEncoding => validate::invalid_url_encoding(value),
            Kind::VerifyCc(cc) => match cc.find(value) {
                Some(number) => {
                    set0(captures, number);
                    true
                }
                None => false,
            },
            Kind::Unconditional => true,
            Kind::NoMatch => false,
        }
    }
}

/// Reads an operator data file, relative to the rule file's directory unless absolute.
fn read_data_file(argument: &str, env: &CompileEnv) -> Result<Vec<u8>, String> {
    let name = argument.trim();
    if name.is_empty() {
        return Err("no data file given".into());
    }
    if name.starts_with("https://") || name.starts_with("http://") {
        return Err(format!("remote data files are not supported: {name}"));
    }
    let path = if Path::new(name).is_absolute() {
        PathBuf::from(name)
    } else {
        env.base_dir.join(name)
    };
    env.files
        .read(&path)
        .map_err(|e| format!("cannot read data file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::macros::NoMacros;

    fn op(name: &str, arg: &str) -> Operator {
        Operator::compile(name, arg, &CompileEnv::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    struct Tx;
    impl MacroResolver for Tx {
        fn resolve(&self, reference: &str) -> Option<Vec<u8>> {
            match reference {
                "tx.allowed_methods" => Some(b"GET HEAD POST".to_vec()),
                "tx.limit" => Some(b"10".to_vec()),
                _ => None,
            }
        }
    }

    #[test]
    fn every_name_compiles_or_needs_an_argument() {
        for name in OPERATOR_NAMES {
            let arg = match *name {
                "ipMatch" => "127.0.0.1",
                "validateByteRange" => "0-255",
                "pmf" | "pmFromFile" | "ipMatchF" | "ipMatchFromFile" => continue,
                _ => "x",
            };
            let o = op(name, arg);
            assert_eq!(o.name(), *name);
        }
        assert_eq!(op("RX", "a").name(), "rx");
        assert!(matches!(
            Operator::compile("verifySSN", "x", &CompileEnv::default()),
            Err(OperatorError::Unknown(_))
        ));
        assert!(matches!(
            Operator::compile("ipMatch", "300.1.1.1", &CompileEnv::default()),
            Err(OperatorError::InvalidArgument { .. })
        ));
    }

    #[test]
    fn macros_are_expanded_per_call() {
        let within = op("within", "%{tx.allowed_methods}");
        assert!(within.matches(b"POST", &Tx, None));
        assert!(!within.matches(b"PUT", &Tx, None));
        assert!(!within.matches(b"PUT", &NoMacros, None));
        let gt = op("gt", "%{tx.limit}");
        assert!(gt.matches(b"11", &Tx, None));
        assert!(!gt.matches(b"10", &Tx, None));
        let rx = op("rx", "^%{tx.limit}$");
        assert!(rx.matches(b"10", &Tx, None));
        assert!(!rx.matches(b"11", &Tx, None));
    }

    #[test]
    fn captures() {
        let mut c = Captures::default();
        assert!(op("rx", "(a)(x)?(b)").matches(b"zab", &NoMacros, Some(&mut c)));
        assert_eq!(c.groups[0].as_deref(), Some(&b"ab"[..]));
        assert_eq!(c.groups[1].as_deref(), Some(&b"a"[..]));
        assert_eq!(c.groups[2], None);
        assert_eq!(c.groups[3].as_deref(), Some(&b"b"[..]));

        let mut c = Captures::default();
        assert!(op("pm", "foo BAR").matches(b"xbarx", &NoMacros, Some(&mut c)));
        assert_eq!(c.groups[0].as_deref(), Some(&b"BAR"[..]));

        let mut c = Captures::default();
        assert!(op("detectSQLi", "").matches(b"1' OR '1'='1", &NoMacros, Some(&mut c)));
        assert!(c.groups[0].as_ref().is_some_and(|f| !f.is_empty()));

        let mut c = Captures::default();
        assert!(op("detectXSS", "").matches(b"<script>alert(1)</script>", &NoMacros, Some(&mut c)));
        assert_eq!(c.groups[0].as_deref(), Some(&b"<script>alert(1)</script>"[..]));

        // No match leaves captures untouched.
        let mut c = Captures::default();
        assert!(!op("rx", "q").matches(b"zab", &NoMacros, Some(&mut c)));
        assert_eq!(c, Captures::default());
    }

    #[test]
    fn data_files_relative_to_rule_file() {
        let dir = std::env::temp_dir().join(format!("meshward-op-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("words.data"), "# c\nevil\n").expect("write");
        std::fs::write(dir.join("ips.data"), "10.0.0.0/8\n").expect("write");
        let env = CompileEnv {
            base_dir: dir.clone(),
            ..CompileEnv::default()
        };
        let pmf = Operator::compile("pmFromFile", "words.data", &env).expect("loads");
        assert!(pmf.matches(b"so EVIL", &NoMacros, None));
        let ipf = Operator::compile("ipMatchFromFile", "ips.data", &env).expect("loads");
        assert!(ipf.matches(b"10.2.3.4", &NoMacros, None));
        let missing = Operator::compile("pmf", "nope.data", &env);
        assert!(matches!(missing, Err(OperatorError::InvalidArgument { .. })));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn empty_and_huge_values() {
        let mut huge = vec![b'a'; 1 << 20];
        huge.extend_from_slice(b" union select 1 -- \xc0\xaf %zz");
        let ops = [
            ("rx", "union\\s+select", false, true),
            ("rxGlobal", "a{3}", false, true),
            ("pm", "select", false, true),
            ("contains", "select", false, true),
            ("containsWord", "union", false, true),
            ("beginsWith", "aaa", false, true),
            ("endsWith", "%zz", false, true),
            ("within", "abc", true, false),
            ("streq", "", true, false),
            ("eq", "0", true, true),
            ("validateUrlEncoding", "", false, true),
            ("validateUtf8Encoding", "", false, true),
            ("validateByteRange", "32-126", false, true),
            ("ipMatch", "10.0.0.0/8", false, false),
        ];
        for (name, arg, on_empty, on_huge) in ops {
            let o = op(name, arg);
            assert_eq!(o.matches(b"", &NoMacros, None), on_empty, "@{name} on empty");
            let mut c = Captures::default();
            assert_eq!(o.matches(&huge, &NoMacros, Some(&mut c)), on_huge, "@{name} on huge");
        }
    }

    #[test]
    fn invalid_regex_from_macro_does_not_match() {
        struct Bad;
        impl MacroResolver for Bad {
            fn resolve(&self, _: &str) -> Option<Vec<u8>> {
                Some(b"(".to_vec())
            }
        }
        assert!(!op("rx", "%{tx.p}").matches(b"(", &Bad, None));
    }

    #[test]
    fn trivial_operators() {
        assert!(op("unconditionalMatch", "").matches(b"", &NoMacros, None));
        assert!(!op("noMatch", "").matches(b"x", &NoMacros, None));
        assert!(op("validateUrlEncoding", "").matches(b"%zz", &NoMacros, None));
        assert!(op("validateUtf8Encoding", "").matches(b"\xc0\xaf", &NoMacros, None));
        assert!(op("validateByteRange", "1-255").matches(b"\0", &NoMacros, None));
        assert!(op("ipMatch", "127.0.0.1,::1").matches(b"::1", &NoMacros, None));
    }
}
