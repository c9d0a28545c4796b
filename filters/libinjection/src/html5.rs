//! HTML5 tokenizer as libinjection implements it (a subset of the HTML5 spec's tokenizer,
//! plus the IE quirks that matter for XSS).

/// Kind of an HTML token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    /// Text between tags.
    DataText,
    /// Name of an opening tag.
    TagNameOpen,
    /// Name of a closing tag.
    TagNameClose,
    /// `/>`.
    TagNameSelfClose,
    /// Tag data (unused by the tokenizer, kept for libinjection's numbering).
    TagData,
    /// End of a closing tag.
    TagClose,
    /// Attribute name.
    AttrName,
    /// Attribute value.
    AttrValue,
    /// Comment (also bogus and `<% %>` comments).
    TagComment,
    /// `<!DOCTYPE ...>`.
    Doctype,
}

impl TokenType {
    /// libinjection's name for the type (`DATA_TEXT`, ...).
    pub fn name(self) -> &'static str {
        match self {
            TokenType::DataText => "DATA_TEXT",
            TokenType::TagNameOpen => "TAG_NAME_OPEN",
            TokenType::TagNameClose => "TAG_NAME_CLOSE",
            TokenType::TagNameSelfClose => "TAG_NAME_SELFCLOSE",
            TokenType::TagData => "TAG_DATA",
            TokenType::TagClose => "TAG_CLOSE",
            TokenType::AttrName => "ATTR_NAME",
            TokenType::AttrValue => "ATTR_VALUE",
            TokenType::TagComment => "TAG_COMMENT",
            TokenType::Doctype => "DOCTYPE",
        }
    }
}

/// Where in an HTML document the input is assumed to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Document text.
    Data,
    /// Inside a tag, as an unquoted attribute value.
    ValueNoQuote,
    /// Inside a `'`-quoted attribute value.
    ValueSingleQuote,
    /// Inside a `"`-quoted attribute value.
    ValueDoubleQuote,
    /// Inside a `` ` ``-quoted attribute value (IE).
    ValueBackQuote,
}

/// One token: its type and where its bytes are in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Token type.
    pub kind: TokenType,
    /// Offset of the token in the input.
    pub start: usize,
    /// Length of the token.
    pub len: usize,
}

/// Tokenizer states (the HTML5 spec's, named after its sections).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Eof,
    Data,
    TagOpen,
    TagNameClose,
    BeforeAttributeName,
    AfterAttributeName,
    BeforeAttributeValue,
    ValueQuoted(u8),
    SelfClosingStartTag,
    AfterAttributeValueQuoted,
}

/// Whitespace for tag parsing. NUL counts too: libinjection tests with `strchr`, which always
/// finds the terminator.
fn is_white(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0)
}

/// Streams HTML tokens out of one input.
pub struct Tokenizer<'a> {
    s: &'a [u8],
    pos: usize,
    is_close: bool,
    state: State,
}

/// What whitespace skipping stopped on.
enum Skipped {
    /// End of input; also byte 0xFF, which libinjection's signed `char` confuses with EOF.
    End,
    Byte(u8),
}

impl<'a> Tokenizer<'a> {
    /// A tokenizer over `input`, starting in `context`.
    pub fn new(input: &'a [u8], context: Context) -> Self {
        let state = match context {
            Context::Data => State::Data,
            Context::ValueNoQuote => State::BeforeAttributeName,
            Context::ValueSingleQuote => State::ValueQuoted(b'\''),
            Context::ValueDoubleQuote => State::ValueQuoted(b'"'),
            Context::ValueBackQuote => State::ValueQuoted(b'`'),
        };
        Tokenizer {
            s: input,
            pos: 0,
            is_close: false,
            state,
        }
    }

    fn token(&self, kind: TokenType, start: usize, len: usize) -> Option<Token> {
        Some(Token { kind, start, len })
    }

    fn run(&mut self, state: State) -> Option<Token> {
        match state {
            State::Eof => None,
            State::Data => self.data(),
            State::TagOpen => self.tag_open(),
            State::TagNameClose => self.tag_name_close(),
            State::BeforeAttributeName => self.before_attribute_name(),
            State::AfterAttributeName => self.after_attribute_name(),
            State::BeforeAttributeValue => self.before_attribute_value(),
            State::ValueQuoted(q) => self.value_quoted(q),
            State::SelfClosingStartTag => self.self_closing_start_tag(),
            State::AfterAttributeValueQuoted => self.after_attribute_value_quoted(),
        }
    }

    fn find_byte(&self, from: usize, byte: u8) -> Option<usize> {
        self.s[from..].iter().position(|&c| c == byte).map(|i| from + i)
    }

    fn skip_white(&mut self) -> Skipped {
        while let Some(&ch) = self.s.get(self.pos) {
            match ch {
                0 | b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => self.pos += 1,
                0xff => return Skipped::End,
                _ => return Skipped::Byte(ch),
            }
        }
        Skipped::End
    }

    fn data(&mut self) -> Option<Token> {
        let start = self.pos;
        match self.find_byte(start, b'<') {
            None => {
                self.state = State::Eof;
                let len = self.s.len() - start;
                if len == 0 {
                    return None;
                }
                self.token(TokenType::DataText, start, len)
            }
            Some(lt) => {
                self.pos = lt + 1;
                self.state = State::TagOpen;
                if lt == start {
                    return self.tag_open();
                }
                self.token(TokenType::DataText, start, lt - start)
            }
        }
    }

    fn tag_open(&mut self) -> Option<Token> {
        let &ch = self.s.get(self.pos)?;
        match ch {
            b'!' => {
                self.pos += 1;
                self.markup_declaration_open()
            }
            b'/' => {
                self.pos += 1;
                self.is_close = true;
                self.end_tag_open()
            }
            b'?' => {
                self.pos += 1;
                self.bogus_comment()
            }
            // Not in the spec: IE <= 9 and old Safari read "<% ... %>" as a comment.
            b'%' => {
                self.pos += 1;
                self.bogus_comment_percent()
            }
            // IE ignores NUL bytes in tag names.
            c if c.is_ascii_alphabetic() || c == 0 => self.tag_name(),
            _ => {
                if self.pos == 0 {
                    return self.data();
                }
                self.state = State::Data;
                self.token(TokenType::DataText, self.pos - 1, 1)
            }
        }
    }

    fn end_tag_open(&mut self) -> Option<Token> {
        let &ch = self.s.get(self.pos)?;
        if ch == b'>' {
            return self.data();
        }
        if ch.is_ascii_alphabetic() {
            return self.tag_name();
        }
        self.is_close = false;
        self.bogus_comment()
    }

    fn tag_name_close(&mut self) -> Option<Token> {
        self.is_close = false;
        let start = self.pos;
        self.pos += 1;
        self.state = if self.pos < self.s.len() {
            State::Data
        } else {
            State::Eof
        };
        self.token(TokenType::TagNameClose, start, 1)
    }

    fn tag_name(&mut self) -> Option<Token> {
        let start = self.pos;
        let mut pos = start;
        while let Some(&ch) = self.s.get(pos) {
            if ch == 0 {
                // Old browsers ignore NULs inside tag names.
                pos += 1;
            } else if is_white(ch) {
                self.pos = pos + 1;
                self.state = State::BeforeAttributeName;
                return self.token(TokenType::TagNameOpen, start, pos - start);
            } else if ch == b'/' {
                self.pos = pos + 1;
                self.state = State::SelfClosingStartTag;
                return self.token(TokenType::TagNameOpen, start, pos - start);
            } else if ch == b'>' {
                if self.is_close {
                    self.pos = pos + 1;
                    self.is_close = false;
                    self.state = State::Data;
                    return self.token(TokenType::TagClose, start, pos - start);
                }
                self.pos = pos;
                self.state = State::TagNameClose;
                return self.token(TokenType::TagNameOpen, start, pos - start);
            } else {
                pos += 1;
            }
        }
        self.state = State::Eof;
        self.token(TokenType::TagNameOpen, start, self.s.len() - start)
    }

    fn before_attribute_name(&mut self) -> Option<Token> {
        loop {
            match self.skip_white() {
                Skipped::End => return None,
                Skipped::Byte(b'/') => {
                    self.pos += 1;
                    // Stay here instead of recursing through the self-closing state.
                    if self.s.get(self.pos).is_some_and(|&c| c != b'>') {
                        continue;
                    }
                    return self.self_closing_start_tag();
                }
                Skipped::Byte(b'>') => {
                    self.state = State::Data;
                    let start = self.pos;
                    self.pos += 1;
                    return self.token(TokenType::TagNameClose, start, 1);
                }
                Skipped::Byte(_) => return self.attribute_name(),
            }
        }
    }

    fn attribute_name(&mut self) -> Option<Token> {
        let start = self.pos;
        let mut pos = start + 1;
        while let Some(&ch) = self.s.get(pos) {
            let next = if is_white(ch) {
                Some((State::AfterAttributeName, pos + 1))
            } else if ch == b'/' {
                Some((State::SelfClosingStartTag, pos + 1))
            } else if ch == b'=' {
                Some((State::BeforeAttributeValue, pos + 1))
            } else if ch == b'>' {
                Some((State::TagNameClose, pos))
            } else {
                None
            };
            if let Some((state, resume)) = next {
                self.state = state;
                self.pos = resume;
                return self.token(TokenType::AttrName, start, pos - start);
            }
            pos += 1;
        }
        self.state = State::Eof;
        self.pos = self.s.len();
        self.token(TokenType::AttrName, start, self.s.len() - start)
    }

    fn after_attribute_name(&mut self) -> Option<Token> {
        match self.skip_white() {
            Skipped::End => None,
            Skipped::Byte(b'/') => {
                self.pos += 1;
                self.self_closing_start_tag()
            }
            Skipped::Byte(b'=') => {
                self.pos += 1;
                self.before_attribute_value()
            }
            Skipped::Byte(b'>') => self.tag_name_close(),
            Skipped::Byte(_) => self.attribute_name(),
        }
    }

    fn before_attribute_value(&mut self) -> Option<Token> {
        match self.skip_white() {
            Skipped::End => {
                self.state = State::Eof;
                None
            }
            Skipped::Byte(q @ (b'"' | b'\'' | b'`')) => self.value_quoted(q),
            Skipped::Byte(_) => self.value_unquoted(),
        }
    }

    fn value_quoted(&mut self, quote: u8) -> Option<Token> {
        // Skip the opening quote, unless the input starts inside the value (position 0).
        if self.pos > 0 {
            self.pos += 1;
        }
        let start = self.pos.min(self.s.len());
        match self.find_byte(start, quote) {
            None => {
                self.state = State::Eof;
                self.token(TokenType::AttrValue, start, self.s.len() - start)
            }
            Some(end) => {
                self.state = State::AfterAttributeValueQuoted;
                self.pos = end + 1;
                self.token(TokenType::AttrValue, start, end - start)
            }
        }
    }

    fn value_unquoted(&mut self) -> Option<Token> {
        let start = self.pos;
        let mut pos = start;
        while let Some(&ch) = self.s.get(pos) {
            if is_white(ch) {
                self.pos = pos + 1;
                self.state = State::BeforeAttributeName;
                return self.token(TokenType::AttrValue, start, pos - start);
            }
            if ch == b'>' {
                self.pos = pos;
                self.state = State::TagNameClose;
                return self.token(TokenType::AttrValue, start, pos - start);
            }
            pos += 1;
        }
        self.state = State::Eof;
        self.token(TokenType::AttrValue, start, self.s.len() - start)
    }

    fn after_attribute_value_quoted(&mut self) -> Option<Token> {
        let &ch = self.s.get(self.pos)?;
        if is_white(ch) {
            self.pos += 1;
            self.before_attribute_name()
        } else if ch == b'/' {
            self.pos += 1;
            self.self_closing_start_tag()
        } else if ch == b'>' {
            let start = self.pos;
            self.pos += 1;
            self.state = State::Data;
            self.token(TokenType::TagNameClose, start, 1)
        } else {
            self.before_attribute_name()
        }
    }

    fn self_closing_start_tag(&mut self) -> Option<Token> {
        let &ch = self.s.get(self.pos)?;
        if ch == b'>' && self.pos > 0 {
            let start = self.pos - 1;
            self.state = State::Data;
            self.pos += 1;
            return self.token(TokenType::TagNameSelfClose, start, 2);
        }
        self.before_attribute_name()
    }

    fn bogus_comment(&mut self) -> Option<Token> {
        let start = self.pos;
        match self.find_byte(start, b'>') {
            None => {
                self.pos = self.s.len();
                self.state = State::Eof;
                self.token(TokenType::TagComment, start, self.s.len() - start)
            }
            Some(gt) => {
                self.pos = gt + 1;
                self.state = State::Data;
                self.token(TokenType::TagComment, start, gt - start)
            }
        }
    }

    /// `<% ... %>` comment.
    fn bogus_comment_percent(&mut self) -> Option<Token> {
        let start = self.pos;
        let mut from = start;
        loop {
            match self.find_byte(from, b'%') {
                Some(pct) if pct + 1 < self.s.len() => {
                    if self.s[pct + 1] != b'>' {
                        from = pct + 1;
                        continue;
                    }
                    self.pos = pct + 2;
                    self.state = State::Data;
                    return self.token(TokenType::TagComment, start, pct - start);
                }
                _ => {
                    self.pos = self.s.len();
                    self.state = State::Eof;
                    return self.token(TokenType::TagComment, start, self.s.len() - start);
                }
            }
        }
    }

    fn markup_declaration_open(&mut self) -> Option<Token> {
        let rest = &self.s[self.pos..];
        if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"DOCTYPE") {
            return self.doctype();
        }
        if rest.starts_with(b"[CDATA[") {
            self.pos += 7;
            return self.cdata();
        }
        if rest.starts_with(b"--") {
            self.pos += 2;
            return self.comment();
        }
        self.bogus_comment()
    }

    /// Comments end at EOF, `-->` or `-!>`; NULs between the dashes are ignored.
    fn comment(&mut self) -> Option<Token> {
        let start = self.pos;
        let end = self.s.len();
        let mut from = start;
        let to_eof = |this: &mut Self| {
            this.state = State::Eof;
            this.token(TokenType::TagComment, start, end - start)
        };
        loop {
            let Some(dash) = self.find_byte(from, b'-') else {
                return to_eof(self);
            };
            if dash + 3 > end {
                return to_eof(self);
            }
            let mut off = dash + 1;
            while off < end && self.s[off] == 0 {
                off += 1;
            }
            if off == end {
                return to_eof(self);
            }
            if !matches!(self.s[off], b'-' | b'!') {
                from = dash + 1;
                continue;
            }
            off += 1;
            if off == end {
                return to_eof(self);
            }
            if self.s[off] != b'>' {
                from = dash + 1;
                continue;
            }
            self.pos = off + 1;
            self.state = State::Data;
            return self.token(TokenType::TagComment, start, dash - start);
        }
    }

    fn cdata(&mut self) -> Option<Token> {
        let start = self.pos.min(self.s.len());
        let end = self.s.len();
        let mut from = start;
        loop {
            match self.find_byte(from, b']') {
                Some(rb) if rb + 3 <= end => {
                    if self.s[rb + 1] == b']' && self.s[rb + 2] == b'>' {
                        self.state = State::Data;
                        self.pos = rb + 3;
                        return self.token(TokenType::DataText, start, rb - start);
                    }
                    from = rb + 1;
                }
                _ => {
                    self.state = State::Eof;
                    return self.token(TokenType::DataText, start, end - start);
                }
            }
        }
    }

    fn doctype(&mut self) -> Option<Token> {
        let start = self.pos;
        match self.find_byte(start, b'>') {
            None => {
                self.state = State::Eof;
                self.token(TokenType::Doctype, start, self.s.len() - start)
            }
            Some(gt) => {
                self.state = State::Data;
                self.pos = gt + 1;
                self.token(TokenType::Doctype, start, gt - start)
            }
        }
    }
}

impl Iterator for Tokenizer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        self.run(self.state)
    }
}
