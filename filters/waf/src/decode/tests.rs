use std::io::Write;

use flate2::{Compression, GzBuilder};

use super::*;

#[path = "../../tests/coding/mod.rs"]
mod coding;

use coding::{br, gzip, raw_deflate as raw, zlib};

const TEXT: &[u8] = b"SELECT name FROM users WHERE id = '1' OR '1'='1' -- meshward decodes before it inspects\n";

/// Decodes `parts` in order with `header`'s codings, up to `limit` bytes.
fn decode(header: &str, parts: &[&[u8]], limit: usize) -> (Vec<u8>, Result<(), DecodeError>) {
    let codings = Coding::parse_list(header).unwrap();
    let mut d = Decoder::new(&codings, limit).unwrap();
    let mut out = Vec::new();
    for p in parts {
        if let Err(e) = d.push(p, &mut out) {
            return (out, Err(e));
        }
    }
    let r = d.finish(&mut out);
    (out, r)
}

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("gzip", gzip(TEXT)),
        ("x-gzip", gzip(TEXT)),
        ("deflate", zlib(TEXT)),
        ("deflate", raw(TEXT)),
        ("br", br(TEXT)),
        ("gzip, br", br(&gzip(TEXT))),
        ("br, gzip", gzip(&br(TEXT))),
        ("deflate, gzip", gzip(&zlib(TEXT))),
        ("identity, gzip", gzip(TEXT)),
    ]
}

#[test]
fn every_coding_decodes_in_one_piece() {
    for (header, encoded) in samples() {
        let (out, r) = decode(header, &[&encoded], 1 << 20);
        assert_eq!(r, Ok(()), "{header}");
        assert_eq!(out, TEXT, "{header}");
    }
}

#[test]
fn every_split_point_decodes_the_same() {
    for (header, encoded) in samples() {
        for at in 0..=encoded.len() {
            let (a, b) = encoded.split_at(at);
            let (out, r) = decode(header, &[a, b], 1 << 20);
            assert_eq!(r, Ok(()), "{header} split at {at}");
            assert_eq!(out, TEXT, "{header} split at {at}");
        }
        let bytes: Vec<&[u8]> = encoded.chunks(1).collect();
        let (out, r) = decode(header, &bytes, 1 << 20);
        assert_eq!((out.as_slice(), r), (TEXT, Ok(())), "{header} byte by byte");
    }
}

#[test]
fn gzip_header_fields_and_members_are_read() {
    let mut e = GzBuilder::new()
        .filename("payload.sql")
        .comment("a comment")
        .extra(vec![1, 2, 3, 4])
        .write(Vec::new(), Compression::fast());
    e.write_all(TEXT).unwrap();
    let mut two = e.finish().unwrap();
    two.extend(gzip(b"second member"));
    for at in 0..=two.len() {
        let (a, b) = two.split_at(at);
        let (out, r) = decode("gzip", &[a, b], 1 << 20);
        assert_eq!(r, Ok(()), "split at {at}");
        assert_eq!(out, [TEXT, b"second member"].concat(), "split at {at}");
    }
}

#[test]
fn truncated_bodies_are_reported_at_the_end() {
    for (header, encoded) in samples() {
        for cut in [1, 2, encoded.len() / 2] {
            let short = &encoded[..encoded.len() - cut];
            let (_, r) = decode(header, &[short], 1 << 20);
            assert!(
                matches!(r, Err(DecodeError::Truncated { .. })),
                "{header} minus {cut} bytes: {r:?}"
            );
        }
    }
}

#[test]
fn corrupt_bodies_are_refused() {
    let mut bad_crc = gzip(TEXT);
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 0xff;
    let mut bad_len = gzip(TEXT);
    bad_len[n - 1] ^= 0x01;
    let mut bad_zlib = zlib(TEXT);
    let m = bad_zlib.len();
    bad_zlib[m - 1] ^= 0xff; // Adler-32
    let mut trailing = br(TEXT);
    trailing.extend_from_slice(b"junk");
    let mut gz_trailing = gzip(TEXT);
    gz_trailing.extend_from_slice(b"junk");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("gzip", bad_crc),
        ("gzip", bad_len),
        ("gzip", TEXT.to_vec()),
        ("gzip", gz_trailing),
        ("deflate", bad_zlib),
        ("deflate", vec![0xff; 16]),
        ("br", vec![0xff; 16]),
        ("br", trailing),
        ("gzip, br", br(TEXT)),
    ];
    for (header, body) in cases {
        let (_, r) = decode(header, &[&body], 1 << 20);
        assert!(matches!(r, Err(DecodeError::Corrupt { .. })), "{header} {r:?}");
    }
}

#[test]
fn an_empty_body_decodes_to_nothing() {
    for header in ["gzip", "deflate", "br", "gzip, br"] {
        assert_eq!(decode(header, &[], 100), (Vec::new(), Ok(())), "{header}");
    }
}

#[test]
fn output_stops_at_the_limit() {
    let big: Vec<u8> = TEXT.iter().copied().cycle().take(50_000).collect();
    for (header, encoded) in [("gzip", gzip(&big)), ("br", br(&big)), ("deflate, br", br(&zlib(&big)))] {
        let (out, r) = decode(header, &[&encoded], 1000);
        assert_eq!(r, Err(DecodeError::OverLimit { limit: 1000 }), "{header}");
        assert_eq!(out, &big[..1000], "{header}");
    }
}

#[test]
fn a_bomb_stops_at_the_ratio() {
    let zeros = vec![0u8; 8 << 20];
    for (header, encoded) in [
        ("gzip", gzip(&zeros)),
        ("br", br(&zeros)),
        ("gzip, gzip", gzip(&gzip(&zeros))),
    ] {
        let (out, r) = decode(header, &[&encoded], 64 << 20);
        match r {
            Err(DecodeError::Bomb { encoded: e, decoded }) => {
                assert!(
                    decoded > RATIO_FLOOR && decoded > e * MAX_RATIO,
                    "{header} {e} {decoded}"
                );
                assert!(out.len() < zeros.len(), "{header} stopped early");
            }
            other => panic!("{header}: {other:?}"),
        }
    }
    // Ordinary text well past the floor is no bomb.
    let text: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("{{\"id\":{i},\"v\":\"{}\"}}", i * 7919).into_bytes())
        .collect();
    assert_eq!(decode("gzip", &[&gzip(&text)], 64 << 20), (text, Ok(())));
}

#[test]
fn errors_stick() {
    let codings = Coding::parse_list("gzip").unwrap();
    let mut d = Decoder::new(&codings, 100).unwrap();
    let mut out = Vec::new();
    assert!(d.push(b"not gzip", &mut out).is_err());
    assert!(d.push(&gzip(TEXT), &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn supported_pattern_agrees_with_the_parser() {
    let re = regex::Regex::new(SUPPORTED_PATTERN).unwrap();
    for ok in [
        "gzip",
        "x-gzip",
        "deflate",
        "br",
        "identity",
        "gzip, br",
        "gzip,deflate",
        " br , gzip ",
    ] {
        assert!(re.is_match(ok), "{ok}");
        assert!(Coding::parse_list(ok).is_ok(), "{ok}");
    }
    for no in [
        "compress",
        "zstd",
        "gzip, zstd",
        "x-compress",
        "gzipx",
        "",
        "gzip,",
        "aes128gcm",
    ] {
        assert!(!re.is_match(no), "{no}");
        assert!(Coding::parse_list(no).is_err(), "{no}");
    }
    assert_eq!(Coding::parse_list("identity").unwrap(), vec![]);
    assert!(Decoder::new(&[], 10).is_none());
}
