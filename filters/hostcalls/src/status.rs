//! Host result codes as `Result`s.

use meshward_abi::Status;

/// `Ok(())` for the host's `Ok`, the status otherwise.
///
/// A code the ABI does not define is reported as [`Status::InternalFailure`]: the host has
/// answered outside the ABI this crate speaks, so the number tells the caller nothing more than
/// that the host failed, and a caller must never be handed a value it cannot match on.
pub fn check(code: u32) -> Result<(), Status> {
    match Status::from_code(code) {
        Some(Status::Ok) => Ok(()),
        Some(status) => Err(status),
        None => Err(Status::InternalFailure),
    }
}

/// `result` with [`Status::NotFound`] (the thing is absent) as `Ok(None)`.
pub fn absent_as_none<T>(result: Result<T, Status>) -> Result<Option<T>, Status> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Status::NotFound) => Ok(None),
        Err(status) => Err(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_is_ok_and_every_other_code_is_its_status() {
        assert_eq!(check(0), Ok(()));
        assert_eq!(check(1), Err(Status::NotFound));
        assert_eq!(check(2), Err(Status::BadArgument));
        assert_eq!(check(11), Err(Status::BrokenConnection));
        assert_eq!(check(12), Err(Status::Unimplemented));
    }

    #[test]
    fn undefined_codes_are_internal_failures() {
        assert_eq!(check(13), Err(Status::InternalFailure));
        assert_eq!(check(u32::MAX), Err(Status::InternalFailure));
    }

    #[test]
    fn not_found_is_absent_and_other_failures_stay_errors() {
        assert_eq!(absent_as_none(check(0).map(|()| 7)), Ok(Some(7)));
        assert_eq!(absent_as_none(check(1).map(|()| 7)), Ok(None));
        assert_eq!(absent_as_none(check(2).map(|()| 7)), Err(Status::BadArgument));
        assert_eq!(absent_as_none(check(99)), Err(Status::InternalFailure));
    }
}
