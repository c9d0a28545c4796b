//! Whether a filter (or one policy) blocks or only records, and how a configuration writes it.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Record only, or record and block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Decide and record, never block (the default everywhere).
    #[default]
    Detect,
    /// Decide, record and block.
    Enforce,
}

impl Mode {
    /// The wire names, in variant order (configurations, events, CLI output).
    pub const NAMES: [&'static str; 2] = [Mode::Detect.as_str(), Mode::Enforce.as_str()];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Detect => "detect",
            Mode::Enforce => "enforce",
        }
    }

    /// The mode named exactly `name` (no deprecated alias).
    pub fn from_name(name: &str) -> Option<Mode> {
        [Mode::Detect, Mode::Enforce].into_iter().find(|m| m.as_str() == name)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Strict: `detect` or `enforce`, else serde's "unknown variant" error naming both.
impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Mode, D::Error> {
        d.deserialize_str(WordVisitor { aliases: false }).map(WrittenMode::mode)
    }
}

/// Old words for [`Mode::Detect`] still read (with a [`Deprecation`]): the policy engine's `dry-run`.
pub const DETECT_ALIASES: [&str; 3] = ["dry-run", "dry_run", "dryrun"];

/// A mode word that is neither a mode nor a deprecated alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMode(pub String);

impl fmt::Display for UnknownMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown mode `{}`, expected `detect` or `enforce`", self.0)
    }
}

impl std::error::Error for UnknownMode {}

/// A deprecated spelling that was read, and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deprecation {
    /// The word as written (one of [`DETECT_ALIASES`]).
    pub written: &'static str,
    /// The mode it was read as.
    pub means: Mode,
}

impl fmt::Display for Deprecation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" is deprecated and read as \"{}\"; write \"{}\"",
            self.written, self.means, self.means
        )
    }
}

/// A mode as a configuration wrote it: a [`Mode`] name, or a deprecated alias of `detect`
/// (remembered so the reader can warn). Serializes as the mode's current name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WrittenMode {
    mode: Mode,
    alias: Option<&'static str>,
}

impl WrittenMode {
    /// Reads a mode word: a mode name, or a deprecated alias.
    pub fn parse(word: &str) -> Result<WrittenMode, UnknownMode> {
        if let Some(mode) = Mode::from_name(word) {
            return Ok(mode.into());
        }
        DETECT_ALIASES
            .iter()
            .find(|a| **a == word)
            .map(|a| WrittenMode {
                mode: Mode::Detect,
                alias: Some(a),
            })
            .ok_or_else(|| UnknownMode(word.to_string()))
    }

    /// The mode it means.
    pub fn mode(self) -> Mode {
        self.mode
    }

    /// The deprecation to report when it was written with an old word.
    pub fn deprecation(self) -> Option<Deprecation> {
        self.alias.map(|written| Deprecation {
            written,
            means: self.mode,
        })
    }
}

impl From<Mode> for WrittenMode {
    fn from(mode: Mode) -> WrittenMode {
        WrittenMode { mode, alias: None }
    }
}

impl Serialize for WrittenMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.mode.serialize(s)
    }
}

/// Lenient: a mode name or a deprecated alias, else serde's "unknown variant" error naming the
/// current names only.
impl<'de> Deserialize<'de> for WrittenMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<WrittenMode, D::Error> {
        d.deserialize_str(WordVisitor { aliases: true })
    }
}

/// Reads a mode word; the error is raised inside the visitor so the deserializer adds where it
/// was (YAML: the key path and line).
struct WordVisitor {
    /// Accept the deprecated aliases.
    aliases: bool,
}

impl Visitor<'_> for WordVisitor {
    type Value = WrittenMode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`detect` or `enforce`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<WrittenMode, E> {
        let word = match self.aliases {
            true => WrittenMode::parse(v).ok(),
            false => Mode::from_name(v).map(WrittenMode::from),
        };
        word.ok_or_else(|| E::unknown_variant(v, &Mode::NAMES))
    }
}

/// The configuration reference's view: one of the mode names (`schema` feature).
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Mode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Mode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": Mode::NAMES,
            "description": "`detect` records and never blocks; `enforce` records and blocks."
        })
    }
}

/// As [`Mode`]; the deprecated aliases are left out of the reference on purpose.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for WrittenMode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Mode".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Mode::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_words_name_the_modes() {
        for m in [Mode::Detect, Mode::Enforce] {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
            assert_eq!(serde_json::from_str::<Mode>(&json).unwrap(), m);
        }
        assert_eq!(Mode::default(), Mode::Detect);
        let e = serde_json::from_str::<Mode>("\"block\"").unwrap_err().to_string();
        assert!(
            e.contains("unknown variant `block`, expected `detect` or `enforce`"),
            "{e}"
        );
        let e = serde_json::from_str::<Mode>("3").unwrap_err().to_string();
        assert!(e.contains("expected `detect` or `enforce`"), "{e}");
    }

    #[test]
    fn strict_mode_refuses_the_old_word() {
        let e = serde_json::from_str::<Mode>("\"dry-run\"").unwrap_err().to_string();
        assert!(e.contains("unknown variant `dry-run`"), "{e}");
    }

    #[test]
    fn written_mode_reads_every_alias_as_detect_with_a_deprecation() {
        for alias in DETECT_ALIASES {
            let w: WrittenMode = serde_json::from_str(&format!("\"{alias}\"")).unwrap();
            assert_eq!(w.mode(), Mode::Detect);
            let d = w.deprecation().expect("deprecated");
            assert_eq!((d.written, d.means), (alias, Mode::Detect));
            assert_eq!(
                d.to_string(),
                format!("\"{alias}\" is deprecated and read as \"detect\"; write \"detect\"")
            );
            // Written back with the current word.
            assert_eq!(serde_json::to_string(&w).unwrap(), "\"detect\"");
        }
        for m in [Mode::Detect, Mode::Enforce] {
            let w = WrittenMode::parse(m.as_str()).unwrap();
            assert_eq!((w.mode(), w.deprecation()), (m, None));
        }
        assert_eq!(WrittenMode::parse("Dry-Run"), Err(UnknownMode("Dry-Run".into())));
        let e = serde_json::from_str::<WrittenMode>("\"audit\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown variant `audit`, expected `detect` or `enforce`"),
            "{e}"
        );
    }
}
