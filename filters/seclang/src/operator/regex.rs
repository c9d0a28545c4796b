//! PCRE (as ModSecurity v3 compiles it) to `regex::bytes` translation.
//!
//! ModSecurity compiles `@rx` with `PCRE_DOTALL | PCRE_MULTILINE` and without UTF mode: the
//! subject and the pattern are bytes, `\w \d \s \b` and caseless matching are ASCII-only. This
//! maps to `regex::bytes` with `(?s)(?m)` and Unicode off. The translation below rewrites the
//! PCRE syntax the `regex` crate reads differently or not at all; constructs it cannot express
//! (look-around, back-references, recursion, conditionals) are rejected with a reason.

use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::Hir;
use regex_syntax::ParserBuilder;

/// Compiled-size limit: CRS has very large alternations (e.g. 932 unix commands). This bounds
/// load-time work only; the lazy-DFA cache keeps the `regex` default (2 MiB per regex at most),
/// since a larger one would multiply across the 318 CRS regexes.
const SIZE_LIMIT: usize = 64 * 1024 * 1024;

/// Compiles a ModSecurity regex (`@rx` argument) with ModSecurity's flags.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    compile_translated(&translate(pattern)?)
}

/// Compiles an already [`translate`]d pattern with ModSecurity's flags.
pub(crate) fn compile_translated(translated: &str) -> Result<Regex, String> {
    RegexBuilder::new(translated)
        .unicode(false)
        .dot_matches_new_line(true)
        .multi_line(true)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

/// Parses a [`translate`]d pattern with the flags [`compile_translated`] uses (bytes, no
/// Unicode, `(?s)(?m)`, the `regex` crate's default nesting limit): every syntax error the
/// regex compiler would report, without building an automaton.
pub(crate) fn parse(translated: &str) -> Result<Hir, String> {
    ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .dot_matches_new_line(true)
        .multi_line(true)
        .build()
        .parse(translated)
        .map_err(|e| e.to_string())
}

/// Rewrites PCRE (non-UTF) syntax into `regex` crate syntax with the same byte semantics.
pub(crate) fn translate(pattern: &str) -> Result<String, String> {
    let p = pattern.as_bytes();
    let mut out = String::with_capacity(p.len() + 16);
    let mut i = 0;
    // Inside a character class, and whether the class has its first member yet (a `]` right
    // after `[` or `[^` is a literal in PCRE).
    let mut in_class = false;
    let mut class_start = false;
    while i < p.len() {
        let c = p[i];
        if c >= 0x80 {
            // Pattern bytes are literal bytes in non-UTF PCRE (inside a class: one member each).
            push_byte(&mut out, c);
            class_start = false;
            i += 1;
            continue;
        }
        match c {
            b'\\' => {
                i = translate_escape(p, i, in_class, &mut out)?;
                class_start = false;
                continue;
            }
            b'[' if !in_class => {
                in_class = true;
                out.push('[');
                i += 1;
                if p.get(i) == Some(&b'^') {
                    out.push('^');
                    i += 1;
                }
                class_start = true;
                if p.get(i) == Some(&b']') {
                    out.push_str("\\]");
                    i += 1;
                    class_start = false;
                }
                continue;
            }
            b'[' if in_class => {
                // POSIX classes like [:alpha:] are understood by both; a lone `[` is literal.
                if p.get(i + 1) == Some(&b':') {
                    if let Some(end) = find(p, i + 2, b":]") {
                        out.push_str(std::str::from_utf8(&p[i..end + 2]).unwrap_or(""));
                        i = end + 2;
                        class_start = false;
                        continue;
                    }
                }
                out.push_str("\\[");
            }
            b']' if in_class && !class_start => {
                in_class = false;
                out.push(']');
            }
            b'&' | b'~' if in_class => {
                // `&&` and `~~` are class set operators in the regex crate, not in PCRE.
                push_byte(&mut out, c);
            }
            b'(' if !in_class => {
                i = translate_group_open(p, i, &mut out)?;
                continue;
            }
            b'+' if !in_class && is_possessive(p, i) => {
                // Possessive quantifier: matched as the plain greedy one (a superset).
            }
            b'{' if !in_class => match counted_repetition(p, i) {
                Some(end) => {
                    out.push_str(std::str::from_utf8(&p[i..end]).unwrap_or(""));
                    i = end;
                    continue;
                }
                // `{` that does not start a valid counted repetition is a literal in PCRE.
                None => out.push_str("\\{"),
            },
            b'}' if !in_class => out.push_str("\\}"),
            // Literal inside a PCRE class even in extended mode, not in the regex crate's.
            b' ' | b'#' if in_class => push_byte(&mut out, c),
            _ => out.push(c as char),
        }
        class_start = false;
        i += 1;
    }
    if in_class {
        return Err("missing terminating ] for character class".into());
    }
    Ok(out)
}

/// If `p[i]` starts a PCRE counted repetition `{n}`, `{n,}` or `{n,m}`, its end index.
fn counted_repetition(p: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let digits = |j: &mut usize| {
        let s = *j;
        while *j < p.len() && p[*j].is_ascii_digit() {
            *j += 1;
        }
        *j > s
    };
    if !digits(&mut j) {
        return None;
    }
    if p.get(j) == Some(&b',') {
        j += 1;
        digits(&mut j);
    }
    (p.get(j) == Some(&b'}')).then_some(j + 1)
}

/// True when the `+` at `i` follows a quantifier (making it possessive).
fn is_possessive(p: &[u8], i: usize) -> bool {
    if i == 0 {
        return false;
    }
    let prev = p[i - 1];
    let escaped = i >= 2 && p[i - 2] == b'\\';
    match prev {
        b'*' | b'?' => !escaped,
        // `a++` is possessive, but in `a+++` the third `+` follows a possessive marker.
        b'+' => !escaped && !is_possessive(p, i - 1),
        b'}' => {
            !escaped
                && p[..i - 1]
                    .iter()
                    .rposition(|&c| c == b'{')
                    .is_some_and(|s| counted_repetition(p, s) == Some(i))
        }
        _ => false,
    }
}

fn find(p: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    p.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|k| k + from)
}

fn push_byte(out: &mut String, b: u8) {
    out.push_str(&format!("\\x{b:02X}"));
}

/// Translates `(` and a following group syntax; returns the next index.
fn translate_group_open(p: &[u8], i: usize, out: &mut String) -> Result<usize, String> {
    if p.get(i + 1) != Some(&b'?') {
        if p.get(i + 1) == Some(&b'*') {
            return Err("PCRE verbs like (*UTF) are not supported".into());
        }
        out.push('(');
        return Ok(i + 1);
    }
    let rest = &p[i + 2..];
    let unsupported = |what: &str| Err(format!("{what} is not supported by the regex engine"));
    match rest.first() {
        Some(b'=') | Some(b'!') => unsupported("look-ahead"),
        Some(b'<') if matches!(rest.get(1), Some(b'=') | Some(b'!')) => unsupported("look-behind"),
        Some(b'>') => {
            // Atomic group: matched as a plain group (a superset).
            out.push_str("(?:");
            Ok(i + 3)
        }
        Some(b'|') => unsupported("branch reset group"),
        Some(b'(') => unsupported("conditional group"),
        Some(b'R') | Some(b'0'..=b'9') | Some(b'&') => unsupported("recursion"),
        Some(b'P') if matches!(rest.get(1), Some(b'=') | Some(b'>')) => unsupported("back-reference"),
        Some(b'#') => {
            // Comment group: dropped.
            let end = find(p, i, b")").ok_or("unterminated comment group")?;
            Ok(end + 1)
        }
        Some(b'\'') => {
            // (?'name'...) named group.
            let end = find(p, i + 3, b"'").ok_or("unterminated group name")?;
            out.push_str("(?P<");
            out.push_str(std::str::from_utf8(&p[i + 3..end]).map_err(|e| e.to_string())?);
            out.push('>');
            Ok(end + 1)
        }
        _ => {
            out.push_str("(?");
            Ok(i + 2)
        }
    }
}

/// Translates the escape starting at `p[i] == '\\'`; returns the next index.
fn translate_escape(p: &[u8], i: usize, in_class: bool, out: &mut String) -> Result<usize, String> {
    let Some(&e) = p.get(i + 1) else {
        return Err("pattern ends with a backslash".into());
    };
    let unsupported = |what: &str| Err(format!("{what} is not supported by the regex engine"));
    match e {
        b'x' => {
            if p.get(i + 2) == Some(&b'{') {
                let end = find(p, i + 3, b"}").ok_or("unterminated \\x{")?;
                let hex = std::str::from_utf8(&p[i + 3..end]).map_err(|e| e.to_string())?;
                let v = u32::from_str_radix(hex, 16).map_err(|_| format!("invalid \\x{{{hex}}}"))?;
                let b = u8::try_from(v).map_err(|_| format!("\\x{{{hex}}} is above 0xFF (no UTF mode)"))?;
                push_byte(out, b);
                Ok(end + 1)
            } else {
                // Up to two hex digits; none means NUL.
                let mut j = i + 2;
                let mut v = 0u32;
                while j < p.len() && j < i + 4 && p[j].is_ascii_hexdigit() {
                    v = v * 16 + (p[j] as char).to_digit(16).unwrap_or(0);
                    j += 1;
                }
                push_byte(out, v as u8);
                Ok(j)
            }
        }
        b'0' => {
            // \0 followed by up to two more octal digits.
            let mut j = i + 2;
            let mut v = 0u32;
            while j < p.len() && j < i + 4 && (b'0'..=b'7').contains(&p[j]) {
                v = v * 8 + u32::from(p[j] - b'0');
                j += 1;
            }
            push_byte(out, v as u8);
            Ok(j)
        }
        b'1'..=b'9' => {
            if in_class {
                // Octal escape inside a class.
                let mut j = i + 1;
                let mut v = 0u32;
                while j < p.len() && j < i + 4 && (b'0'..=b'7').contains(&p[j]) {
                    v = v * 8 + u32::from(p[j] - b'0');
                    j += 1;
                }
                if j == i + 1 {
                    out.push(e as char);
                    return Ok(i + 2);
                }
                push_byte(out, v as u8);
                Ok(j)
            } else {
                unsupported("back-reference")
            }
        }
        b'o' if p.get(i + 2) == Some(&b'{') => {
            let end = find(p, i + 3, b"}").ok_or("unterminated \\o{")?;
            let oct = std::str::from_utf8(&p[i + 3..end]).map_err(|e| e.to_string())?;
            let v = u32::from_str_radix(oct, 8).map_err(|_| format!("invalid \\o{{{oct}}}"))?;
            let b = u8::try_from(v).map_err(|_| format!("\\o{{{oct}}} is above 0xFF"))?;
            push_byte(out, b);
            Ok(end + 1)
        }
        b'c' => {
            let Some(&x) = p.get(i + 2) else {
                return Err("\\c at end of pattern".into());
            };
            push_byte(out, x.to_ascii_uppercase() ^ 0x40);
            Ok(i + 3)
        }
        b'e' => {
            push_byte(out, 0x1b);
            Ok(i + 2)
        }
        // PCRE \v and \h are classes (vertical / horizontal whitespace), not \x0B.
        b'v' => {
            out.push_str(if in_class {
                "\\n\\x0B\\x0C\\r\\x85"
            } else {
                "[\\n\\x0B\\x0C\\r\\x85]"
            });
            Ok(i + 2)
        }
        b'h' => {
            out.push_str(if in_class { "\\t\\x20\\xA0" } else { "[\\t\\x20\\xA0]" });
            Ok(i + 2)
        }
        b'V' | b'H' if in_class => unsupported("\\V or \\H inside a class"),
        b'V' => {
            out.push_str("[^\\n\\x0B\\x0C\\r\\x85]");
            Ok(i + 2)
        }
        b'H' => {
            out.push_str("[^\\t\\x20\\xA0]");
            Ok(i + 2)
        }
        b'R' if !in_class => {
            out.push_str("(?:\\r\\n|[\\n\\x0B\\x0C\\r\\x85])");
            Ok(i + 2)
        }
        b'Z' if !in_class => {
            // End of subject or before a final newline (here the newline is consumed).
            out.push_str("(?:\\n?\\z)");
            Ok(i + 2)
        }
        b'N' if !in_class && p.get(i + 2) != Some(&b'{') => {
            // Any byte but a newline (whatever the DOTALL setting).
            out.push_str("[^\\n]");
            Ok(i + 2)
        }
        b'C' if !in_class => {
            // One code unit: one byte without UTF mode.
            out.push_str("(?s-u:.)");
            Ok(i + 2)
        }
        b'G' | b'K' | b'g' | b'k' | b'X' | b'C' | b'N' | b'p' | b'P' | b'R' | b'E' => {
            if e == b'E' {
                // A stray \E is ignored by PCRE.
                return Ok(i + 2);
            }
            unsupported(&format!("\\{}", e as char))
        }
        b'Q' => {
            // \Q...\E quotes everything literally.
            let end = find(p, i + 2, b"\\E").unwrap_or(p.len());
            for &b in &p[i + 2..end] {
                if b.is_ascii_alphanumeric() {
                    out.push(b as char);
                } else {
                    push_byte(out, b);
                }
            }
            Ok((end + 2).min(p.len()))
        }
        b'b' if in_class => {
            // Backspace inside a class.
            push_byte(out, 0x08);
            Ok(i + 2)
        }
        b'a' | b'f' | b'n' | b'r' | b't' | b'd' | b'D' | b'w' | b'W' | b's' | b'S' | b'b' | b'B' | b'A' | b'z' => {
            out.push('\\');
            out.push(e as char);
            Ok(i + 2)
        }
        _ if e.is_ascii_alphanumeric() => {
            // PCRE treats other escaped letters as errors or literals; be explicit.
            unsupported(&format!("\\{}", e as char))
        }
        _ if e >= 0x80 => {
            push_byte(out, e);
            Ok(i + 2)
        }
        _ => {
            // Escaped punctuation, space or control byte: a literal.
            push_byte(out, e);
            Ok(i + 2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, subject: &[u8]) -> bool {
        compile(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .is_match(subject)
    }

    #[test]
    fn modsecurity_flags() {
        // DOTALL: `.` matches newline; MULTILINE: ^ and $ at line ends.
        assert!(m("a.b", b"a\nb"));
        assert!(m("^b$", b"a\nb\nc"));
        // No UTF mode: `.` matches one byte, even invalid UTF-8.
        assert!(m("^.$", b"\xff"));
        assert!(!m("^.$", "é".as_bytes()));
        // ASCII-only classes and caseless matching.
        assert!(!m("\\w", "é".as_bytes()));
        assert!(m("(?i)abc", b"ABC"));
        assert!(!m("(?i)\\xe9", b"\xc9"));
    }

    #[test]
    fn byte_escapes() {
        assert!(m("\\x{c0}\\x{80}", b"\xc0\x80"));
        assert!(m("[\\x{80}-\\x{ff}]", b"\x90"));
        assert!(m("\\xff", b"\xff"));
        assert!(m("\\x0", b"\0"));
        assert!(m("a\\0b", b"a\0b"));
        assert!(m("\\e\\cA", b"\x1b\x01"));
        assert!(compile("\\x{100}").is_err());
        // Literal non-ASCII in the pattern: bytes, one class member each.
        assert!(m("é", "é".as_bytes()));
        assert!(m("^[é]$", b"\xa9"));
    }

    #[test]
    fn pcre_only_syntax() {
        assert!(m("a\\Z", b"xa\n"));
        assert!(!m("a\\Z", b"a\nb"));
        assert!(m("\\v", b"\r"));
        assert!(!m("\\v", b"x"));
        assert!(m("\\h", b"\t"));
        assert!(m("a{", b"a{"));
        assert!(m("x{1,2}y", b"xxy"));
        assert!(m("{foo}", b"{foo}"));
        assert!(m("a++b", b"aab"));
        assert!(m("(?>ab)c", b"abc"));
        assert!(m("[]a]", b"]"));
        assert!(m("[^]a]", b"b"));
        assert!(m("[a&&b]", b"&"));
        assert!(m("[[:alpha:]]", b"q"));
        assert!(m("\\Qa.b\\E", b"a.b"));
        assert!(!m("\\Qa.b\\E", b"axb"));
        assert!(m("\\/\\:\\-\\\"", b"/:-\""));
        assert!(m("(?'n'a)", b"a"));
        assert!(m("(?x) a [ #]", b"a "));
        assert!(m("(?x) a [ #]", b"a#"));
        assert!(m("a\\Nb", b"axb"));
        assert!(!m("a\\Nb", b"a\nb"));
        assert!(m("a\\Cb", b"a\xffb"));
        assert!(m("a(?#comment)b", b"ab"));
    }

    #[test]
    fn translation_never_panics() {
        let alphabet = b"\\[]()?*+{},0-9^$|.:xX{}QEbBvhNCaZ&~#' \xc3\xa9";
        for p in crate::transform::tests::random_inputs(alphabet, 20_000, 16) {
            let pattern = String::from_utf8_lossy(&p);
            let _ = compile(&pattern);
        }
    }

    #[test]
    fn unsupported_constructs_are_rejected() {
        for p in [
            "<\\?(?!xml)",
            "(?<=a)b",
            "(a)\\1",
            "(?(1)a|b)",
            "(?R)",
            "\\p{L}",
            "a\\",
            "[a",
        ] {
            assert!(compile(p).is_err(), "{p}");
        }
    }
}
