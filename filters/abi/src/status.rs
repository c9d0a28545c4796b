//! The status every host function returns (`WasmResult` in proxy-wasm-cpp-host).

use std::fmt;

/// A host function's result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Status {
    /// The call succeeded.
    Ok = 0,
    /// The key, token or object does not exist.
    NotFound = 1,
    /// An argument is invalid, or the object is not available in this callback.
    BadArgument = 2,
    /// A value could not be serialized.
    SerializationFailure = 3,
    /// A value could not be parsed.
    ParseFailure = 4,
    /// An expression is invalid.
    BadExpression = 5,
    /// A pointer or length points outside linear memory.
    InvalidMemoryAccess = 6,
    /// The queue is empty.
    Empty = 7,
    /// The compare-and-swap value did not match.
    CasMismatch = 8,
    /// The result type did not match.
    ResultMismatch = 9,
    /// The host failed internally.
    InternalFailure = 10,
    /// The connection broke (an http call that failed).
    BrokenConnection = 11,
    /// The function is not implemented.
    Unimplemented = 12,
}

/// Every status, in code order.
const ALL: [Status; 13] = [
    Status::Ok,
    Status::NotFound,
    Status::BadArgument,
    Status::SerializationFailure,
    Status::ParseFailure,
    Status::BadExpression,
    Status::InvalidMemoryAccess,
    Status::Empty,
    Status::CasMismatch,
    Status::ResultMismatch,
    Status::InternalFailure,
    Status::BrokenConnection,
    Status::Unimplemented,
];

impl Status {
    /// The code as it crosses the ABI.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The status with this code; `None` for a code the ABI does not define.
    pub fn from_code(code: u32) -> Option<Status> {
        ALL.get(usize::try_from(code).ok()?).copied()
    }

    /// The name proxy-wasm-cpp-host gives it (`NotFound`, `BadArgument`...).
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "Ok",
            Status::NotFound => "NotFound",
            Status::BadArgument => "BadArgument",
            Status::SerializationFailure => "SerializationFailure",
            Status::ParseFailure => "ParseFailure",
            Status::BadExpression => "BadExpression",
            Status::InvalidMemoryAccess => "InvalidMemoryAccess",
            Status::Empty => "Empty",
            Status::CasMismatch => "CasMismatch",
            Status::ResultMismatch => "ResultMismatch",
            Status::InternalFailure => "InternalFailure",
            Status::BrokenConnection => "BrokenConnection",
            Status::Unimplemented => "Unimplemented",
        }
    }

    /// The name of any code, `Unknown(n)` for one the ABI does not define.
    pub fn name_of(code: u32) -> String {
        match Status::from_code(code) {
            Some(s) => s.name().to_string(),
            None => format!("Unknown({code})"),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_named() {
        for (i, s) in ALL.iter().enumerate() {
            assert_eq!(s.code() as usize, i);
            assert_eq!(Status::from_code(s.code()), Some(*s));
        }
        assert_eq!(Status::from_code(13), None);
        assert_eq!(Status::from_code(u32::MAX), None);
        assert_eq!(Status::name_of(2), "BadArgument");
        assert_eq!(Status::name_of(99), "Unknown(99)");
        assert_eq!(Status::NotFound.to_string(), "NotFound (1)");
    }
}
