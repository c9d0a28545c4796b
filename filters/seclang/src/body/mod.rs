//! Request body processors: urlencoded, multipart, JSON, NDJSON, XML, gRPC and protobuf.
//!
//! Each is a pure function over the body bytes (plus the Content-Type where it matters) that
//! returns what the engine turns into ARGS_POST, FILES*, MULTIPART_*, XML and REQBODY_ERROR.

pub(crate) mod grpc;
pub(crate) mod json;
pub(crate) mod multipart;
pub(crate) mod ndjson;
pub(crate) mod protobuf;
pub(crate) mod urlencoded;
pub(crate) mod xml;

#[cfg(test)]
mod differential;

/// The argument-name prefix of the `index`-th document (1-based) of a body that carries several
/// (a gRPC stream's messages, NDJSON lines): `base` for the first, `base[n]` after.
pub(crate) fn message_prefix(base: &str, index: usize) -> String {
    if index == 1 {
        base.to_string()
    } else {
        format!("{base}[{index}]")
    }
}
