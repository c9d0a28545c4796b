//! gRPC and gRPC-Web request bodies: the 5-byte length-prefixed frames (flags, big-endian
//! length, message), gRPC-Web trailer frames (flag 0x80) and `application/grpc-web-text`
//! (base64, possibly padded between frames), each message walked as protobuf
//! ([`super::protobuf`]) or parsed as JSON (`+json`). Arguments are named `grpc.<field path>`
//! for the first message and `grpc[n].<field path>` for the n-th of a stream.
//!
//! A compressed message (flag 1) is inflated when `grpc-encoding` is `gzip` or `deflate`,
//! bounded by [`GrpcConfig::max_decoded`]; other encodings (`snappy`, `zstd`...) are reported as
//! not inspected. A frame cut short, unknown flag bits, a compressed message without an encoding
//! and a message that is not protobuf (or JSON) are errors (REQBODY_ERROR): gRPC clients never
//! send them.

use std::io::Read;

use base64::Engine as _;

use super::protobuf::{self, ProtobufLimits};
use super::{json, message_prefix};

/// How each message is encoded (from the Content-Type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload {
    /// `application/grpc`, `+proto`, `application/x-protobuf`.
    Proto,
    /// `application/grpc+json`, `application/grpc-web+json`.
    Json,
}

/// Settings for one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrpcConfig {
    /// How messages are encoded.
    pub(crate) payload: Payload,
    /// The body is base64 (`application/grpc-web-text`).
    pub(crate) base64: bool,
    /// The `grpc-encoding` request header, lowercase (`None` when absent).
    pub(crate) encoding: Option<String>,
    /// Bounds on the protobuf walk.
    pub(crate) limits: ProtobufLimits,
    /// JSON nesting limit for `+json` messages.
    pub(crate) json_depth: usize,
    /// Most bytes all compressed messages may inflate to together.
    pub(crate) max_decoded: usize,
}

impl GrpcConfig {
    /// Reads the Content-Type (lowercase, parameters allowed) and `grpc-encoding`.
    pub(crate) fn from_headers(content_type: &[u8], encoding: Option<&[u8]>) -> GrpcConfig {
        let ct = String::from_utf8_lossy(content_type).to_ascii_lowercase();
        let media = ct.split(';').next().unwrap_or("").trim();
        GrpcConfig {
            payload: if media.ends_with("+json") {
                Payload::Json
            } else {
                Payload::Proto
            },
            base64: media.starts_with("application/grpc-web-text"),
            encoding: encoding.map(|e| String::from_utf8_lossy(e).trim().to_ascii_lowercase()),
            limits: ProtobufLimits::default(),
            json_depth: json::DEFAULT_MAX_DEPTH,
            max_decoded: 1 << 20,
        }
    }
}

/// What the gRPC processor extracted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Grpc {
    /// Arguments in stream order (ARGS_POST).
    pub(crate) args: Vec<(Vec<u8>, Vec<u8>)>,
    /// The error (REQBODY_ERROR_MSG), if any; arguments before it are kept.
    pub(crate) error: Option<String>,
    /// What was not inspected, for the evidence event's `limits`.
    pub(crate) uninspected: Vec<&'static str>,
}

impl Grpc {
    fn not_inspected(&mut self, what: &'static str) {
        if !self.uninspected.contains(&what) {
            self.uninspected.push(what);
        }
    }
}

/// Parses a framed gRPC / gRPC-Web body.
pub(crate) fn parse(body: &[u8], config: &GrpcConfig) -> Grpc {
    let mut out = Grpc::default();
    let decoded;
    let mut rest: &[u8] = if config.base64 {
        match decode_base64(body) {
            Ok(d) => {
                decoded = d;
                &decoded
            }
            Err(e) => {
                out.error = Some(format!("gRPC-Web text: {e}"));
                return out;
            }
        }
    } else {
        body
    };
    let mut walk = protobuf::Walk::default();
    let mut inflated_total = 0usize;
    let mut index = 0usize;
    while !rest.is_empty() {
        let Some(header) = rest.get(..5) else {
            out.error = Some(format!("gRPC: frame header cut after {} bytes", rest.len()));
            break;
        };
        let flags = header[0];
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        // `len` comes from the client: no overflow on 32-bit targets (wasm).
        let Some(message) = len.checked_add(5).and_then(|end| rest.get(5..end)) else {
            out.error = Some(format!(
                "gRPC: message of {len} bytes cut after {} bytes",
                rest.len() - 5
            ));
            break;
        };
        rest = &rest[5 + message.len()..];
        if flags & !0x81 != 0 {
            out.error = Some(format!("gRPC: unknown frame flags {flags:#04x}"));
            break;
        }
        if flags & 0x80 != 0 {
            trailers(message, &mut out.args);
            continue;
        }
        index += 1;
        let inflated;
        let message = if flags & 1 == 0 {
            message
        } else {
            match inflate(message, config, &mut inflated_total) {
                Inflated::Done(m) => {
                    inflated = m;
                    &inflated[..]
                }
                Inflated::Unsupported => {
                    out.not_inspected("grpc_compressed_message");
                    continue;
                }
                Inflated::OverLimit => {
                    out.not_inspected("grpc_decoded_over_limit");
                    break;
                }
                Inflated::Error(e) => {
                    out.error = Some(format!("gRPC: message {index}: {e}"));
                    break;
                }
            }
        };
        let prefix = message_prefix("grpc", index);
        match config.payload {
            Payload::Proto => {
                let walked = protobuf::walk(message, &prefix, &config.limits, &mut walk);
                out.args.append(&mut walk.args);
                if let Err(e) = walked {
                    out.error = Some(format!("gRPC: message {index} is not protobuf: {e}"));
                    break;
                }
                if walk.limited {
                    break;
                }
            }
            Payload::Json => {
                let parsed = json::parse(
                    message,
                    &json::JsonConfig {
                        max_depth: config.json_depth,
                    },
                );
                out.args
                    .extend(parsed.args.into_iter().map(|(k, v)| (json::renamed(&k, &prefix), v)));
                if let Some(e) = parsed.error {
                    out.error = Some(format!("gRPC: message {index}: JSON parsing error: {e}"));
                    break;
                }
            }
        }
    }
    if walk.limited {
        out.not_inspected("grpc_fields_over_limit");
    }
    if walk.skipped_bytes > 0 {
        out.not_inspected("grpc_binary_fields");
    }
    out
}

/// A gRPC-Web trailer frame: `name:value` lines, each an argument `grpc.trailer.<name>`.
fn trailers(block: &[u8], args: &mut Vec<(Vec<u8>, Vec<u8>)>) {
    for line in block.split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let (name, value) = match line.iter().position(|&c| c == b':') {
            Some(colon) => (&line[..colon], line[colon + 1..].trim_ascii_start()),
            None => (line, &b""[..]),
        };
        let mut key = b"grpc.trailer.".to_vec();
        key.extend_from_slice(&name.to_ascii_lowercase());
        args.push((key, value.to_vec()));
    }
}

/// Decodes gRPC-Web text: base64 quanta, padding allowed at the end of each frame's chunk,
/// whitespace ignored.
fn decode_base64(body: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    let clean: Vec<u8> = body.iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    let mut start = 0;
    while start < clean.len() {
        // A chunk ends after the quantum that carries padding, or at the end.
        let mut end = start;
        while end < clean.len() {
            let quantum_end = (end + 4).min(clean.len());
            end = quantum_end;
            if clean[quantum_end - 1] == b'=' {
                break;
            }
        }
        base64::engine::general_purpose::STANDARD.decode_vec(&clean[start..end], &mut out)?;
        start = end;
    }
    Ok(out)
}

enum Inflated {
    Done(Vec<u8>),
    Unsupported,
    OverLimit,
    Error(String),
}

/// Inflates one compressed message, counting against the body's decoded total.
fn inflate(message: &[u8], config: &GrpcConfig, total: &mut usize) -> Inflated {
    let room = config.max_decoded.saturating_sub(*total);
    let reader: Box<dyn Read + '_> = match config.encoding.as_deref() {
        Some("gzip") => Box::new(flate2::read::GzDecoder::new(message)),
        Some("deflate") => Box::new(flate2::read::ZlibDecoder::new(message)),
        None | Some("identity") => {
            return Inflated::Error("compressed flag set without a grpc-encoding".to_string());
        }
        Some(_) => return Inflated::Unsupported,
    };
    let mut out = Vec::new();
    match reader.take(room as u64 + 1).read_to_end(&mut out) {
        Ok(n) if n > room => Inflated::OverLimit,
        Ok(n) => {
            *total += n;
            Inflated::Done(out)
        }
        Err(e) => Inflated::Error(format!("cannot inflate: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const ATTACK: &str = "1' UNION SELECT password FROM users--";

    fn frame(flags: u8, message: &[u8]) -> Vec<u8> {
        let mut f = vec![flags];
        f.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
        f.extend_from_slice(message);
        f
    }

    fn string_field(number: u8, value: &[u8]) -> Vec<u8> {
        let mut m = vec![number << 3 | 2, u8::try_from(value.len()).unwrap()];
        m.extend_from_slice(value);
        m
    }

    fn config(ct: &str, encoding: Option<&str>) -> GrpcConfig {
        GrpcConfig::from_headers(ct.as_bytes(), encoding.map(str::as_bytes))
    }

    fn args(g: &Grpc) -> Vec<(String, String)> {
        g.args
            .iter()
            .map(|(k, v)| (String::from_utf8_lossy(k).into(), String::from_utf8_lossy(v).into()))
            .collect()
    }

    fn stream() -> Vec<u8> {
        let mut body = frame(0, &string_field(1, b"order-17"));
        let mut second = string_field(1, b"x");
        second.extend(string_field(2, &string_field(1, ATTACK.as_bytes())));
        body.extend(frame(0, &second));
        body
    }

    #[test]
    fn messages_of_a_stream_are_indexed() {
        let g = parse(&stream(), &config("application/grpc", None));
        assert_eq!(g.error, None);
        assert_eq!(
            args(&g),
            [
                ("grpc.1".into(), "order-17".into()),
                ("grpc[2].1".into(), "x".into()),
                ("grpc[2].2.1".into(), ATTACK.into()),
            ]
        );
    }

    #[test]
    fn every_cut_of_a_stream_is_an_error_unless_it_falls_between_frames() {
        let body = stream();
        let first = 5 + 10;
        for cut in 0..body.len() {
            let g = parse(&body[..cut], &config("application/grpc", None));
            if cut == 0 || cut == first {
                assert_eq!(g.error, None, "cut {cut}");
            } else {
                assert!(g.error.is_some(), "cut {cut}: {g:?}");
            }
            if cut >= first {
                assert_eq!(args(&g)[0], ("grpc.1".into(), "order-17".into()), "cut {cut}");
            }
        }
    }

    #[test]
    fn grpc_web_trailers_and_text() {
        let mut body = frame(0, &string_field(1, ATTACK.as_bytes()));
        body.extend(frame(0x80, b"grpc-status:0\r\nx-note: hello\r\n"));
        let g = parse(&body, &config("application/grpc-web+proto", None));
        assert_eq!(g.error, None);
        assert_eq!(
            args(&g),
            [
                ("grpc.1".into(), ATTACK.into()),
                ("grpc.trailer.grpc-status".into(), "0".into()),
                ("grpc.trailer.x-note".into(), "hello".into()),
            ]
        );
        // Text: each frame base64-encoded on its own (padding in the middle).
        let first = frame(0, &string_field(1, b"abc"));
        let second = frame(0, &string_field(1, ATTACK.as_bytes()));
        let engine = base64::engine::general_purpose::STANDARD;
        let text = format!("{}{}", engine.encode(&first), engine.encode(&second));
        assert!(text[..16].contains('='), "padded between frames: {text}");
        let g = parse(text.as_bytes(), &config("application/grpc-web-text", None));
        assert_eq!(g.error, None);
        assert_eq!(args(&g)[1], ("grpc[2].1".into(), ATTACK.into()));
        let bad = parse(b"AAAA*AAA", &config("application/grpc-web-text", None));
        assert!(bad.error.is_some());
    }

    #[test]
    fn json_messages_are_parsed_as_json() {
        let mut body = frame(0, br#"{"name":"lamp"}"#);
        body.extend(frame(0, format!(r#"{{"q":{{"filter":"{ATTACK}"}}}}"#).as_bytes()));
        let g = parse(&body, &config("application/grpc+json", None));
        assert_eq!(g.error, None);
        assert_eq!(
            args(&g),
            [
                ("grpc.name".into(), "lamp".into()),
                ("grpc[2].q.filter".into(), ATTACK.into())
            ]
        );
        assert!(parse(&frame(0, b"{nope"), &config("application/grpc-web+json", None))
            .error
            .is_some());
    }

    #[test]
    fn compressed_messages_are_inflated_or_reported() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&string_field(1, ATTACK.as_bytes())).unwrap();
        let body = frame(1, &gz.finish().unwrap());
        let g = parse(&body, &config("application/grpc", Some("gzip")));
        assert_eq!(g.error, None);
        assert_eq!(args(&g), [("grpc.1".into(), ATTACK.into())]);

        let g = parse(&body, &config("application/grpc", Some("snappy")));
        assert_eq!((g.error, g.uninspected), (None, vec!["grpc_compressed_message"]));
        assert!(parse(&body, &config("application/grpc", None)).error.is_some());
        assert!(parse(&frame(1, b"not gzip"), &config("application/grpc", Some("gzip")))
            .error
            .is_some());

        let mut small = config("application/grpc", Some("gzip"));
        small.max_decoded = 10;
        let g = parse(&body, &small);
        assert_eq!(g.uninspected, ["grpc_decoded_over_limit"]);
    }

    #[test]
    fn bad_frames_are_errors() {
        // A length past the end, even one that overflows `5 + len` on 32-bit targets.
        let huge = [0, 0xff, 0xff, 0xff, 0xff, 1, 2];
        assert!(parse(&huge, &config("application/grpc", None)).error.is_some());
        assert!(parse(&frame(0x02, b""), &config("application/grpc", None))
            .error
            .is_some());
        assert!(parse(&frame(0, b"\x0b"), &config("application/grpc", None))
            .error
            .is_some());
        let g = parse(
            &frame(0, &string_field(1, &[0xff, 0x00])),
            &config("application/grpc", None),
        );
        assert_eq!((g.error, g.uninspected), (None, vec!["grpc_binary_fields"]));
    }
}
