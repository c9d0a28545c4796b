//! The five processing phases of a transaction, numbered as SecLang's `phase:` action numbers them.

use std::fmt;

/// A processing phase. Its number (1-5) is what SecLang, ModSecurity logs and meshward's
/// evidence use; [`Phase::number`] and `u8::from` give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Phase 1: request headers.
    RequestHeaders = 1,
    /// Phase 2: request body.
    RequestBody = 2,
    /// Phase 3: response headers.
    ResponseHeaders = 3,
    /// Phase 4: response body.
    ResponseBody = 4,
    /// Phase 5: logging.
    Logging = 5,
}

impl Phase {
    /// Every phase, in the order a transaction runs them.
    pub const ALL: [Phase; 5] = [
        Phase::RequestHeaders,
        Phase::RequestBody,
        Phase::ResponseHeaders,
        Phase::ResponseBody,
        Phase::Logging,
    ];

    /// The phase's number, 1-5.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The phase numbered `n` (1-5).
    pub fn from_number(n: u8) -> Option<Phase> {
        Phase::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    /// Parses the value of the `phase` action: a number 1-5, or `request` (2), `response` (4)
    /// or `logging` (5), case-insensitive.
    pub(crate) fn parse(v: &str) -> Option<Phase> {
        match v.trim().to_ascii_lowercase().as_str() {
            "request" => Some(Phase::RequestBody),
            "response" => Some(Phase::ResponseBody),
            "logging" => Some(Phase::Logging),
            n => n.parse::<u8>().ok().and_then(Phase::from_number),
        }
    }

    /// Position of the phase in per-phase arrays (0-4).
    pub(crate) fn index(self) -> usize {
        usize::from(self.number() - 1)
    }
}

impl From<Phase> for u8 {
    fn from(phase: Phase) -> u8 {
        phase.number()
    }
}

impl TryFrom<u8> for Phase {
    type Error = u8;

    /// The phase numbered `n`; the number itself when it is not 1-5.
    fn try_from(n: u8) -> Result<Phase, u8> {
        Phase::from_number(n).ok_or(n)
    }
}

impl fmt::Display for Phase {
    /// Writes the phase number, as ModSecurity logs it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

impl serde::Serialize for Phase {
    /// Serializes as the phase number.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for (i, phase) in Phase::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(phase.number()), i + 1);
            assert_eq!(phase.index(), i);
            assert_eq!(Phase::from_number(phase.number()), Some(phase));
            assert_eq!(Phase::try_from(u8::from(phase)), Ok(phase));
            assert_eq!(phase.to_string(), (i + 1).to_string());
        }
        assert_eq!(Phase::from_number(0), None);
        assert_eq!(Phase::try_from(6), Err(6));
    }

    #[test]
    fn names_and_numbers_parse() {
        assert_eq!(Phase::parse("1"), Some(Phase::RequestHeaders));
        assert_eq!(Phase::parse(" 3 "), Some(Phase::ResponseHeaders));
        assert_eq!(Phase::parse("REQUEST"), Some(Phase::RequestBody));
        assert_eq!(Phase::parse("0"), None);
        assert_eq!(Phase::parse("requests"), None);
    }

    #[test]
    fn serializes_as_its_number() {
        assert_eq!(serde_json::to_string(&Phase::Logging).unwrap(), "5");
        assert_eq!(serde_json::to_string(&Some(Phase::RequestBody)).unwrap(), "2");
    }
}
