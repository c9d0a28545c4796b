//! Request body processors: urlencoded, multipart, JSON and XML.
//!
//! Each is a pure function over the body bytes (plus the Content-Type where it matters) that
//! returns what the engine turns into ARGS_POST, FILES*, MULTIPART_*, XML and REQBODY_ERROR.

pub(crate) mod json;
pub(crate) mod multipart;
pub(crate) mod urlencoded;
pub(crate) mod xml;
