//! Schema-less protobuf wire format walked for the text it carries: every string field becomes
//! an argument named by its field-number path (`grpc.1`, `grpc.2.1`), so the rules that read
//! ARGS see what the service will decode.
//!
//! Without the schema a length-delimited field (wire type 2) is ambiguous: a string, bytes, a
//! packed array or a nested message. It is walked as a nested message when it parses completely
//! as one; it is reported as a string when it is valid UTF-8 without control characters other
//! than tab, CR and LF, unless it parsed as a message made only of length-delimited fields (then
//! every byte but the keys and lengths is walked, and reported where it is text). So text that
//! happens to parse as a message (`(x` is field 5, varint 120) is never hidden behind numbers. Other
//! bytes (binary data, packed numbers) are skipped, not hex-encoded: no rule matches hex, and
//! they are counted in [`Walk::skipped_bytes`]. Numbers (varint, fixed32, fixed64) are not
//! reported: they cannot carry an injection. Groups (wire types 3 and 4, deprecated) are malformed
//! input here.

/// Bounds on what one body may produce (attacker input: memory and time stay bounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProtobufLimits {
    /// Deepest nesting of messages walked (a deeper message is reported as not inspected).
    pub(crate) max_depth: usize,
    /// Most fields read across the whole body.
    pub(crate) max_fields: usize,
    /// Most bytes of string values reported across the whole body.
    pub(crate) max_output: usize,
}

impl Default for ProtobufLimits {
    fn default() -> Self {
        ProtobufLimits {
            max_depth: 16,
            max_fields: 10_000,
            max_output: 1 << 20,
        }
    }
}

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireError {
    /// A varint ran past the end or past ten bytes.
    #[error("bad varint")]
    Varint,
    /// Field number 0 or above 2^29-1.
    #[error("bad field number")]
    FieldNumber,
    /// Wire type 3, 4, 6 or 7.
    #[error("unsupported wire type {0}")]
    WireType(u8),
    /// A field ran past the end of its message.
    #[error("field past the end of the message")]
    Truncated,
}

/// What walking one or more messages produced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Walk {
    /// String fields as `(name, value)` in wire order (ARGS_POST).
    pub(crate) args: Vec<(Vec<u8>, Vec<u8>)>,
    /// Fields read so far (bounded by [`ProtobufLimits::max_fields`]).
    pub(crate) fields: usize,
    /// Bytes of string values reported so far.
    pub(crate) output: usize,
    /// Length-delimited bytes neither a message nor text: not inspected.
    pub(crate) skipped_bytes: usize,
    /// A bound applied: some of the body was not inspected.
    pub(crate) limited: bool,
}

/// Walks `message`, naming its strings under `prefix`; on malformed input the strings read
/// before the error are kept.
pub(crate) fn walk(message: &[u8], prefix: &str, limits: &ProtobufLimits, out: &mut Walk) -> Result<(), WireError> {
    let fields = parse(message)?;
    emit(&fields, prefix, 0, limits, out);
    Ok(())
}

/// One field as read from the wire; only length-delimited contents matter here.
enum Field<'a> {
    Scalar,
    Bytes(u64, &'a [u8]),
}

/// Splits a message into its fields; an error when it is not a complete, well-formed message.
fn parse(mut m: &[u8]) -> Result<Vec<Field<'_>>, WireError> {
    let mut fields = Vec::new();
    while !m.is_empty() {
        let key = varint(&mut m)?;
        let number = key >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(WireError::FieldNumber);
        }
        let wire = (key & 7) as u8;
        match wire {
            0 => {
                varint(&mut m)?;
                fields.push(Field::Scalar);
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                m = m.get(n..).ok_or(WireError::Truncated)?;
                fields.push(Field::Scalar);
            }
            2 => {
                let len = usize::try_from(varint(&mut m)?).map_err(|_| WireError::Truncated)?;
                if len > m.len() {
                    return Err(WireError::Truncated);
                }
                let (value, rest) = m.split_at(len);
                m = rest;
                fields.push(Field::Bytes(number, value));
            }
            other => return Err(WireError::WireType(other)),
        }
    }
    Ok(fields)
}

fn varint(m: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for (i, &b) in m.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *m = &m[i + 1..];
            return Ok(value);
        }
    }
    Err(WireError::Varint)
}

/// Text a service would read as a string field.
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| !s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n')))
}

fn emit(fields: &[Field<'_>], prefix: &str, depth: usize, limits: &ProtobufLimits, out: &mut Walk) {
    for field in fields {
        if out.fields >= limits.max_fields {
            out.limited = true;
            return;
        }
        out.fields += 1;
        let Field::Bytes(number, value) = field else {
            continue;
        };
        let name = format!("{prefix}.{number}");
        let nested = if value.is_empty() { None } else { parse(value).ok() };
        let container = nested
            .as_ref()
            .is_some_and(|fields| fields.iter().all(|f| matches!(f, Field::Bytes(..))));
        let text = !container && is_text(value);
        if text {
            let room = limits.max_output.saturating_sub(out.output);
            if value.len() > room {
                out.limited = true;
            }
            let kept = &value[..value.len().min(room)];
            out.output += kept.len();
            out.args.push((name.clone().into_bytes(), kept.to_vec()));
        }
        match nested {
            Some(_) if depth + 1 >= limits.max_depth => out.limited = true,
            Some(inner) => emit(&inner, &name, depth + 1, limits, out),
            None if !text && !value.is_empty() => out.skipped_bytes += value.len(),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_field(number: u8, value: &[u8]) -> Vec<u8> {
        let mut m = vec![number << 3 | 2, u8::try_from(value.len()).unwrap()];
        m.extend_from_slice(value);
        m
    }

    fn run(m: &[u8]) -> (Result<(), WireError>, Walk) {
        let mut out = Walk::default();
        let r = walk(m, "grpc", &ProtobufLimits::default(), &mut out);
        (r, out)
    }

    fn names_values(w: &Walk) -> Vec<(String, String)> {
        w.args
            .iter()
            .map(|(k, v)| (String::from_utf8_lossy(k).into(), String::from_utf8_lossy(v).into()))
            .collect()
    }

    #[test]
    fn strings_are_named_by_field_path() {
        let inner = string_field(1, b"1' UNION SELECT password FROM users--");
        let mut m = string_field(1, b"order-17");
        m.extend([0x10, 0x96, 0x01]); // field 2: varint 150
        m.extend(string_field(3, &inner));
        m.extend([0x25, 1, 2, 3, 4]); // field 4: fixed32
        m.extend([0x29, 1, 2, 3, 4, 5, 6, 7, 8]); // field 5: fixed64
        let (r, w) = run(&m);
        assert_eq!(r, Ok(()));
        assert_eq!(
            names_values(&w),
            [
                ("grpc.1".into(), "order-17".into()),
                ("grpc.3.1".into(), "1' UNION SELECT password FROM users--".into())
            ]
        );
        assert_eq!(w.fields, 6);
    }

    #[test]
    fn text_that_parses_as_a_message_is_still_reported() {
        // "(x" is field 5 varint 120: a valid message, and text.
        let (r, w) = run(&string_field(2, b"(x"));
        assert_eq!(r, Ok(()));
        assert_eq!(names_values(&w), [("grpc.2".into(), "(x".into())]);
    }

    #[test]
    fn binary_bytes_are_skipped_and_counted() {
        let (r, w) = run(&string_field(1, &[0xff, 0xfe, 0x00]));
        assert_eq!(r, Ok(()));
        assert!(w.args.is_empty());
        assert_eq!(w.skipped_bytes, 3);
    }

    #[test]
    fn every_cut_of_a_message_is_an_error_or_a_prefix() {
        let mut m = string_field(1, b"order-17");
        m.extend(string_field(2, &string_field(1, b"nested")));
        m.extend([0x18, 0xac, 0x02]);
        for cut in 0..m.len() {
            let (r, w) = run(&m[..cut]);
            match cut {
                0 | 10 | 20 => assert_eq!(r, Ok(()), "cut {cut} falls between fields"),
                _ => assert!(r.is_err(), "cut {cut}: {w:?}"),
            }
        }
        let (r, w) = run(&m);
        assert_eq!(r, Ok(()));
        assert_eq!(w.args.len(), 2);
    }

    #[test]
    fn malformed_keys_are_errors() {
        assert_eq!(run(&[0x00, 0x01]).0, Err(WireError::FieldNumber));
        assert_eq!(run(&[0x0b]).0, Err(WireError::WireType(3)));
        assert_eq!(run(&[0x08, 0xff, 0xff]).0, Err(WireError::Varint));
        assert_eq!(run(&[0x0a, 0x05, b'a']).0, Err(WireError::Truncated));
    }

    #[test]
    fn bounds_apply() {
        let mut m = Vec::new();
        for _ in 0..5 {
            m.extend(string_field(1, b"abcdef"));
        }
        let limits = ProtobufLimits {
            max_depth: 16,
            max_fields: 3,
            max_output: 10,
        };
        let mut w = Walk::default();
        walk(&m, "p", &limits, &mut w).unwrap();
        assert!(w.limited);
        assert_eq!(w.output, 10);
        assert_eq!(w.args.len(), 3);
        // Depth: each level wraps the previous one.
        let mut deep = string_field(1, b"x");
        for _ in 0..20 {
            deep = string_field(1, &deep);
        }
        let mut w = Walk::default();
        walk(&deep, "p", &ProtobufLimits::default(), &mut w).unwrap();
        assert!(w.limited);
        assert!(w.args.is_empty(), "nested messages are not text: {w:?}");
    }
}
