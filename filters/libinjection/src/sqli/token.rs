//! SQL tokens as libinjection sees them: a one-character type and a short value.

/// Capacity of a token value, including libinjection's terminating NUL (so 31 usable bytes).
pub const TOKEN_SIZE: usize = 32;

/// Token type; the discriminant is the character libinjection uses in fingerprints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum TokenType {
    /// No token (cleared slot).
    #[default]
    None = 0,
    /// SQL keyword.
    Keyword = b'k',
    /// `UNION` and friends.
    Union = b'U',
    /// `GROUP BY` and friends.
    Group = b'B',
    /// Statement starter such as `SELECT`.
    Expression = b'E',
    /// SQL type name.
    SqlType = b't',
    /// Function name.
    Function = b'f',
    /// Bare word (identifier).
    Bareword = b'n',
    /// Number literal.
    Number = b'1',
    /// Variable (`@x`, `@@x`).
    Variable = b'v',
    /// String literal.
    String = b's',
    /// Operator.
    Operator = b'o',
    /// Logic operator (`AND`, `OR`, `&&`...).
    LogicOperator = b'&',
    /// Comment.
    Comment = b'c',
    /// `COLLATE`.
    Collate = b'A',
    /// `(`.
    LeftParens = b'(',
    /// `)`.
    RightParens = b')',
    /// `{`.
    LeftBrace = b'{',
    /// `}`.
    RightBrace = b'}',
    /// `.`.
    Dot = b'.',
    /// `,`.
    Comma = b',',
    /// `:`.
    Colon = b':',
    /// `;`.
    Semicolon = b';',
    /// Transact-SQL statement word.
    Tsql = b'T',
    /// Unknown character.
    Unknown = b'?',
    /// Unparsable input; always suspicious.
    Evil = b'X',
    /// Fingerprint entry of the keyword table (never a real token).
    Fingerprint = b'F',
    /// `\`.
    Backslash = b'\\',
}

impl TokenType {
    /// The type for a fingerprint character, if it is one.
    pub fn from_code(code: u8) -> Option<Self> {
        use TokenType::*;
        Some(match code {
            b'k' => Keyword,
            b'U' => Union,
            b'B' => Group,
            b'E' => Expression,
            b't' => SqlType,
            b'f' => Function,
            b'n' => Bareword,
            b'1' => Number,
            b'v' => Variable,
            b's' => String,
            b'o' => Operator,
            b'&' => LogicOperator,
            b'c' => Comment,
            b'A' => Collate,
            b'(' => LeftParens,
            b')' => RightParens,
            b'{' => LeftBrace,
            b'}' => RightBrace,
            b'.' => Dot,
            b',' => Comma,
            b':' => Colon,
            b';' => Semicolon,
            b'T' => Tsql,
            b'?' => Unknown,
            b'X' => Evil,
            b'F' => Fingerprint,
            b'\\' => Backslash,
            _ => return Option::None,
        })
    }

    /// The fingerprint character of this type (0 for `None`).
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// One token: its type, where it came from, and its value truncated to 31 bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Token {
    /// Token type.
    pub kind: TokenType,
    /// Byte offset of the value in the input.
    pub pos: usize,
    /// Length of the stored value (at most 31).
    pub len: usize,
    /// Number of leading `@` of a variable (1 or 2).
    pub count: u8,
    /// Opening quote of a string (0 when the string had none).
    pub str_open: u8,
    /// Closing quote of a string (0 when unterminated).
    pub str_close: u8,
    // Kept NUL-terminated like libinjection's buffer: some checks read it as a C string.
    val: [u8; TOKEN_SIZE],
}

impl Token {
    /// The stored value bytes.
    pub fn value(&self) -> &[u8] {
        &self.val[..self.len]
    }

    /// The value up to its first NUL byte, as libinjection's C-string checks (and its test
    /// driver's output) read it.
    pub fn c_value(&self) -> &[u8] {
        let v = self.value();
        let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
        &v[..end]
    }

    /// Byte `i` of the value buffer (NUL past the end), like indexing the C buffer.
    pub(crate) fn byte(&self, i: usize) -> u8 {
        self.val.get(i).copied().unwrap_or(0)
    }

    /// Sets type, position and value (truncated to 31 bytes); quotes and count are kept.
    pub(crate) fn assign(&mut self, kind: TokenType, pos: usize, value: &[u8]) {
        let len = value.len().min(TOKEN_SIZE - 1);
        self.kind = kind;
        self.pos = pos;
        self.len = len;
        self.val[..len].copy_from_slice(&value[..len]);
        self.val[len] = 0;
    }

    /// Sets a one-byte token.
    pub(crate) fn assign_char(&mut self, kind: TokenType, pos: usize, ch: u8) {
        self.assign(kind, pos, &[ch]);
    }

    /// Blanks the value buffer and leaves only `X`, as libinjection does for evil input.
    pub(crate) fn make_evil(&mut self) {
        self.val = [0; TOKEN_SIZE];
        self.val[0] = b'X';
        self.kind = TokenType::Evil;
    }

    /// True when the value equals `upper` ignoring ASCII case (`upper` is upper case).
    pub(crate) fn value_is(&self, upper: &[u8]) -> bool {
        eq_upper(upper, self.value())
    }

    /// `+ - ! ~ !! NOT` operators.
    pub(crate) fn is_unary_op(&self) -> bool {
        if self.kind != TokenType::Operator {
            return false;
        }
        match self.value() {
            [c] => matches!(c, b'+' | b'-' | b'!' | b'~'),
            [b'!', b'!'] => true,
            v if v.len() == 3 => eq_upper(b"NOT", v),
            _ => false,
        }
    }

    /// `* / - + %` operators.
    pub(crate) fn is_arithmetic_op(&self) -> bool {
        self.kind == TokenType::Operator && matches!(self.value(), [b'*' | b'/' | b'-' | b'+' | b'%'])
    }
}

/// libinjection's keyword comparison: `key` upper-cased (ASCII letters only) equals `upper`.
/// A NUL byte in `key` never matches, as in the C comparison.
pub(crate) fn eq_upper(upper: &[u8], key: &[u8]) -> bool {
    upper.len() == key.len()
        && upper
            .iter()
            .zip(key)
            .all(|(&u, &k)| k != 0 && u == k.to_ascii_uppercase())
}
