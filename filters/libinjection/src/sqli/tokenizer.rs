//! SQL tokenizer with libinjection's rules: one token at a time, any byte input.

use super::keyword_index;
use super::token::{Token, TokenType, TOKEN_SIZE};

/// Quote context the input is assumed to start in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quote {
    /// Input is read as-is.
    None,
    /// Input is read as if it followed a `'`.
    Single,
    /// Input is read as if it followed a `"`.
    Double,
}

/// SQL dialect, which decides how `#` and `--x` are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `#` is an operator; `--x` starts a comment.
    Ansi,
    /// `#` starts a comment; `--x` is two operators.
    Mysql,
}

/// Tokenizer settings (libinjection's FLAG_QUOTE_* / FLAG_SQL_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags {
    /// Quote context.
    pub quote: Quote,
    /// Dialect.
    pub dialect: Dialect,
}

impl Flags {
    /// As-is input, ANSI dialect (libinjection's default).
    pub const ANSI: Flags = Flags {
        quote: Quote::None,
        dialect: Dialect::Ansi,
    };
}

/// Counters the detector's false-positive rules look at.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Tokens produced so far (comments included).
    pub tokens: usize,
    /// `--x` comments seen (ANSI only).
    pub comment_ddx: usize,
    /// `#` characters seen.
    pub comment_hash: usize,
}

/// Which scanning rule a leading byte selects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    White,
    Operator1,
    Operator2,
    Char,
    Other,
    String,
    Hash,
    Money,
    Dash,
    Slash,
    Number,
    Var,
    Word,
    BString,
    EString,
    NqString,
    QString,
    UString,
    XString,
    BWord,
    Backslash,
    Tick,
}

/// Rule per leading byte (libinjection's character map).
static RULES: [Rule; 256] = build_rules();

const fn build_rules() -> [Rule; 256] {
    let mut t = [Rule::Word; 256];
    let mut i = 0;
    while i <= 32 {
        t[i] = Rule::White;
        i += 1;
    }
    t[127] = Rule::White;
    t[160] = Rule::White;
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = Rule::Number;
        d += 1;
    }
    t[b'.' as usize] = Rule::Number;
    t[b'!' as usize] = Rule::Operator2;
    t[b'&' as usize] = Rule::Operator2;
    t[b'*' as usize] = Rule::Operator2;
    t[b':' as usize] = Rule::Operator2;
    t[b'<' as usize] = Rule::Operator2;
    t[b'=' as usize] = Rule::Operator2;
    t[b'>' as usize] = Rule::Operator2;
    t[b'|' as usize] = Rule::Operator2;
    t[b'%' as usize] = Rule::Operator1;
    t[b'+' as usize] = Rule::Operator1;
    t[b'^' as usize] = Rule::Operator1;
    t[b'~' as usize] = Rule::Operator1;
    t[b'(' as usize] = Rule::Char;
    t[b')' as usize] = Rule::Char;
    t[b',' as usize] = Rule::Char;
    t[b';' as usize] = Rule::Char;
    t[b'{' as usize] = Rule::Char;
    t[b'}' as usize] = Rule::Char;
    t[b'?' as usize] = Rule::Other;
    t[b']' as usize] = Rule::Other;
    t[b'"' as usize] = Rule::String;
    t[b'\'' as usize] = Rule::String;
    t[b'#' as usize] = Rule::Hash;
    t[b'$' as usize] = Rule::Money;
    t[b'-' as usize] = Rule::Dash;
    t[b'/' as usize] = Rule::Slash;
    t[b'@' as usize] = Rule::Var;
    t[b'B' as usize] = Rule::BString;
    t[b'b' as usize] = Rule::BString;
    t[b'E' as usize] = Rule::EString;
    t[b'e' as usize] = Rule::EString;
    t[b'N' as usize] = Rule::NqString;
    t[b'n' as usize] = Rule::NqString;
    t[b'Q' as usize] = Rule::QString;
    t[b'q' as usize] = Rule::QString;
    t[b'U' as usize] = Rule::UString;
    t[b'u' as usize] = Rule::UString;
    t[b'X' as usize] = Rule::XString;
    t[b'x' as usize] = Rule::XString;
    t[b'[' as usize] = Rule::BWord;
    t[b'\\' as usize] = Rule::Backslash;
    t[b'`' as usize] = Rule::Tick;
    t
}

/// Bytes that end a bare word. NUL is included because libinjection's `strchr`-based scan
/// always finds the terminator.
const WORD_STOP: &[u8] = b" []{}<>:\\?=@!#~+-*/&|^%(),';\t\n\x0b\x0c\r\"\xa0\0";
/// Bytes that end a variable name (NUL included, see [`WORD_STOP`]).
const VAR_STOP: &[u8] = b" <>:\\?=@!#~+-*/&|^%(),';\t\n\x0b\x0c\r'`\"\0";

/// libinjection's whitespace, including NUL (Oracle) and 0xA0 (Latin-1 NBSP).
fn is_white(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0 | 0)
}

/// Length of the prefix made of `accept` bytes; NUL counts as accepted (C `strchr` quirk).
fn span(s: &[u8], accept: &[u8]) -> usize {
    s.iter()
        .position(|&c| c != 0 && !accept.contains(&c))
        .unwrap_or(s.len())
}

/// A byte set as a 256-entry table, built at compile time so a membership test is one load
/// (the scans over words and variables test every input byte).
struct ByteSet([bool; 256]);

impl ByteSet {
    const fn of(bytes: &[u8]) -> ByteSet {
        let mut set = [false; 256];
        let mut i = 0;
        while i < bytes.len() {
            set[bytes[i] as usize] = true;
            i += 1;
        }
        ByteSet(set)
    }

    fn contains(&self, byte: u8) -> bool {
        self.0[usize::from(byte)]
    }
}

/// [`WORD_STOP`] as a table.
static WORD_STOP_SET: ByteSet = ByteSet::of(WORD_STOP);
/// [`VAR_STOP`] as a table.
static VAR_STOP_SET: ByteSet = ByteSet::of(VAR_STOP);

/// Length of the prefix made of bytes not in `stop`.
fn span_until(s: &[u8], stop: &ByteSet) -> usize {
    s.iter().position(|&c| stop.contains(c)).unwrap_or(s.len())
}

/// Offset of the first `c0 c1` pair in `s`.
fn find_pair(s: &[u8], c0: u8, c1: u8) -> Option<usize> {
    s.windows(2).position(|w| w[0] == c0 && w[1] == c1)
}

/// Offset of `needle` in `hay`.
fn find_sub(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Token type of a word, operator or fingerprint in libinjection's keyword table.
pub(crate) fn lookup(word: &[u8]) -> Option<TokenType> {
    if word.is_empty() || word.len() >= TOKEN_SIZE * 2 {
        return None;
    }
    let mut buf = [0u8; TOKEN_SIZE * 2];
    let key = &mut buf[..word.len()];
    for (dst, &src) in key.iter_mut().zip(word) {
        if src == 0 {
            return None;
        }
        *dst = src.to_ascii_uppercase();
    }
    keyword_index::code_of(key).and_then(TokenType::from_code)
}

/// Streams tokens out of one input.
pub struct Tokenizer<'a> {
    s: &'a [u8],
    pos: usize,
    flags: Flags,
    stats: Stats,
}

impl<'a> Tokenizer<'a> {
    /// A tokenizer at the start of `input`.
    pub fn new(input: &'a [u8], flags: Flags) -> Self {
        Tokenizer {
            s: input,
            pos: 0,
            flags,
            stats: Stats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Reads the next token into `tok`; false at end of input.
    pub fn next_token(&mut self, tok: &mut Token) -> bool {
        if self.s.is_empty() {
            return false;
        }
        *tok = Token::default();
        if self.pos == 0 {
            let delim = match self.flags.quote {
                Quote::None => None,
                Quote::Single => Some(b'\''),
                Quote::Double => Some(b'"'),
            };
            if let Some(delim) = delim {
                self.pos = self.string_core(tok, 0, delim, 0);
                self.stats.tokens += 1;
                return true;
            }
        }
        while let Some(&ch) = self.s.get(self.pos) {
            self.pos = self.scan(tok, self.pos, RULES[usize::from(ch)]);
            if tok.kind != TokenType::None {
                self.stats.tokens += 1;
                return true;
            }
        }
        false
    }

    fn scan(&mut self, tok: &mut Token, pos: usize, rule: Rule) -> usize {
        match rule {
            Rule::White => pos + 1,
            Rule::Operator1 => self.operator1(tok, pos),
            Rule::Operator2 => self.operator2(tok, pos),
            Rule::Char => {
                let ch = self.s[pos];
                let kind = TokenType::from_code(ch).unwrap_or(TokenType::Unknown);
                tok.assign_char(kind, pos, ch);
                pos + 1
            }
            Rule::Other => {
                tok.assign_char(TokenType::Unknown, pos, self.s[pos]);
                pos + 1
            }
            Rule::String => self.string_core(tok, pos, self.s[pos], 1),
            Rule::Hash => self.hash(tok, pos),
            Rule::Money => self.money(tok, pos),
            Rule::Dash => self.dash(tok, pos),
            Rule::Slash => self.slash(tok, pos),
            Rule::Number => self.number(tok, pos),
            Rule::Var => self.var(tok, pos),
            Rule::Word => self.word(tok, pos),
            Rule::BString => self.radix_string(tok, pos, b"01"),
            Rule::EString => self.estring(tok, pos),
            Rule::NqString => self.nqstring(tok, pos),
            Rule::QString => self.qstring_core(tok, pos, 0),
            Rule::UString => self.ustring(tok, pos),
            Rule::XString => self.radix_string(tok, pos, b"0123456789ABCDEFabcdef"),
            Rule::BWord => self.bword(tok, pos),
            Rule::Backslash => self.backslash(tok, pos),
            Rule::Tick => self.tick(tok, pos),
        }
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.s.get(i).copied()
    }

    fn operator1(&self, tok: &mut Token, pos: usize) -> usize {
        tok.assign_char(TokenType::Operator, pos, self.s[pos]);
        pos + 1
    }

    fn operator2(&self, tok: &mut Token, pos: usize) -> usize {
        let s = self.s;
        if pos + 1 >= s.len() {
            return self.operator1(tok, pos);
        }
        if s[pos..].starts_with(b"<=>") {
            tok.assign(TokenType::Operator, pos, &s[pos..pos + 3]);
            return pos + 3;
        }
        if let Some(kind) = lookup(&s[pos..pos + 2]) {
            tok.assign(kind, pos, &s[pos..pos + 2]);
            return pos + 2;
        }
        if s[pos] == b':' {
            tok.assign(TokenType::Colon, pos, &s[pos..pos + 1]);
            return pos + 1;
        }
        self.operator1(tok, pos)
    }

    fn eol_comment(&self, tok: &mut Token, pos: usize) -> usize {
        let s = self.s;
        match s[pos..].iter().position(|&c| c == b'\n') {
            None => {
                tok.assign(TokenType::Comment, pos, &s[pos..]);
                s.len()
            }
            Some(nl) => {
                tok.assign(TokenType::Comment, pos, &s[pos..pos + nl]);
                pos + nl + 1
            }
        }
    }

    fn hash(&mut self, tok: &mut Token, pos: usize) -> usize {
        self.stats.comment_hash += 1;
        if self.flags.dialect == Dialect::Mysql {
            self.stats.comment_hash += 1;
            self.eol_comment(tok, pos)
        } else {
            tok.assign_char(TokenType::Operator, pos, b'#');
            pos + 1
        }
    }

    fn dash(&mut self, tok: &mut Token, pos: usize) -> usize {
        let next_is_dash = self.at(pos + 1) == Some(b'-');
        match self.at(pos + 2) {
            // "--" then whitespace, or "--" at the very end: always a comment.
            Some(c) if next_is_dash && is_white(c) => self.eol_comment(tok, pos),
            None if next_is_dash => self.eol_comment(tok, pos),
            // "--x": a comment in ANSI, two unary operators in MySQL.
            _ if next_is_dash && self.flags.dialect == Dialect::Ansi => {
                self.stats.comment_ddx += 1;
                self.eol_comment(tok, pos)
            }
            _ => {
                tok.assign_char(TokenType::Operator, pos, b'-');
                pos + 1
            }
        }
    }

    fn slash(&self, tok: &mut Token, pos: usize) -> usize {
        let s = self.s;
        if self.at(pos + 1) != Some(b'*') {
            return self.operator1(tok, pos);
        }
        let close = find_pair(&s[pos + 2..], b'*', b'/').map(|i| pos + 2 + i);
        let clen = match close {
            None => s.len() - pos,
            Some(star) => star + 2 - pos,
        };
        // A nested "/*" (PostgreSQL) or a MySQL "/*!" conditional comment cannot be parsed
        // consistently: flag the input as evil.
        let nested = close.is_some_and(|star| find_pair(&s[pos + 2..=star], b'/', b'*').is_some());
        let mysql = self.at(pos + 2) == Some(b'!');
        let kind = if nested || mysql {
            TokenType::Evil
        } else {
            TokenType::Comment
        };
        tok.assign(kind, pos, &s[pos..pos + clen]);
        pos + clen
    }

    fn backslash(&self, tok: &mut Token, pos: usize) -> usize {
        // MySQL's "\N" is NULL.
        if self.at(pos + 1) == Some(b'N') {
            tok.assign(TokenType::Number, pos, &self.s[pos..pos + 2]);
            pos + 2
        } else {
            tok.assign_char(TokenType::Backslash, pos, self.s[pos]);
            pos + 1
        }
    }

    /// A quoted string starting at `pos`; `offset` skips the opening quote (0 when the quote is
    /// only assumed). Quotes doubled or escaped with an odd number of backslashes do not close it.
    fn string_core(&self, tok: &mut Token, pos: usize, delim: u8, offset: usize) -> usize {
        let s = self.s;
        let start = pos + offset;
        tok.str_open = if offset > 0 { delim } else { 0 };
        let mut from = start;
        loop {
            let Some(q) = s[from..].iter().position(|&c| c == delim).map(|i| from + i) else {
                tok.assign(TokenType::String, start, &s[start..]);
                tok.str_close = 0;
                return s.len();
            };
            let backslashes = s[start..q].iter().rev().take_while(|&&c| c == b'\\').count();
            if backslashes % 2 == 1 {
                from = q + 1;
            } else if s.get(q + 1) == Some(&delim) {
                from = q + 2;
            } else {
                tok.assign(TokenType::String, start, &s[start..q]);
                tok.str_close = delim;
                return q + 1;
            }
        }
    }

    /// `E'...'` / `N'...'`: an escaped or national string, else a word.
    fn estring(&self, tok: &mut Token, pos: usize) -> usize {
        if pos + 2 >= self.s.len() || self.s[pos + 1] != b'\'' {
            return self.word(tok, pos);
        }
        self.string_core(tok, pos, b'\'', 2)
    }

    /// `U&'...'`: a Unicode string, else a word.
    fn ustring(&self, tok: &mut Token, pos: usize) -> usize {
        if self.s.get(pos + 1..pos + 3) == Some(b"&'") {
            let end = self.string_core(tok, pos + 2, b'\'', 1);
            tok.str_open = b'u';
            if tok.str_close == b'\'' {
                tok.str_close = b'u';
            }
            end
        } else {
            self.word(tok, pos)
        }
    }

    /// Oracle's `q'<delim>...<delim>'` string (at `pos + offset`), else a word from `pos`.
    fn qstring_core(&self, tok: &mut Token, pos: usize, offset: usize) -> usize {
        let s = self.s;
        let q = pos + offset;
        if q + 2 >= s.len() || !matches!(s[q], b'q' | b'Q') || s[q + 1] != b'\'' {
            return self.word(tok, pos);
        }
        // C compares a signed char: bytes >= 0x80 are "negative" and rejected too.
        let open = s[q + 2];
        if !(33..0x80).contains(&open) {
            return self.word(tok, pos);
        }
        let close = match open {
            b'(' => b')',
            b'[' => b']',
            b'{' => b'}',
            b'<' => b'>',
            c => c,
        };
        let body = q + 3;
        tok.str_open = b'q';
        match find_pair(&s[body..], close, b'\'') {
            None => {
                tok.assign(TokenType::String, body, &s[body..]);
                tok.str_close = 0;
                s.len()
            }
            Some(i) => {
                tok.assign(TokenType::String, body, &s[body..body + i]);
                tok.str_close = b'q';
                body + i + 2
            }
        }
    }

    /// `N'...'` (national string) or Oracle's `nq'...'`.
    fn nqstring(&self, tok: &mut Token, pos: usize) -> usize {
        if pos + 2 < self.s.len() && self.s[pos + 1] == b'\'' {
            return self.estring(tok, pos);
        }
        self.qstring_core(tok, pos, 1)
    }

    /// `b'0101'` / `x'1F'` literals (numbers), else a word.
    fn radix_string(&self, tok: &mut Token, pos: usize, digits: &[u8]) -> usize {
        let s = self.s;
        if pos + 2 >= s.len() || s[pos + 1] != b'\'' {
            return self.word(tok, pos);
        }
        let n = span(&s[pos + 2..], digits);
        if s.get(pos + 2 + n) != Some(&b'\'') {
            return self.word(tok, pos);
        }
        tok.assign(TokenType::Number, pos, &s[pos..pos + n + 3]);
        pos + n + 3
    }

    /// SQL Server `[bracketed words]`.
    fn bword(&self, tok: &mut Token, pos: usize) -> usize {
        let s = self.s;
        let end = s[pos..]
            .iter()
            .position(|&c| c == b']')
            .map_or(s.len(), |i| pos + i + 1);
        tok.assign(TokenType::Bareword, pos, &s[pos..end]);
        end
    }

    fn word(&self, tok: &mut Token, pos: usize) -> usize {
        let s = self.s;
        let wlen = span_until(&s[pos..], &WORD_STOP_SET);
        tok.assign(TokenType::Bareword, pos, &s[pos..pos + wlen]);

        // "SELECT.1" or "SELECT`col`": a keyword before '.' or '`' is a token of its own.
        for i in 0..tok.len {
            if matches!(tok.value()[i], b'.' | b'`') {
                match lookup(&tok.value()[..i]) {
                    Some(kind) if kind != TokenType::Bareword => {
                        *tok = Token::default();
                        tok.assign(kind, pos, &s[pos..pos + i]);
                        return pos + i;
                    }
                    _ => {}
                }
            }
        }
        if wlen < TOKEN_SIZE {
            tok.kind = lookup(tok.value()).unwrap_or(TokenType::Bareword);
        }
        pos + wlen
    }

    /// MySQL backtick identifiers: a function name or a bare word.
    fn tick(&self, tok: &mut Token, pos: usize) -> usize {
        let end = self.string_core(tok, pos, b'`', 1);
        tok.kind = if lookup(tok.value()) == Some(TokenType::Function) {
            TokenType::Function
        } else {
            TokenType::Bareword
        };
        end
    }

    fn var(&self, tok: &mut Token, pos: usize) -> usize {
        let s = self.s;
        let mut pos = pos + 1;
        if s.get(pos) == Some(&b'@') {
            pos += 1;
            tok.count = 2;
        } else {
            tok.count = 1;
        }
        match s.get(pos) {
            // MySQL allows @@`version`.
            Some(b'`') => {
                let end = self.tick(tok, pos);
                tok.kind = TokenType::Variable;
                return end;
            }
            Some(&q @ (b'\'' | b'"')) => {
                let end = self.string_core(tok, pos, q, 1);
                tok.kind = TokenType::Variable;
                return end;
            }
            _ => {}
        }
        let n = span_until(&s[pos..], &VAR_STOP_SET);
        tok.assign(TokenType::Variable, pos, &s[pos..pos + n]);
        pos + n
    }

    /// `$1,000.00` numbers, PostgreSQL `$$...$$` / `$tag$...$tag$` strings, or a lone `$`.
    fn money(&self, tok: &mut Token, pos: usize) -> usize {
        let s = self.s;
        if pos + 1 == s.len() {
            tok.assign_char(TokenType::Bareword, pos, b'$');
            return s.len();
        }
        let n = span(&s[pos + 1..], b"0123456789.,");
        if n == 1 && s[pos + 1] == b'.' {
            return self.word(tok, pos);
        }
        if n > 0 {
            tok.assign(TokenType::Number, pos, &s[pos..pos + 1 + n]);
            return pos + 1 + n;
        }
        if s[pos + 1] == b'$' {
            let body = pos + 2;
            tok.str_open = b'$';
            return match find_pair(&s[body..], b'$', b'$') {
                None => {
                    tok.assign(TokenType::String, body, &s[body..]);
                    tok.str_close = 0;
                    s.len()
                }
                Some(i) => {
                    tok.assign(TokenType::String, body, &s[body..body + i]);
                    tok.str_close = b'$';
                    body + i + 2
                }
            };
        }
        let tag_len = span(&s[pos + 1..], b"abcdefghjiklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
        if tag_len == 0 || s.get(pos + tag_len + 1) != Some(&b'$') {
            tok.assign_char(TokenType::Bareword, pos, b'$');
            return pos + 1;
        }
        // "$tag$ ... $tag$"
        let tag = &s[pos..pos + tag_len + 2];
        let body = pos + tag_len + 2;
        tok.str_open = b'$';
        match find_sub(&s[body..], tag) {
            None => {
                tok.assign(TokenType::String, body, &s[body..]);
                tok.str_close = 0;
                s.len()
            }
            Some(i) => {
                tok.assign(TokenType::String, body, &s[body..body + i]);
                tok.str_close = b'$';
                body + i + tag.len()
            }
        }
    }

    fn number(&self, tok: &mut Token, start: usize) -> usize {
        let s = self.s;
        if s[start] == b'0' && start + 1 < s.len() {
            let digits: Option<&[u8]> = match s[start + 1] {
                b'X' | b'x' => Some(b"0123456789ABCDEFabcdef"),
                b'B' | b'b' => Some(b"01"),
                _ => None,
            };
            if let Some(digits) = digits {
                let n = span(&s[start + 2..], digits);
                let kind = if n == 0 { TokenType::Bareword } else { TokenType::Number };
                tok.assign(kind, start, &s[start..start + 2 + n]);
                return start + 2 + n;
            }
        }

        let digits_from = |mut p: usize| {
            while s.get(p).is_some_and(u8::is_ascii_digit) {
                p += 1;
            }
            p
        };
        let mut pos = digits_from(start);
        if s.get(pos) == Some(&b'.') {
            pos = digits_from(pos + 1);
            if pos - start == 1 {
                tok.assign_char(TokenType::Dot, start, b'.');
                return pos;
            }
        }

        let mut have_e = false;
        let mut have_exp = false;
        if matches!(s.get(pos), Some(b'E' | b'e')) {
            have_e = true;
            pos += 1;
            if matches!(s.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            let end = digits_from(pos);
            have_exp = end > pos;
            pos = end;
        }

        // Oracle's float/double suffix: "1.2f" when followed by end, whitespace, ';' or 'u'
        // (the last one so that "1fUNION" reads as "1f UNION").
        if matches!(s.get(pos), Some(b'd' | b'D' | b'f' | b'F')) {
            match s.get(pos + 1) {
                None => pos += 1,
                Some(&c) if is_white(c) || matches!(c, b';' | b'u' | b'U') => pos += 1,
                Some(_) => {}
            }
        }

        // "1234.e" / ".E" without exponent digits is a word, not a number.
        let kind = if have_e && !have_exp {
            TokenType::Bareword
        } else {
            TokenType::Number
        };
        tok.assign(kind, start, &s[start..pos]);
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_tables_hold_exactly_their_bytes() {
        for (set, bytes) in [(&WORD_STOP_SET, WORD_STOP), (&VAR_STOP_SET, VAR_STOP)] {
            for b in 0..=u8::MAX {
                assert_eq!(set.contains(b), bytes.contains(&b), "byte {b:#04x}");
            }
        }
        assert_eq!(span_until(b"select 1", &WORD_STOP_SET), 6);
        assert_eq!(span_until(b"abc", &WORD_STOP_SET), 3);
        assert_eq!(span_until(b"v`x", &VAR_STOP_SET), 1);
    }
}
