//! Which bytes can make a transformation change a value, so a chain's effect on a value can
//! be told from the set of bytes the value holds, without running the chain.
//!
//! INVARIANT: if a value holds no byte of `Transform::trigger`'s set, the transformation
//! returns the value unchanged (for `Lowercase`, `Uppercase` and `CmdLine`: unchanged up to
//! ASCII case; for the path normalisations: also when the value does not end in `.`). Sets may be larger than needed (a trigger byte need not change the value);
//! never smaller. `tests::triggers_are_sound` checks it for every transformation.

use super::Transform;

/// A set of byte values, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct ByteSet([u64; 4]);

/// `A`..=`Z`, as bits of word 1 (bytes 64..=127).
const UPPER: u64 = ((1u64 << 26) - 1) << (b'A' - 64);
/// `a`..=`z`, as bits of word 1.
const LOWER: u64 = ((1u64 << 26) - 1) << (b'a' - 64);
/// Distance between an ASCII letter's cases.
const CASE_SHIFT: u32 = (b'a' - b'A') as u32;

impl ByteSet {
    /// The set holding `bytes`, usable in constants.
    const fn of(bytes: &[u8]) -> ByteSet {
        let mut set = [0u64; 4];
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            set[(b >> 6) as usize] |= 1 << (b & 63);
            i += 1;
        }
        ByteSet(set)
    }

    /// The set of the bytes `value` holds.
    fn of_value(value: &[u8]) -> ByteSet {
        let mut set = [0u64; 4];
        for &b in value {
            set[(b >> 6) as usize] |= 1 << (b & 63);
        }
        ByteSet(set)
    }

    /// Bytes 0x80..=0xff and the bytes in `low`.
    const fn high_and(low: &[u8]) -> ByteSet {
        let s = ByteSet::of(low).0;
        ByteSet([s[0], s[1], u64::MAX, u64::MAX])
    }

    /// Every byte but those in `keep`.
    const fn all_but(keep: &[u8]) -> ByteSet {
        let k = ByteSet::of(keep).0;
        ByteSet([!k[0], !k[1], !k[2], !k[3]])
    }

    /// Whether the two sets share a byte.
    fn intersects(self, other: ByteSet) -> bool {
        self.0.iter().zip(other.0).any(|(a, b)| a & b != 0)
    }

    /// Whether the set holds an ASCII uppercase letter.
    fn has_upper(self) -> bool {
        self.0[1] & UPPER != 0
    }

    /// Whether the set holds an ASCII lowercase letter.
    fn has_lower(self) -> bool {
        self.0[1] & LOWER != 0
    }

    /// The set of a value after ASCII lowercasing.
    fn lowercased(self) -> ByteSet {
        let w = self.0[1];
        ByteSet([
            self.0[0],
            (w & !UPPER) | ((w & UPPER) << CASE_SHIFT),
            self.0[2],
            self.0[3],
        ])
    }

    /// The set of a value after ASCII uppercasing.
    fn uppercased(self) -> ByteSet {
        let w = self.0[1];
        ByteSet([
            self.0[0],
            (w & !LOWER) | ((w & LOWER) >> CASE_SHIFT),
            self.0[2],
            self.0[3],
        ])
    }
}

/// What decides whether a transformation changes a value: the bytes it holds that some
/// trigger names, whether it holds other upper- and lowercase letters, and whether it ends
/// in `.` (the one other thing path normalisation looks at). Values alike in these are
/// changed alike, so a variable's values fall into a few classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct ValueClass {
    set: ByteSet,
    ends_in_dot: bool,
}

/// `0`..=`9`, as bits of word 0: no trigger names a digit.
const DIGITS: u64 = ((1u64 << 10) - 1) << b'0';
/// The letters triggers name (`sqlHexDecode`'s), as bits of word 1.
const NAMED_LETTERS: u64 = (1 << (b'x' - 64)) | (1 << (b'X' - 64));

impl ValueClass {
    /// The class of `value`.
    pub(crate) fn of(value: &[u8]) -> ValueClass {
        let ByteSet([w0, w1, w2, w3]) = ByteSet::of_value(value);
        // Every other letter stands as `A` or `a`: case mappings map these as they map the
        // letters they stand for, and no trigger names them.
        let mut letters = w1 & NAMED_LETTERS;
        if w1 & UPPER & !NAMED_LETTERS != 0 {
            letters |= 1 << (b'A' - 64);
        }
        if w1 & LOWER & !NAMED_LETTERS != 0 {
            letters |= 1 << (b'a' - 64);
        }
        ValueClass {
            set: ByteSet([w0 & !DIGITS, (w1 & !(UPPER | LOWER)) | letters, w2, w3]),
            ends_in_dot: value.last() == Some(&b'.'),
        }
    }
}

/// C `isspace` in the "C" locale.
const C_SPACE: &[u8] = b" \t\n\x0b\x0c\r";

/// How a transformation may change a value.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// May change any value, the empty one included (`length`, hashes, encodings).
    Always,
    /// Changes it when it holds a byte of the set.
    Bytes(ByteSet),
    /// ASCII lowercasing.
    Lower,
    /// ASCII uppercasing.
    Upper,
    /// Changes it when it holds a byte of the set; otherwise lowercases it (`cmdLine`).
    BytesThenLower(ByteSet),
    /// Changes it when it holds a separator of the set or ends in `.`: without a separator
    /// the value is one segment, which only a final `.` or `..` can remove.
    Path(ByteSet),
}

impl Transform {
    /// When this transformation changes a value (see the module's invariant).
    fn trigger(self) -> Trigger {
        use Trigger::{Always, Bytes, BytesThenLower, Lower, Path, Upper};
        match self {
            Transform::None => Bytes(ByteSet::default()),
            // Change every value, or change it in ways no byte set predicts.
            Transform::Base64Decode
            | Transform::Base64DecodeExt
            | Transform::Base64Encode
            | Transform::HexDecode
            | Transform::HexEncode
            | Transform::Length
            | Transform::Md5
            | Transform::Sha1
            | Transform::ParityEven7bit
            | Transform::ParityOdd7bit => Always,
            Transform::ParityZero7bit => Bytes(ByteSet::high_and(b"")),
            // Only a space (or `,` `;`) before `/` or `(` is removed, so those two need a
            // space-like byte, which is in the set already.
            Transform::CmdLine => BytesThenLower(ByteSet::of(b"\"'\\^ ,;\t\r\n")),
            Transform::CompressWhitespace | Transform::Trim | Transform::TrimLeft | Transform::TrimRight => {
                Bytes(ByteSet::of(C_SPACE))
            }
            Transform::RemoveWhitespace => Bytes(ByteSet::of(b" \t\n\x0b\x0c\r\xa0\xc2")),
            Transform::CssDecode | Transform::EscapeSeqDecode | Transform::JsDecode => Bytes(ByteSet::of(b"\\")),
            Transform::HtmlEntityDecode => Bytes(ByteSet::of(b"&")),
            Transform::Lowercase => Lower,
            Transform::Uppercase => Upper,
            Transform::NormalizePath => Path(ByteSet::of(b"/")),
            Transform::NormalizePathWin => Path(ByteSet::of(b"/\\")),
            // Every delimiter (`/*`, `*/`, `<!--`, `-->`, `--`, `#`) holds `*`, `-` or `#`.
            Transform::RemoveComments | Transform::RemoveCommentsChar => Bytes(ByteSet::of(b"*-#")),
            Transform::ReplaceComments => Bytes(ByteSet::of(b"*")),
            Transform::RemoveNulls | Transform::ReplaceNulls => Bytes(ByteSet::of(b"\0")),
            Transform::SqlHexDecode => Bytes(ByteSet::of(b"xX")),
            Transform::UrlDecode | Transform::UrlDecodeUni => Bytes(ByteSet::of(b"%+")),
            Transform::UrlEncode => Bytes(ByteSet::all_but(
                b"*0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            )),
            Transform::Utf8ToUnicode => Bytes(ByteSet::high_and(b"\0")),
        }
    }
}

/// What a chain of transformations does to a value, as far as its bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainEffect {
    /// The value comes out as it went in.
    Unchanged,
    /// The value comes out changed in ASCII case only.
    CaseOnly,
    /// The chain may change the value in any way: run it.
    Unknown,
}

/// What `chain` does to a value of class `class`.
pub(crate) fn chain_effect(chain: &[Transform], class: ValueClass) -> ChainEffect {
    // `current` is the exact byte set of the value between transformations: case mappings
    // map it, and any other change stops the walk (so the last byte stays a `.` or not).
    let mut current = class.set;
    let mut case_changed = false;
    for &t in chain {
        match t.trigger() {
            Trigger::Always => return ChainEffect::Unknown,
            Trigger::Bytes(bytes) => {
                if current.intersects(bytes) {
                    return ChainEffect::Unknown;
                }
            }
            Trigger::BytesThenLower(bytes) if current.intersects(bytes) => return ChainEffect::Unknown,
            Trigger::Path(separators) => {
                if class.ends_in_dot || current.intersects(separators) {
                    return ChainEffect::Unknown;
                }
            }
            Trigger::Lower | Trigger::BytesThenLower(_) => {
                if current.has_upper() {
                    case_changed = true;
                    current = current.lowercased();
                }
            }
            Trigger::Upper => {
                if current.has_lower() {
                    case_changed = true;
                    current = current.uppercased();
                }
            }
        }
    }
    if case_changed {
        ChainEffect::CaseOnly
    } else {
        ChainEffect::Unchanged
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::random_inputs;
    use super::super::{apply_chain, NAMES};
    use super::*;

    /// Every transformation CRS or the test set names, once each.
    fn all_transforms() -> Vec<Transform> {
        let mut all: Vec<Transform> = NAMES.iter().map(|&(_, t)| t).collect();
        all.dedup();
        all
    }

    /// Inputs over `alphabet` minus the bytes of `set`, empty ones included.
    fn avoiding(set: ByteSet, alphabet: &[u8], count: usize) -> Vec<Vec<u8>> {
        let allowed: Vec<u8> = alphabet
            .iter()
            .copied()
            .filter(|&b| !ByteSet::of(&[b]).intersects(set))
            .collect();
        if allowed.is_empty() {
            return vec![Vec::new()];
        }
        random_inputs(&allowed, count, 24)
    }

    /// Every byte, with the ones transformations care about several times over.
    fn alphabet() -> Vec<u8> {
        let mut a: Vec<u8> = (0..=255u8).collect();
        for _ in 0..8 {
            a.extend_from_slice(b"%+&\\/.*-#<!>xX0aA \t,;\"'^(\0\xa0\xc2\xc3\xa9uU");
        }
        a
    }

    #[test]
    fn triggers_are_sound() {
        let alphabet = alphabet();
        for t in all_transforms() {
            let (set, case) = match t.trigger() {
                Trigger::Always => continue,
                Trigger::Bytes(s) | Trigger::Path(s) => (s, None),
                Trigger::Lower => (ByteSet::default(), Some(false)),
                Trigger::Upper => (ByteSet::default(), Some(true)),
                Trigger::BytesThenLower(s) => (s, Some(false)),
            };
            for input in avoiding(set, &alphabet, 4000) {
                if matches!(t.trigger(), Trigger::Path(_)) && input.last() == Some(&b'.') {
                    continue;
                }
                let out = t.apply(&input);
                let expected = match case {
                    None => input.clone(),
                    Some(false) => input.to_ascii_lowercase(),
                    Some(true) => input.to_ascii_uppercase(),
                };
                assert_eq!(&*out, &expected[..], "{t:?} on {input:?}");
            }
        }
    }

    #[test]
    fn chain_effects_agree_with_running_the_chain() {
        let all = all_transforms();
        let alphabet = alphabet();
        let mut seen = [0usize; 3];
        // Chains of up to four transformations, drawn from a fixed stream, over inputs that
        // mostly avoid the common triggers so every effect occurs.
        let picks = random_inputs(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], 3000, 5);
        let plain: Vec<u8> = b"abcXYZ019 .-_=:/*&%\\".to_vec();
        let inputs = random_inputs(&plain, 3000, 12);
        let noisy = random_inputs(&alphabet, 3000, 12);
        for (i, pick) in picks.iter().enumerate() {
            let chain: Vec<Transform> = pick.iter().map(|&p| all[(p as usize * 7 + i) % all.len()]).collect();
            for input in [&inputs[i], &noisy[i]] {
                let effect = chain_effect(&chain, ValueClass::of(input));
                let out = apply_chain(&chain, input);
                match effect {
                    ChainEffect::Unchanged => assert_eq!(&*out, &input[..], "{chain:?} on {input:?}"),
                    ChainEffect::CaseOnly => {
                        assert!(out.eq_ignore_ascii_case(input), "{chain:?} on {input:?}");
                        assert_ne!(&*out, &input[..], "{chain:?} on {input:?}");
                    }
                    ChainEffect::Unknown => {}
                }
                seen[effect as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n > 100), "every effect occurs: {seen:?}");
    }

    #[test]
    fn values_differing_in_unnamed_letters_and_digits_share_a_class() {
        assert_eq!(ValueClass::of(b"blue"), ValueClass::of(b"green"));
        assert_eq!(ValueClass::of(b"SKU-100037"), ValueClass::of(b"A-7"));
        assert_ne!(ValueClass::of(b"blue"), ValueClass::of(b"Blue"));
        assert_ne!(ValueClass::of(b"0a"), ValueClass::of(b"0x"));
        assert_ne!(ValueClass::of(b"a.b"), ValueClass::of(b"ab."));
    }

    #[test]
    fn case_mappings_map_the_set() {
        let set = ByteSet::of_value(b"aZ-");
        assert_eq!(set.lowercased(), ByteSet::of_value(b"az-"));
        assert_eq!(set.uppercased(), ByteSet::of_value(b"AZ-"));
        let class = |v: &[u8]| ValueClass::of(v);
        assert_eq!(
            chain_effect(&[Transform::Lowercase, Transform::Uppercase], class(b"aZ-")),
            ChainEffect::CaseOnly
        );
        assert_eq!(
            chain_effect(&[Transform::Lowercase], class(b"a-")),
            ChainEffect::Unchanged
        );
        assert_eq!(
            chain_effect(&[Transform::UrlDecodeUni], class(b"a+b")),
            ChainEffect::Unknown
        );
    }

    #[test]
    fn path_normalisation_changes_only_separated_or_dotted_values() {
        let path = [Transform::NormalizePath];
        let effect = |v: &[u8]| chain_effect(&path, ValueClass::of(v));
        assert_eq!(effect(b"json.order.items.3.sku"), ChainEffect::Unchanged);
        assert_eq!(effect(b"20.13"), ChainEffect::Unchanged);
        assert_eq!(effect(b"ab.."), ChainEffect::Unknown);
        assert_eq!(&*Transform::NormalizePath.apply(b"ab.."), b"");
        assert_eq!(effect(b"a/b"), ChainEffect::Unknown);
        assert_eq!(
            chain_effect(&[Transform::NormalizePathWin], ValueClass::of(b"a\\b")),
            ChainEffect::Unknown
        );
    }
}
