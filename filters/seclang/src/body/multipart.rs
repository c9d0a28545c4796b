//! `multipart/form-data` bodies, parsed line by line with the strict checks of ModSecurity v3
//! (`request_body_processor/multipart.cc`) that CRS reads through the MULTIPART_* variables.
//!
//! The parser works on 4 KiB line buffers like ModSecurity, so long lines, header limits and
//! boundary look-alikes behave the same. One deliberate difference: ModSecurity v3 drops the
//! line break between two lines of a form field's value (it overwrites the held-back CRLF);
//! we keep it, as ModSecurity v2, Coraza and the RFC do, so multi-line values are inspected
//! as the application will read them.
//!
//! Beyond ModSecurity: an RFC 5987 `filename*=charset'lang'%XX...` is decoded (percent-decoding,
//! ISO-8859-1 turned into UTF-8, other charsets kept as bytes) and, as RFC 6266 says recipients
//! prefer it, is a second value of the part's FILES entry and of MULTIPART_FILENAME, after the
//! `filename` ModSecurity reports.
//! An uploaded file's content is kept for FILES_TMP_CONTENT when it is text (see
//! [`FilePart::text`]): ModSecurity fills that variable from files saved to disk, which a
//! proxy filter never does.

/// ModSecurity's line buffer size (`MULTIPART_BUF_SIZE`).
const BUF_SIZE: usize = 4096;

/// Settings for the multipart parser.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MultipartConfig {
    /// Most file parts accepted (SecUploadFileLimit); more set MULTIPART_FILE_LIMIT_EXCEEDED.
    pub(crate) file_limit: Option<usize>,
    /// Most parts kept (SecArgumentsLimit): parsing stops with an error at the next one, so a
    /// body of many tiny parts cannot grow the parser's memory far beyond the body's size
    /// (each part costs its name and header lines twice: 100,000 parts of 6 MB took 86 MiB).
    pub(crate) part_limit: Option<usize>,
}

/// Most bytes of one file's content kept as text for FILES_TMP_CONTENT.
pub(crate) const FILE_TEXT_LIMIT: usize = 64 * 1024;

/// An uploaded file as the transaction keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UploadedFile {
    /// The form field name (FILES_NAMES, key of FILES).
    pub(crate) name: Vec<u8>,
    /// The file name (FILES).
    pub(crate) filename: Vec<u8>,
    /// The decoded RFC 5987 `filename*`, if sent (FILES, after `filename`).
    pub(crate) filename_star: Option<Vec<u8>>,
    /// Content size in bytes (FILES_SIZES).
    pub(crate) size: usize,
    /// The content's first [`FILE_TEXT_LIMIT`] bytes when it is text (FILES_TMP_CONTENT).
    pub(crate) text: Option<Vec<u8>>,
}

/// The strictness flags behind CRS's MULTIPART_* variables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MultipartFlags {
    /// A hard parsing error occurred (part of MULTIPART_STRICT_ERROR).
    pub(crate) error: bool,
    /// MULTIPART_BOUNDARY_QUOTED: the boundary was quoted in Content-Type.
    pub(crate) boundary_quoted: bool,
    /// MULTIPART_BOUNDARY_WHITESPACE: whitespace around the boundary parameter.
    pub(crate) boundary_whitespace: bool,
    /// MULTIPART_DATA_BEFORE: bytes before the first boundary.
    pub(crate) data_before: bool,
    /// MULTIPART_DATA_AFTER: bytes after the final boundary.
    pub(crate) data_after: bool,
    /// MULTIPART_HEADER_FOLDING: a part header was folded.
    pub(crate) header_folding: bool,
    /// MULTIPART_LF_LINE: a line ended in a bare LF.
    pub(crate) lf_line: bool,
    /// A line ended in CRLF (with `lf_line`, gives MULTIPART_CRLF_LF_LINES).
    pub(crate) crlf_line: bool,
    /// MULTIPART_MISSING_SEMICOLON: no `;` before `boundary` in Content-Type.
    pub(crate) missing_semicolon: bool,
    /// MULTIPART_INVALID_QUOTING: single quotes or stray quotes in Content-Disposition.
    pub(crate) invalid_quoting: bool,
    /// MULTIPART_INVALID_PART: a part without a name, or a boundary where data should start.
    pub(crate) invalid_part: bool,
    /// MULTIPART_INVALID_HEADER_FOLDING: folding with whitespace other than SP/HTAB.
    pub(crate) invalid_header_folding: bool,
    /// MULTIPART_FILE_LIMIT_EXCEEDED: more file parts than the configured limit.
    pub(crate) file_limit_exceeded: bool,
    /// MULTIPART_UNMATCHED_BOUNDARY: 0 none, 1 a boundary look-alike, 2 after a real one.
    pub(crate) unmatched_boundary: u8,
}

impl MultipartFlags {
    /// MULTIPART_STRICT_ERROR: any of the strict flags (not the unmatched boundary).
    pub(crate) fn strict_error(&self) -> bool {
        self.error
            || self.boundary_quoted
            || self.boundary_whitespace
            || self.data_before
            || self.data_after
            || self.header_folding
            || self.lf_line
            || self.missing_semicolon
            || self.invalid_quoting
            || self.invalid_part
            || self.invalid_header_folding
            || self.file_limit_exceeded
    }

    /// MULTIPART_CRLF_LF_LINES: both CRLF and bare LF line endings were seen.
    pub(crate) fn crlf_lf_lines(&self) -> bool {
        self.crlf_line && self.lf_line
    }
}

/// One uploaded file (a part with a `filename`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FilePart {
    /// The form field name (FILES_NAMES, key of FILES).
    pub(crate) name: Vec<u8>,
    /// The file name sent by the client (FILES).
    pub(crate) filename: Vec<u8>,
    /// The decoded RFC 5987 `filename*`, if sent (FILES too).
    pub(crate) filename_star: Option<Vec<u8>>,
    /// Content size in bytes (FILES_SIZES).
    pub(crate) size: usize,
    /// The part's Content-Type header, if any.
    pub(crate) content_type: Option<Vec<u8>>,
    /// The file content.
    pub(crate) content: Vec<u8>,
    /// The part's headers as `(name, value)`, in order.
    pub(crate) headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl FilePart {
    /// The content's first `limit` bytes when the file is text: valid UTF-8 (a character cut by
    /// the limit is dropped) without NUL bytes. Binary files (images, archives, UTF-16 text) are
    /// `None`: scanning them as text finds patterns by chance, not attacks.
    pub(crate) fn text(&self, limit: usize) -> Option<&[u8]> {
        let head = &self.content[..self.content.len().min(limit)];
        let valid = match std::str::from_utf8(head) {
            Ok(_) => head.len(),
            // Only a character cut at the end of the kept head is tolerated.
            Err(e) if e.error_len().is_none() && head.len() < self.content.len() => e.valid_up_to(),
            Err(_) => return None,
        };
        let head = &head[..valid];
        (!head.contains(&0)).then_some(head)
    }

    /// What the transaction keeps of it.
    pub(crate) fn uploaded(&self) -> UploadedFile {
        UploadedFile {
            name: self.name.clone(),
            filename: self.filename.clone(),
            filename_star: self.filename_star.clone(),
            size: self.size,
            text: self.text(FILE_TEXT_LIMIT).map(<[u8]>::to_vec),
        }
    }
}

/// Decodes an RFC 5987 `ext-value` the parser checked: `prefix` is `charset'lang'`, `encoded`
/// the percent-encoded value.
fn decode_ext_value(prefix: &[u8], encoded: &[u8]) -> Vec<u8> {
    let charset = prefix
        .split(|&c| c == b'\'')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bytes = crate::transform::percent_decode(encoded, crate::transform::PercentDecoding::URI)
        .0
        .into_owned();
    if charset == b"iso-8859-1" {
        bytes.iter().map(|&b| char::from(b)).collect::<String>().into_bytes()
    } else {
        bytes
    }
}

/// Everything the multipart processor extracts from one body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Multipart {
    /// Form fields as `(name, value)` (ARGS_POST), in order.
    pub(crate) args: Vec<(Vec<u8>, Vec<u8>)>,
    /// Uploaded files, in order.
    pub(crate) files: Vec<FilePart>,
    /// MULTIPART_PART_HEADERS: `(part name, raw header line)` for every part.
    pub(crate) part_headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// MULTIPART_NAME: every `name=` value seen in a Content-Disposition.
    pub(crate) names: Vec<Vec<u8>>,
    /// MULTIPART_FILENAME: every `filename=` value seen in a Content-Disposition.
    pub(crate) filenames: Vec<Vec<u8>>,
    /// The strictness flags.
    pub(crate) flags: MultipartFlags,
    /// The parsing error (REQBODY_ERROR_MSG without ModSecurity's "Multipart parsing error: ").
    pub(crate) error: Option<String>,
    /// Bytes of the body outside file contents (checked against SecRequestBodyNoFilesLimit).
    pub(crate) no_files_length: usize,
    /// Parsing stopped past `part_limit`: the parts after it were not inspected.
    pub(crate) parts_over_limit: bool,
}

/// Parses `body` with the boundary taken from the request's `content_type` header value.
pub(crate) fn parse(content_type: &[u8], body: &[u8], config: &MultipartConfig) -> Multipart {
    let mut parser = Parser::new(*config);
    if parser.init(content_type) {
        parser.process(body);
    }
    parser.complete();
    parser.out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartKind {
    FormData,
    File,
}

/// A part being built.
#[derive(Debug, Default)]
struct Part {
    kind: Option<PartKind>,
    name: Vec<u8>,
    filename: Vec<u8>,
    filename_star: Option<Vec<u8>>,
    value: Vec<u8>,
    size: usize,
    /// Headers, looked up case-insensitively, in arrival order.
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Completed raw header lines (for MULTIPART_PART_HEADERS).
    header_lines: Vec<Vec<u8>>,
    last_header_name: Vec<u8>,
    last_header_line: Vec<u8>,
}

impl Part {
    fn header_index(&self, name: &[u8]) -> Option<usize> {
        self.headers.iter().position(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    fn flush_header_line(&mut self) {
        if !self.last_header_line.is_empty() {
            self.header_lines.push(std::mem::take(&mut self.last_header_line));
        }
    }
}

struct Parser {
    config: MultipartConfig,
    out: Multipart,
    boundary: Vec<u8>,
    buf: Vec<u8>,
    buf_contains_line: bool,
    part: Option<Part>,
    /// false: reading part headers; true: reading part data.
    in_data: bool,
    part_data_read: bool,
    /// Line-break bytes held back from the previous data line (they may precede a boundary).
    reserve: Vec<u8>,
    boundary_count: usize,
    is_complete: bool,
    seen_data: bool,
    nfiles: usize,
    /// Parts completed (form fields and files).
    parts: usize,
    /// Parsing stopped at `part_limit`: the final checks have nothing to add.
    stopped_at_part_limit: bool,
    /// 0 other, 1 after CR, 2 after bare LF, 3 after CRLF.
    crlf_state: u8,
    crlf_state_buf_end: u8,
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// The bytes up to the first NUL, as C string functions see them.
fn c_str(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(n) => &bytes[..n],
        None => bytes,
    }
}

/// Strips trailing CR/LF unless the value is made only of them (ModSecurity's `chomp`).
fn chomp(value: &[u8]) -> &[u8] {
    match value.iter().rposition(|&b| b != b'\n' && b != b'\r') {
        Some(last) => &value[..=last],
        None => value,
    }
}

/// Counts `boundary` occurrences (any case) that have an `=` somewhere after them.
fn count_boundary_params(value: &[u8]) -> usize {
    let lower = value.to_ascii_lowercase();
    let mut count = 0;
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"boundary") {
        from += pos + 8;
        if lower[from..].contains(&b'=') {
            count += 1;
        }
    }
    count
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// RFC 2046 boundary characters; a space is allowed but not last.
fn boundary_characters_valid(boundary: &[u8]) -> bool {
    boundary.iter().enumerate().all(|(i, &c)| {
        c.is_ascii_alphanumeric() || (c == b' ' && i + 1 != boundary.len()) || b"'()+_,-./:=?".contains(&c)
    })
}

fn is_token_char(c: u8) -> bool {
    (33..127).contains(&c) && !b"()<>@,;:\\\"/[]?=".contains(&c)
}

impl Parser {
    fn new(config: MultipartConfig) -> Self {
        Parser {
            config,
            out: Multipart::default(),
            boundary: Vec::new(),
            buf: Vec::with_capacity(BUF_SIZE),
            buf_contains_line: true,
            part: None,
            in_data: false,
            part_data_read: false,
            reserve: Vec::new(),
            boundary_count: 0,
            is_complete: false,
            seen_data: false,
            nfiles: 0,
            parts: 0,
            stopped_at_part_limit: false,
            crlf_state: 0,
            crlf_state_buf_end: 0,
        }
    }

    fn fail(&mut self, message: impl Into<String>) -> bool {
        self.out.flags.error = true;
        self.out.error = Some(message.into());
        false
    }

    fn set_error(&mut self, message: impl Into<String>) {
        self.out.error = Some(message.into());
    }

    /// Reads the boundary from Content-Type; false when the body cannot be parsed.
    fn init(&mut self, header: &[u8]) -> bool {
        if header.is_empty() {
            return self.fail("Multipart: Content-Type header not available.");
        }
        if header.len() > 1024 {
            return self.fail("Multipart: Invalid boundary in C-T (length).");
        }
        if header.len() < 19 || !header[..19].eq_ignore_ascii_case(b"multipart/form-data") {
            return self.fail("Multipart: Invalid MIME type.");
        }
        if count_boundary_params(header) > 1 {
            return self.fail("Multipart: Multiple boundary parameters in C-T.");
        }
        let Some(at) = find(header, b"boundary") else {
            if count_boundary_params(header) > 0 {
                return self.fail("Multipart: Invalid boundary in C-T (case sensitivity).");
            }
            return self.fail("Multipart: Boundary not found in C-T.");
        };
        let mut seen_semicolon = false;
        for &c in header.get(19..at).unwrap_or_default() {
            if is_c_space(c) {
                continue;
            }
            if c == b';' && !seen_semicolon {
                seen_semicolon = true;
            } else {
                return self.fail("Multipart: Invalid boundary in C-T (malformed).");
            }
        }
        if !seen_semicolon {
            self.out.flags.missing_semicolon = true;
        }
        let after_name = at + 8;
        let Some(eq) = header[after_name..].iter().position(|&c| c == b'=') else {
            return self.fail("Multipart: Invalid boundary in C-T (malformed).");
        };
        for &c in &header[after_name..after_name + eq] {
            if is_c_space(c) {
                self.out.flags.boundary_whitespace = true;
            } else {
                return self.fail("Multipart: Invalid boundary in C-T (parameter name).");
            }
        }
        let value = &header[after_name + eq + 1..];
        if value.first().is_some_and(|&c| is_c_space(c)) {
            self.out.flags.boundary_whitespace = true;
        }
        let len = value.len();
        if len >= 2 && value[0] == b'"' && value[len - 1] == b'"' {
            self.boundary = value[1..len - 1].to_vec();
            if self.boundary.is_empty() {
                return false;
            }
            self.out.flags.boundary_quoted = true;
        } else {
            if value.first() == Some(&b'"') || (len >= 2 && value[len - 1] == b'"') {
                return self.fail("Multipart: Invalid boundary in C-T (quote).");
            }
            self.boundary = value.to_vec();
            if self.boundary.is_empty() {
                return false;
            }
        }
        if count_boundary_params(&self.boundary) != 0 {
            return self.fail("Multipart: Invalid boundary in C-T (content).");
        }
        // Some frameworks append "; charset=..." after the boundary; tolerated.
        if !boundary_characters_valid(&self.boundary) {
            if let Some(semi) = self.boundary.iter().position(|&c| c == b';') {
                self.boundary.truncate(semi);
            }
        }
        if !boundary_characters_valid(&self.boundary) {
            return self.fail("Multipart: Invalid boundary in C-T (characters).");
        }
        if self.boundary.is_empty() {
            return self.fail("Multipart: Invalid boundary in C-T (empty).");
        }
        true
    }

    /// Feeds the whole body; false when a hard error stopped parsing.
    fn process(&mut self, data: &[u8]) -> bool {
        if data.is_empty() {
            return true;
        }
        self.seen_data = true;
        let mut i = 0;
        while i < data.len() {
            let c = data[i];
            // Never end a buffer on a CR: flush first so CRLF stays together.
            let flush_before_cr = c == b'\r' && self.buf.len() == BUF_SIZE - 1;
            if !flush_before_cr {
                self.buf.push(c);
                i += 1;
            }
            if c == b'\n' || self.buf.len() == BUF_SIZE || flush_before_cr {
                if !self.process_buffer(flush_before_cr) {
                    return false;
                }
                self.buf.clear();
                self.buf_contains_line = c == b'\n';
                if c == b'\n' {
                    self.crlf_state = if self.crlf_state == 1 { 3 } else { 2 };
                }
                self.crlf_state_buf_end = self.crlf_state;
            }
            if c == b'\r' {
                self.crlf_state = 1;
            } else if c != b'\n' {
                self.crlf_state = 0;
            }
            if self.is_complete && i < data.len() {
                self.out.flags.data_after = true;
                return true;
            }
        }
        true
    }

    /// Handles one buffered line (or 4 KiB piece of a longer line).
    fn process_buffer(&mut self, flushed_early: bool) -> bool {
        let line = c_str(&self.buf).to_vec();
        let blen = self.boundary.len();
        let mut processed_as_boundary = false;
        if self.buf_contains_line && line.len() > 3 && line.starts_with(b"--") {
            if line.len() >= blen + 2 && line[2..2 + blen] == self.boundary[..] {
                if self.crlf_state_buf_end == 2 {
                    self.out.flags.lf_line = true;
                }
                if !self.part_data_read && self.boundary_count > 0 {
                    // The boundary sits where this part's data should begin.
                    self.out.flags.invalid_part = true;
                } else {
                    if self.boundary_count > 0 {
                        self.out.flags.unmatched_boundary = 2;
                    }
                    let mut rest = &line[2 + blen..];
                    let is_final = rest.starts_with(b"--");
                    if is_final {
                        if self.is_complete {
                            return self.fail("Multipart: Invalid boundary (final duplicate).");
                        }
                        rest = &rest[2..];
                    }
                    if rest == b"\r\n" || rest == b"\n" {
                        if rest == b"\n" {
                            self.out.flags.lf_line = true;
                        } else {
                            self.out.flags.crlf_line = true;
                        }
                        self.process_boundary(is_final);
                        if let Some(limit) = self.config.part_limit.filter(|&l| self.parts > l) {
                            self.stopped_at_part_limit = true;
                            self.out.parts_over_limit = true;
                            return self.fail(format!(
                                "Multipart: more than {limit} parts; the rest is not inspected."
                            ));
                        }
                        if is_final {
                            self.is_complete = true;
                        }
                        processed_as_boundary = true;
                        self.boundary_count += 1;
                    } else {
                        let shown = String::from_utf8_lossy(&line).into_owned();
                        return self.fail(format!("Multipart: Invalid boundary: {shown}"));
                    }
                }
            } else {
                if self.out.flags.boundary_quoted
                    && line.len() >= blen + 3
                    && line[2] == b'"'
                    && line[3..3 + blen] == self.boundary[..]
                {
                    return self.fail("Multipart: Invalid boundary (quotes).");
                }
                let spaces = line[2..].iter().take_while(|&&c| is_c_space(c)).count();
                if spaces > 0 && line[2 + spaces..].starts_with(&self.boundary) {
                    return self.fail("Multipart: Invalid boundary (whitespace).");
                }
                self.out.flags.unmatched_boundary = 1;
            }
        } else if self.buf_contains_line {
            let buf = &self.buf;
            let looks_like_boundary = (0..buf.len().saturating_sub(1))
                .any(|i| buf[i] == b'-' && buf[i + 1] == b'-' && buf[i + 2..].starts_with(&self.boundary));
            if looks_like_boundary {
                self.out.flags.unmatched_boundary = 1;
            }
        }

        if !processed_as_boundary {
            if self.part.is_none() {
                self.out.flags.data_before = true;
            } else if !self.in_data {
                if self.buf.len() == BUF_SIZE || flushed_early {
                    return self.fail(format!("Multipart: Part header line over {BUF_SIZE} bytes long"));
                }
                // ModSecurity records header errors but keeps parsing.
                self.process_part_header();
            } else {
                self.process_part_data();
            }
        }
        true
    }

    fn process_part_header(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        self.part_header_line(&buf);
        self.buf = buf;
    }

    fn part_header_line(&mut self, buf: &[u8]) {
        if buf.contains(&0) {
            self.set_error("Multipart: Nul byte in part headers.");
            return;
        }
        self.out.no_files_length += buf.len();
        let len = buf.len();
        let mut line_len = len.saturating_sub(1);
        if len > 1 && buf[len - 2] == b'\r' {
            self.out.flags.crlf_line = true;
            line_len -= 1;
        } else {
            self.out.flags.lf_line = true;
        }

        if buf == b"\r\n" || buf == b"\n" {
            self.end_of_part_headers();
            return;
        }
        let Some(part) = self.part.as_mut() else {
            return;
        };
        if is_c_space(buf[0]) {
            // Folded header: continues the previous one.
            self.out.flags.header_folding = true;
            let prefix = buf.iter().take_while(|&&c| is_c_space(c)).count();
            if buf[..prefix].iter().any(|&c| c != b'\t' && c != b' ') {
                self.out.flags.invalid_header_folding = true;
            }
            if part.last_header_name.is_empty() {
                self.set_error("Multipart: Invalid part header (folding error).");
                return;
            }
            let addition = chomp(&buf[prefix..]);
            let Some(index) = part.header_index(&part.last_header_name) else {
                return;
            };
            let mut value = part.headers[index].1.clone();
            value.push(b' ');
            value.extend_from_slice(addition);
            if value.len() > BUF_SIZE {
                self.set_error("Multipart: Part header too long.");
                return;
            }
            let mut line = part.last_header_name.clone();
            line.extend_from_slice(b": ");
            line.extend_from_slice(&value);
            part.headers[index].1 = value;
            part.last_header_line = line;
            return;
        }

        part.flush_header_line();
        let Some(colon) = buf.iter().position(|&c| c == b':') else {
            let shown = String::from_utf8_lossy(buf).into_owned();
            self.set_error(format!("Multipart: Invalid part header (colon missing): {shown}"));
            return;
        };
        if colon == 0 {
            self.set_error("Multipart: Invalid part header (header name missing).");
            return;
        }
        let name = &buf[..colon];
        if name.iter().any(|&c| !(33..=126).contains(&c)) {
            self.set_error("Multipart: Invalid part header (contains invalid character).");
            return;
        }
        let value_start = colon
            + 1
            + buf[colon + 1..]
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
        let value = chomp(&buf[value_start..]).to_vec();
        if part.header_index(name).is_some() {
            // ModSecurity ignores a duplicate part header without reporting an error.
            return;
        }
        part.last_header_name = name.to_vec();
        part.headers.push((name.to_vec(), value));
        part.last_header_line = buf[..line_len].to_vec();
    }

    fn end_of_part_headers(&mut self) {
        let Some(part) = self.part.as_mut() else {
            return;
        };
        part.flush_header_line();
        let Some(index) = part.header_index(b"Content-Disposition") else {
            self.set_error("Multipart: Part missing Content-Disposition header.");
            return;
        };
        let disposition = part.headers[index].1.clone();
        if let Err(code) = self.parse_content_disposition(&disposition) {
            let shown = String::from_utf8_lossy(&disposition).into_owned();
            self.set_error(format!(
                "Multipart: Invalid Content-Disposition header ({code}): {shown}"
            ));
            return;
        }
        let Some(part) = self.part.as_mut() else {
            return;
        };
        if part.name.is_empty() {
            self.set_error("Multipart: Content-Disposition header missing name field.");
            return;
        }
        if !part.filename.is_empty() {
            // Catch parsers that found a filename where crude ones would not.
            if find(&disposition, b"filename=").is_none() {
                self.set_error("Multipart: Invalid Content-Disposition header (filename).");
                return;
            }
            part.kind = Some(PartKind::File);
        } else {
            part.kind = Some(PartKind::FormData);
        }
        part.last_header_name.clear();
        self.in_data = true;
        self.part_data_read = false;
    }

    /// Parses a Content-Disposition value; the error is ModSecurity's negative code.
    fn parse_content_disposition(&mut self, value: &[u8]) -> Result<(), i32> {
        const MIME_CHARSET_SPECIAL: &[u8] = b"!#$%&+-^_`{}~";
        const ATTR_CHAR_SPECIAL: &[u8] = b"!#$&+-.^_`~";
        let at = |p: usize| value.get(p).copied().unwrap_or(0);
        let skip_ws = |mut p: usize| {
            while at(p) == b' ' || at(p) == b'\t' {
                p += 1;
            }
            p
        };
        if !value.starts_with(b"form-data") {
            return Err(-1);
        }
        let mut p = skip_ws(9);
        if at(p) == 0 {
            return Ok(());
        }
        if at(p) != b';' {
            return Err(-2);
        }
        p += 1;
        let mut filename_star: Vec<u8> = Vec::new();
        // `charset'lang'` of filename*.
        let mut star_charset: Vec<u8> = Vec::new();
        while at(p) != 0 {
            p = skip_ws(p);
            if at(p) == 0 {
                return Err(-3);
            }
            let start = p;
            while !matches!(at(p), 0 | b'=' | b'\t' | b' ') {
                p += 1;
            }
            if at(p) == 0 {
                return Err(-4);
            }
            let name = value[start..p].to_vec();
            p = skip_ws(p);
            if at(p) == 0 {
                return Err(-5);
            }
            if at(p) != b'=' {
                return Err(-13);
            }
            p = skip_ws(p + 1);
            if at(p) == 0 {
                return Err(-6);
            }
            let mut quote = 0u8;
            let mut val = Vec::new();
            if name == b"filename*" {
                // filename*=charset'[language]'filename
                let charset_start = p;
                let ext_start = p;
                while at(p) != 0 && (at(p).is_ascii_alphanumeric() || MIME_CHARSET_SPECIAL.contains(&at(p))) {
                    p += 1;
                }
                if at(p) != b'\'' || p == charset_start {
                    return Err(-16);
                }
                p += 1;
                while at(p) != 0 && at(p) != b'\'' {
                    p += 1;
                }
                if at(p) != b'\'' {
                    return Err(-17);
                }
                p += 1;
                let name_start = p;
                while at(p) != 0 && at(p) != b';' {
                    if at(p) == b'%' {
                        if !at(p + 1).is_ascii_hexdigit() || !at(p + 2).is_ascii_hexdigit() {
                            return Err(-18);
                        }
                        p += 3;
                    } else if at(p).is_ascii_alphanumeric() || ATTR_CHAR_SPECIAL.contains(&at(p)) {
                        p += 1;
                    } else {
                        return Err(-19);
                    }
                }
                star_charset = value[ext_start..name_start].to_vec();
                val.extend_from_slice(&value[name_start..p]);
            } else if at(p) == b'"' || at(p) == b'\'' {
                // Single quotes are accepted (some back ends do) but flagged.
                quote = at(p);
                if quote == b'\'' {
                    self.out.flags.invalid_quoting = true;
                }
                p += 1;
                if at(p) == 0 {
                    return Err(-7);
                }
                while at(p) != 0 {
                    if at(p) == b'\\' {
                        if at(p + 1) == 0 {
                            return Err(-8);
                        }
                        // Only the quote and the backslash can be escaped; IE sends
                        // other backslashes unescaped, so they are kept as they are.
                        if at(p + 1) == quote || at(p + 1) == b'\\' {
                            p += 1;
                        }
                    } else if at(p) == quote {
                        break;
                    }
                    val.push(at(p));
                    p += 1;
                }
                // Past the closing quote (or the end, when it is missing).
                p = (p + 1).min(value.len());
            } else {
                let start = p;
                while at(p) != 0 && is_token_char(at(p)) {
                    p += 1;
                }
                val.extend_from_slice(&value[start..p]);
            }

            let part = self.part.as_mut().ok_or(-99)?;
            match name.as_slice() {
                b"name" => {
                    if quote != b'"' && val.contains(&b'\'') {
                        self.out.flags.invalid_quoting = true;
                    }
                    self.out.names.push(val.clone());
                    if !part.name.is_empty() {
                        return Err(-14);
                    }
                    part.name = val;
                }
                b"filename" => {
                    if quote != b'"' && val.contains(&b'\'') {
                        self.out.flags.invalid_quoting = true;
                    }
                    self.out.filenames.push(val.clone());
                    if !part.filename.is_empty() {
                        return Err(-15);
                    }
                    part.filename = val;
                }
                b"filename*" => {
                    if !filename_star.is_empty() {
                        return Err(-20);
                    }
                    filename_star = val;
                }
                _ => return Err(-11),
            }

            if at(p) != 0 {
                p = skip_ws(p);
                if at(p) != 0 {
                    if at(p) != b';' {
                        if p > 0 && (at(p - 1) == b'\'' || at(p - 1) == b'"') {
                            self.out.flags.invalid_quoting = true;
                        }
                        return Err(-12);
                    }
                    p += 1;
                }
            }
        }
        let has_filename = self.part.as_ref().is_some_and(|part| !part.filename.is_empty());
        if !filename_star.is_empty() && !has_filename {
            return Err(-21);
        }
        if !filename_star.is_empty() {
            let decoded = decode_ext_value(&star_charset, &filename_star);
            self.out.filenames.push(decoded.clone());
            if let Some(part) = self.part.as_mut() {
                part.filename_star = Some(decoded);
            }
        }
        Ok(())
    }

    fn process_part_data(&mut self) {
        self.part_data_read = true;
        let mut data = std::mem::take(&mut self.buf);
        // Hold back the line break: it belongs to the boundary if one follows.
        let held = if data.ends_with(b"\r\n") {
            2
        } else if data.ends_with(b"\n") {
            1
        } else {
            0
        };
        let new_reserve = data.split_off(data.len() - held);
        let previous_reserve = std::mem::replace(&mut self.reserve, new_reserve);
        let Some(part) = self.part.as_mut() else {
            self.buf = data;
            return;
        };
        match part.kind {
            Some(PartKind::File) => {
                if part.size == 0 && part.value.is_empty() {
                    if let Some(limit) = self.config.file_limit {
                        if self.nfiles >= limit && !self.out.flags.file_limit_exceeded {
                            self.out.flags.file_limit_exceeded = true;
                            self.out.error = Some(format!(
                                "Multipart: Upload file limit exceeded {limit}. \
                                 Use SecUploadFileLimit to change the limit."
                            ));
                        }
                    }
                    self.nfiles += 1;
                }
                part.size += previous_reserve.len() + data.len();
                part.value.extend_from_slice(&previous_reserve);
                part.value.extend_from_slice(&data);
            }
            _ => {
                self.out.no_files_length += previous_reserve.len() + data.len();
                part.value.extend_from_slice(&previous_reserve);
                part.value.extend_from_slice(&data);
            }
        }
        data.clear();
        self.buf = data;
    }

    fn process_boundary(&mut self, last: bool) {
        if let Some(part) = self.part.take() {
            self.parts += 1;
            for line in &part.header_lines {
                self.out.part_headers.push((part.name.clone(), line.clone()));
            }
            if part.name.is_empty() {
                self.out.flags.invalid_part = true;
            } else if part.kind == Some(PartKind::File) {
                let content_type = part.header_index(b"Content-Type").map(|i| part.headers[i].1.clone());
                self.out.files.push(FilePart {
                    name: part.name,
                    filename: part.filename,
                    filename_star: part.filename_star,
                    size: part.size,
                    content_type,
                    content: part.value,
                    headers: part.headers,
                });
            } else {
                self.out.args.push((part.name, part.value));
            }
        }
        if !last {
            self.part = Some(Part::default());
            self.in_data = false;
            self.part_data_read = false;
            self.reserve.clear();
        }
    }

    /// Final checks once the whole body was seen.
    fn complete(&mut self) {
        if !self.seen_data || self.is_complete || self.stopped_at_part_limit {
            return;
        }
        if self.boundary_count == 0 {
            self.set_error("Multipart: No boundaries found in payload.");
            return;
        }
        // The final boundary may be the last line without a line break.
        let blen = self.boundary.len();
        let buf = &self.buf;
        if self.buf_contains_line
            && buf.len() == 4 + blen
            && buf.starts_with(b"--")
            && buf[2..2 + blen] == self.boundary[..]
            && buf.ends_with(b"--")
        {
            if self.crlf_state_buf_end == 2 {
                self.out.flags.lf_line = true;
            }
            if !self.part_data_read {
                self.out.flags.invalid_part = true;
            }
            self.process_boundary(true);
            self.is_complete = true;
        }
        if !self.is_complete {
            self.set_error("Multipart: Final boundary missing.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &[u8] = b"multipart/form-data; boundary=XyZ";

    fn run(ct: &[u8], body: &str) -> Multipart {
        parse(ct, body.as_bytes(), &MultipartConfig::default())
    }

    /// Runs init and the line parser without the final checks, to see one error message.
    fn process_only(ct: &[u8], body: &str) -> Multipart {
        let mut parser = Parser::new(MultipartConfig::default());
        assert!(parser.init(ct));
        parser.process(body.as_bytes());
        parser.out
    }

    fn crlf(body: &str) -> String {
        body.replace('\n', "\r\n")
    }

    fn field(name: &str, value: &str) -> String {
        format!("--XyZ\nContent-Disposition: form-data; name=\"{name}\"\n\n{value}\n")
    }

    #[test]
    fn parses_fields_and_files() {
        let body = crlf(&format!(
            "{}--XyZ\nContent-Disposition: form-data; name=\"up\"; filename=\"a.php\"\n\
             Content-Type: text/plain\n\n<?php x\nline2\n--XyZ--\n",
            field("a", "1")
        ));
        let m = run(CT, &body);
        assert_eq!(m.error, None);
        assert!(!m.flags.strict_error(), "{:?}", m.flags);
        assert_eq!(m.args, [(b"a".to_vec(), b"1".to_vec())]);
        assert_eq!(m.files.len(), 1);
        let f = &m.files[0];
        assert_eq!(f.name, b"up");
        assert_eq!(f.filename, b"a.php");
        assert_eq!(f.content, b"<?php x\r\nline2");
        assert_eq!(f.size, 14);
        assert_eq!(f.content_type.as_deref(), Some(&b"text/plain"[..]));
        assert_eq!(m.names, [b"a".to_vec(), b"up".to_vec()]);
        assert_eq!(m.filenames, [b"a.php".to_vec()]);
        assert!(m
            .part_headers
            .contains(&(b"up".to_vec(), b"Content-Type: text/plain".to_vec())));
        assert!(m
            .part_headers
            .contains(&(b"a".to_vec(), b"Content-Disposition: form-data; name=\"a\"".to_vec())));
    }

    #[test]
    fn multi_line_values_keep_line_breaks() {
        let m = run(CT, &crlf(&format!("{}--XyZ--\n", field("a", "x\ny"))));
        assert_eq!(m.args[0].1, b"x\r\ny");
    }

    #[test]
    fn lf_lines_are_flagged() {
        let m = run(CT, &format!("{}--XyZ--\n", field("a", "1")));
        assert!(m.flags.lf_line);
        assert!(!m.flags.crlf_lf_lines());
        assert!(m.flags.strict_error());
        assert_eq!(m.args, [(b"a".to_vec(), b"1".to_vec())]);
    }

    #[test]
    fn mixed_line_endings_are_flagged() {
        let body = format!("{}{}--XyZ--\r\n", crlf(&field("a", "1")), field("b", "2"));
        let m = run(CT, &body);
        assert!(m.flags.crlf_lf_lines());
    }

    #[test]
    fn quoted_boundary() {
        let ct = b"multipart/form-data; boundary=\"XyZ\"";
        let m = run(ct, &crlf(&format!("{}--XyZ--\n", field("a", "1"))));
        assert!(m.flags.boundary_quoted);
        assert!(m.flags.strict_error());
        assert_eq!(m.error, None);
    }

    #[test]
    fn quotes_used_on_boundary_line_are_an_error() {
        let ct = b"multipart/form-data; boundary=\"XyZ\"";
        let m = process_only(ct, "--\"XyZ\"\r\n");
        assert_eq!(m.error.as_deref(), Some("Multipart: Invalid boundary (quotes)."));
        assert!(m.flags.error);
    }

    #[test]
    fn boundary_whitespace_and_missing_semicolon() {
        let m = run(
            b"multipart/form-data boundary = XyZ",
            &crlf(&format!("{}--XyZ--\n", field("a", "1"))),
        );
        assert!(m.flags.missing_semicolon);
        assert!(m.flags.boundary_whitespace);
        assert!(m.flags.strict_error());
    }

    #[test]
    fn content_type_errors() {
        let body = crlf(&format!("{}--XyZ--\n", field("a", "1")));
        let cases: [(&[u8], &str); 7] = [
            (b"", "Multipart: Content-Type header not available."),
            (b"text/plain; boundary=XyZ", "Multipart: Invalid MIME type."),
            (b"multipart/form-data", "Multipart: Boundary not found in C-T."),
            (
                b"multipart/form-data; BOUNDARY=XyZ",
                "Multipart: Invalid boundary in C-T (case sensitivity).",
            ),
            (
                b"multipart/form-data; boundary=a; boundary=b",
                "Multipart: Multiple boundary parameters in C-T.",
            ),
            (
                b"multipart/form-data; boundary=\"XyZ",
                "Multipart: Invalid boundary in C-T (quote).",
            ),
            (
                b"multipart/form-data; boundary=a{b",
                "Multipart: Invalid boundary in C-T (characters).",
            ),
        ];
        for (ct, message) in cases {
            let m = run(ct, &body);
            assert!(m.args.is_empty(), "{ct:?}");
            assert_eq!(m.error.as_deref(), Some(message), "{:?}", String::from_utf8_lossy(ct));
            assert!(m.flags.error);
        }
    }

    #[test]
    fn charset_after_boundary_is_tolerated() {
        let ct = b"multipart/form-data; boundary=XyZ; charset=utf-8";
        let m = run(ct, &crlf(&format!("{}--XyZ--\n", field("a", "1"))));
        assert_eq!(m.error, None);
        assert_eq!(m.args.len(), 1);
    }

    #[test]
    fn data_before_and_after() {
        let body = crlf(&format!("preamble\n{}--XyZ--\nepilogue", field("a", "1")));
        let m = run(CT, &body);
        assert!(m.flags.data_before);
        assert!(m.flags.data_after);
        assert!(m.flags.strict_error());
        assert_eq!(m.error, None);
    }

    #[test]
    fn header_folding_and_invalid_folding() {
        let body = crlf("--XyZ\nContent-Disposition: form-data;\n name=\"a\"\n\n1\n--XyZ--\n");
        let m = run(CT, &body);
        assert!(m.flags.header_folding);
        assert!(!m.flags.invalid_header_folding);
        assert_eq!(m.args, [(b"a".to_vec(), b"1".to_vec())]);

        let body = "--XyZ\r\nContent-Disposition: form-data;\r\n\x0bname=\"a\"\r\n\r\n1\r\n--XyZ--\r\n";
        let m = run(CT, body);
        assert!(m.flags.invalid_header_folding);
    }

    #[test]
    fn folding_without_previous_header_is_an_error() {
        let m = process_only(CT, "--XyZ\r\n folded\r\n");
        assert_eq!(
            m.error.as_deref(),
            Some("Multipart: Invalid part header (folding error).")
        );
        assert!(m.flags.header_folding);
    }

    #[test]
    fn single_quotes_are_invalid_quoting() {
        let body = crlf("--XyZ\nContent-Disposition: form-data; name='a'\n\n1\n--XyZ--\n");
        let m = run(CT, &body);
        assert!(m.flags.invalid_quoting);
        assert_eq!(m.args, [(b"a".to_vec(), b"1".to_vec())]);
        // An unquoted name with a single quote is also flagged.
        let body = crlf("--XyZ\nContent-Disposition: form-data; name=a'b\n\n1\n--XyZ--\n");
        assert!(run(CT, &body).flags.invalid_quoting);
    }

    #[test]
    fn part_without_name_is_invalid_part() {
        let body = crlf("--XyZ\nContent-Disposition: form-data\n\n1\n--XyZ--\n");
        let m = run(CT, &body);
        assert!(m.flags.invalid_part);
        assert!(m.args.is_empty());
        let m = process_only(CT, &crlf("--XyZ\nContent-Disposition: form-data\n\n"));
        assert_eq!(
            m.error.as_deref(),
            Some("Multipart: Content-Disposition header missing name field.")
        );
    }

    #[test]
    fn boundary_where_data_should_start_is_invalid_part() {
        let body = crlf("--XyZ\nContent-Disposition: form-data; name=a\n\n--XyZ--\n");
        let m = run(CT, &body);
        assert!(m.flags.invalid_part);
    }

    #[test]
    fn unmatched_boundary() {
        // A boundary look-alike inside a value.
        let m = run(CT, &crlf(&field("a", "x --XyZ y")));
        assert_eq!(m.flags.unmatched_boundary, 1);
        // A line that starts like a boundary but is another one.
        let m = run(CT, &crlf(&format!("{}--Other\n", field("a", "1"))));
        assert_eq!(m.flags.unmatched_boundary, 1);
        // ModSecurity v3 sets 2 for every real boundary after the first one.
        let body = crlf(&format!("{}{}--XyZ--\n", field("a", "1"), field("b", "2")));
        assert_eq!(run(CT, &body).flags.unmatched_boundary, 2);
    }

    #[test]
    fn final_boundary_without_line_break() {
        let body = crlf(&field("a", "1")) + "--XyZ--";
        let m = run(CT, &body);
        assert_eq!(m.error, None);
        assert_eq!(m.args, [(b"a".to_vec(), b"1".to_vec())]);
    }

    #[test]
    fn missing_final_boundary_and_no_boundary() {
        let m = run(CT, &crlf(&field("a", "1")));
        assert_eq!(m.error.as_deref(), Some("Multipart: Final boundary missing."));
        assert_eq!(m.args.len(), 0);
        let m = run(CT, "just text\r\n");
        assert_eq!(m.error.as_deref(), Some("Multipart: No boundaries found in payload."));
        assert!(m.flags.data_before);
    }

    #[test]
    fn invalid_boundary_suffix_is_an_error() {
        let m = run(CT, &crlf(&format!("{}--XyZ-- x\n", field("a", "1"))));
        assert!(m.flags.error);
        assert_eq!(m.error.as_deref(), Some("Multipart: Final boundary missing."));
    }

    #[test]
    fn whitespace_before_boundary_is_an_error() {
        let m = run(
            CT,
            &crlf("-- XyZ\nContent-Disposition: form-data; name=a\n\n1\n--XyZ--\n"),
        );
        assert!(m.flags.error);
    }

    #[test]
    fn part_header_errors() {
        let cases = [
            (
                "--XyZ\nX-A: 1\n\n",
                "Multipart: Part missing Content-Disposition header.",
            ),
            (
                "--XyZ\nno colon here\n",
                "Multipart: Invalid part header (colon missing): no colon here\r\n",
            ),
            ("--XyZ\n: v\n", "Multipart: Invalid part header (header name missing)."),
            (
                "--XyZ\nBad Name: v\n",
                "Multipart: Invalid part header (contains invalid character).",
            ),
            (
                "--XyZ\nContent-Disposition: attachment; name=a\n\n",
                "Multipart: Invalid Content-Disposition header (-1): attachment; name=a",
            ),
            (
                "--XyZ\nContent-Disposition: form-data; name=a; foo=b\n\n",
                "Multipart: Invalid Content-Disposition header (-11): form-data; name=a; foo=b",
            ),
            (
                "--XyZ\nContent-Disposition: form-data; name=a; name=b\n\n",
                "Multipart: Invalid Content-Disposition header (-14): form-data; name=a; name=b",
            ),
            (
                "--XyZ\nContent-Disposition: form-data name=a\n\n",
                "Multipart: Invalid Content-Disposition header (-2): form-data name=a",
            ),
        ];
        for (body, message) in cases {
            let m = process_only(CT, &crlf(body));
            assert_eq!(m.error.as_deref(), Some(message), "{body:?}");
        }
        // The whole body then fails as ModSecurity reports it: the last error wins.
        let m = run(CT, &crlf("--XyZ\nX-A: 1\n\n1\n--XyZ--\n"));
        assert!(m.error.is_some());
        assert!(m.args.is_empty());
    }

    #[test]
    fn nul_byte_in_part_headers() {
        let m = process_only(CT, "--XyZ\r\nContent-Disposition: form-data; name=\"a\0\"\r\n");
        assert_eq!(m.error.as_deref(), Some("Multipart: Nul byte in part headers."));
    }

    #[test]
    fn filename_star_rules() {
        let ok = "--XyZ\nContent-Disposition: form-data; name=f; filename=\"a.txt\"; \
                  filename*=UTF-8''a%20b.txt\n\nx\n--XyZ--\n";
        let m = run(CT, &crlf(ok));
        assert_eq!(m.error, None);
        assert_eq!(m.files[0].filename, b"a.txt");
        assert_eq!(m.files[0].filename_star.as_deref(), Some(&b"a b.txt"[..]));
        assert_eq!(m.filenames, [&b"a.txt"[..], b"a b.txt"]);
        let latin1 = "--XyZ\nContent-Disposition: form-data; name=f; filename=\"a\"; \
                      filename*=iso-8859-1'fr'caf%E9%3Cscript%3E.php\n\nx\n--XyZ--\n";
        let m = run(CT, &crlf(latin1));
        assert_eq!(m.files[0].filename_star.as_deref(), Some("café<script>.php".as_bytes()));
        let only_star = "--XyZ\nContent-Disposition: form-data; name=f; filename*=UTF-8''a.txt\n\n";
        let m = process_only(CT, &crlf(only_star));
        assert!(m.error.unwrap().contains("(-21)"));
        let bad_pct = "--XyZ\nContent-Disposition: form-data; name=f; filename=\"a\"; filename*=UTF-8''a%zz\n\n";
        assert!(process_only(CT, &crlf(bad_pct)).error.unwrap().contains("(-18)"));
    }

    #[test]
    fn file_text_is_kept_for_text_files_only() {
        let file = |content: &[u8]| FilePart {
            content: content.to_vec(),
            ..FilePart::default()
        };
        assert_eq!(
            file(b"<?php system($_GET['c']); ?>").text(64),
            Some(&b"<?php system($_GET['c']); ?>"[..])
        );
        assert_eq!(file(b"\x89PNG\r\n\x1a\n").text(64), None, "binary");
        assert_eq!(file(b"a\0b").text(64), None, "NUL");
        // A character cut by the limit is dropped; a broken one before it is binary.
        assert_eq!(file("abé".as_bytes()).text(3), Some(&b"ab"[..]));
        assert_eq!(file(b"ab\xc3").text(64), None);
        assert_eq!(file(b"abcdef").text(4), Some(&b"abcd"[..]));
    }

    #[test]
    fn stray_quote_after_value_is_invalid_quoting() {
        let m = process_only(CT, &crlf("--XyZ\nContent-Disposition: form-data; name=\"a\"\" x\n\n"));
        assert!(m.flags.invalid_quoting);
        assert!(m.error.unwrap().contains("(-12)"));
    }

    #[test]
    fn file_limit_exceeded() {
        let file =
            |n: &str| format!("--XyZ\nContent-Disposition: form-data; name=\"{n}\"; filename=\"{n}.txt\"\n\ndata\n");
        let body = crlf(&format!("{}{}--XyZ--\n", file("a"), file("b")));
        let config = MultipartConfig {
            file_limit: Some(1),
            ..MultipartConfig::default()
        };
        let m = parse(CT, body.as_bytes(), &config);
        assert!(m.flags.file_limit_exceeded);
        assert!(m.flags.strict_error());
        assert_eq!(m.files.len(), 2);
        assert!(m.error.unwrap().starts_with("Multipart: Upload file limit exceeded 1."));
        assert!(!run(CT, &body).flags.file_limit_exceeded);
    }

    #[test]
    fn parsing_stops_past_the_part_limit() {
        let fields: String = (0..5).map(|i| field(&format!("f{i}"), "v")).collect();
        let body = crlf(&format!("{fields}--XyZ--\n"));
        let config = |n| MultipartConfig {
            part_limit: Some(n),
            ..MultipartConfig::default()
        };
        let m = parse(CT, body.as_bytes(), &config(3));
        assert!(m.flags.error);
        assert_eq!(
            m.error.as_deref(),
            Some("Multipart: more than 3 parts; the rest is not inspected.")
        );
        // One part past the limit is kept, so that the request is told from one at it.
        assert_eq!((m.args.len(), m.parts_over_limit), (4, true));
        // At the limit, and without one, the body parses whole.
        for config in [config(5), MultipartConfig::default()] {
            let m = parse(CT, body.as_bytes(), &config);
            assert_eq!((m.error, m.args.len(), m.parts_over_limit), (None, 5, false));
        }
    }

    #[test]
    fn long_header_line_is_an_error() {
        let long = "x".repeat(5000);
        let body = crlf(&format!("--XyZ\nX-Long: {long}\n"));
        let m = run(CT, &body);
        assert!(m.flags.error);
        assert_eq!(m.error.as_deref(), Some("Multipart: Final boundary missing."));
    }

    #[test]
    fn long_data_lines_are_kept_whole() {
        let long = "y".repeat(10_000);
        let m = run(CT, &crlf(&format!("{}--XyZ--\n", field("a", &long))));
        assert_eq!(m.error, None);
        assert_eq!(m.args[0].1.len(), 10_000);
    }

    #[test]
    fn duplicate_part_header_is_ignored() {
        let body = crlf(
            "--XyZ\nContent-Disposition: form-data; name=a\nContent-Disposition: form-data; name=b\n\n1\n--XyZ--\n",
        );
        let m = run(CT, &body);
        assert_eq!(m.error, None);
        assert_eq!(m.args, [(b"a".to_vec(), b"1".to_vec())]);
    }

    #[test]
    fn no_files_length_counts_headers_and_field_data() {
        let header = "Content-Disposition: form-data; name=a\r\n";
        let body = format!("--XyZ\r\n{header}\r\nvalue\r\n--XyZ--\r\n");
        let m = run(CT, &body);
        assert_eq!(m.no_files_length, header.len() + 2 + 5);
    }

    #[test]
    fn empty_body_is_not_an_error() {
        let m = run(CT, "");
        assert_eq!(m.error, None);
        assert!(m.args.is_empty());
    }
}
