//! The bytes go-ftw puts on the wire for a stage input (`ftwhttp.BuildRequest`): the request
//! line as written, headers in order, and with `autocomplete_headers` the form encoding of
//! `data`, `Content-Type`, `Connection: close` and `Content-Length`.

use crate::format::Input;
use base64::Engine as _;
use thiserror::Error;

/// An input that cannot be turned into a request.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// `encoded_request` is not valid base64.
    #[error("encoded_request is not valid base64: {0}")]
    Base64(String),
    /// Both `data` and `encoded_request` are set (go-ftw refuses this too).
    #[error("'data' and 'encoded_request' must not be set simultaneously")]
    DataAndEncoded,
}

/// Builds the raw request go-ftw would send for `input`.
pub fn request_bytes(input: &Input) -> Result<Vec<u8>, WireError> {
    let expanded = input.data.as_deref().map(expand_template);
    let data = match &expanded {
        None => "",
        Some(Ok(text)) => text.as_str(),
        // go-ftw logs a template error and sends no body.
        Some(Err(_)) => "",
    };
    if let Some(encoded) = input.encoded_request.as_deref().filter(|e| !e.is_empty()) {
        if !data.is_empty() {
            return Err(WireError::DataAndEncoded);
        }
        return decode_encoded_request(encoded);
    }
    let method = input.method.as_deref().unwrap_or("GET");
    let uri = input.uri.as_deref().unwrap_or("/");
    let version = input.version.as_deref().unwrap_or("HTTP/1.1");
    let mut headers = input.header_list();
    let mut body = data.as_bytes().to_vec();
    let autocomplete = input.autocomplete();

    if !body.is_empty() && autocomplete {
        if !has_header(&headers, "Content-Type") {
            headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
        }
        let form = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("Content-Type") && v.eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
        if form {
            body = encode_form_data(&body);
        }
    }
    let multipart = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("Content-Type") && v.to_ascii_lowercase().contains("multipart/form-data;")
    });
    if multipart {
        // go-ftw turns every LF of a multipart body into CRLF (YAML bodies are LF-only).
        let mut crlf = Vec::with_capacity(body.len() + body.len() / 16);
        for &b in &body {
            if b == b'\n' {
                crlf.push(b'\r');
            }
            crlf.push(b);
        }
        body = crlf;
    }
    if autocomplete {
        if !has_header(&headers, "Connection") {
            headers.push(("Connection".into(), "close".into()));
        }
        if !has_header(&headers, "Content-Length") && (!body.is_empty() || method_implies_body(method)) {
            headers.push(("Content-Length".into(), body.len().to_string()));
        }
    }

    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(format!("{method} {uri} {version}\r\n").as_bytes());
    for (name, value) in &headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
    Ok(out)
}

/// Evaluates the Go template actions go-ftw allows in `data` (with sprig functions).
///
/// Supported: literal text, string and integer literals, pipelines, `repeat COUNT STRING`
/// (the only function CRS's tests use) and comments; anything else is an error, which makes
/// go-ftw send no body.
pub fn expand_template(data: &str) -> Result<String, String> {
    if !data.contains("{{") {
        return Ok(data.to_string());
    }
    let mut out = String::with_capacity(data.len());
    let mut rest = data;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("unclosed action")?;
        let mut action = &after[..end];
        rest = &after[end + 2..];
        if let Some(a) = action.strip_prefix('-') {
            text = text.trim_end();
            action = a;
        }
        out.push_str(text);
        if let Some(a) = action.strip_suffix('-') {
            rest = rest.trim_start();
            action = a;
        }
        let action = action.trim();
        if action.starts_with("/*") && action.ends_with("*/") {
            continue;
        }
        out.push_str(&eval_pipeline(action)?);
    }
    out.push_str(rest);
    Ok(out)
}

/// One template value: a string or an integer.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Int(i64),
}

fn eval_pipeline(action: &str) -> Result<String, String> {
    let mut piped: Option<Value> = None;
    for command in split_pipeline(action)? {
        let mut args = tokenize(&command)?;
        if let Some(v) = piped.take() {
            args.push(Token::Value(v));
        }
        piped = Some(eval_command(args)?);
    }
    match piped {
        Some(Value::Text(s)) => Ok(s),
        Some(Value::Int(n)) => Ok(n.to_string()),
        None => Err("empty action".into()),
    }
}

/// Splits on `|` outside quotes.
fn split_pipeline(action: &str) -> Result<Vec<String>, String> {
    let mut parts: Vec<String> = vec![String::new()];
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in action.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
            None if c == '|' => parts.push(String::new()),
            None => {
                if c == '"' || c == '`' {
                    quote = Some(c);
                }
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated string".into());
    }
    Ok(parts)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Value(Value),
}

fn tokenize(command: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = command.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next().ok_or("unterminated string")? {
                    '"' => break,
                    '\\' => match chars.next().ok_or("bad escape")? {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        other => s.push(other),
                    },
                    other => s.push(other),
                }
            }
            tokens.push(Token::Value(Value::Text(s)));
        } else if c == '`' {
            chars.next();
            let s: String = chars.by_ref().take_while(|&c| c != '`').collect();
            tokens.push(Token::Value(Value::Text(s)));
        } else {
            let word: String = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect();
            match word.parse::<i64>() {
                Ok(n) => tokens.push(Token::Value(Value::Int(n))),
                Err(_) => tokens.push(Token::Ident(word)),
            }
        }
    }
    Ok(tokens)
}

/// Most bytes `repeat` may produce, so a hostile test cannot exhaust memory.
const MAX_REPEAT_BYTES: usize = 16 << 20;

fn eval_command(tokens: Vec<Token>) -> Result<Value, String> {
    let mut it = tokens.into_iter();
    match it.next() {
        Some(Token::Value(v)) if it.len() == 0 => Ok(v),
        Some(Token::Ident(name)) if name == "repeat" => {
            let args: Vec<Token> = it.collect();
            match args.as_slice() {
                [Token::Value(Value::Int(n)), Token::Value(Value::Text(s))] => {
                    let count = usize::try_from(*n).unwrap_or(0);
                    if count.saturating_mul(s.len()) > MAX_REPEAT_BYTES {
                        return Err("repeat result too large".into());
                    }
                    Ok(Value::Text(s.repeat(count)))
                }
                _ => Err("repeat needs COUNT STRING".into()),
            }
        }
        Some(Token::Ident(name)) => Err(format!("unsupported template function {name:?}")),
        _ => Err("bad template command".into()),
    }
}

/// Decodes `encoded_request`; line breaks inside the base64 are ignored, as Go's decoder does.
pub fn decode_encoded_request(encoded: &str) -> Result<Vec<u8>, WireError> {
    let compact: String = encoded.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| WireError::Base64(e.to_string()))
}

fn has_header(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// go-ftw's `^POST|PUT|PATCH|DELETE$` (the anchors bind to the first and last word only).
fn method_implies_body(method: &str) -> bool {
    method.starts_with("POST") || method.contains("PUT") || method.contains("PATCH") || method.ends_with("DELETE")
}

/// go-ftw's `encodeDataParameters` for form bodies: data that would not change under URL
/// unescaping (no `%`, no `+`) gets each name and value query-escaped; other data is sent
/// as written.
pub fn encode_form_data(data: &[u8]) -> Vec<u8> {
    if data.is_empty() || data.contains(&b'%') || data.contains(&b'+') {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len() * 2);
    let mut remaining = data;
    while !remaining.is_empty() {
        let (token, rest) = match remaining.iter().position(|&b| b == b'&') {
            Some(amp) => (&remaining[..amp], &remaining[amp + 1..]),
            None => (remaining, &remaining[remaining.len()..]),
        };
        remaining = rest;
        match token.iter().position(|&b| b == b'=') {
            Some(eq) => {
                query_escape(&token[..eq], &mut out);
                out.push(b'=');
                query_escape(&token[eq + 1..], &mut out);
            }
            None => query_escape(token, &mut out),
        }
        out.push(b'&');
    }
    out.pop();
    out
}

/// Go's `url.QueryEscape`: unreserved bytes stay, space becomes `+`, the rest `%XX`.
fn query_escape(input: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in input {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(yaml: &str) -> Input {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    fn text(yaml: &str) -> String {
        String::from_utf8(request_bytes(&input(yaml)).unwrap()).unwrap()
    }

    #[test]
    fn defaults_and_connection_close() {
        assert_eq!(
            text("headers:\n  Host: localhost\n"),
            "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn form_data_is_encoded_with_length_and_type() {
        let t = text("method: POST\nheaders:\n  Host: h\ndata: \"a=1 2&b=<x>&c\"\n");
        assert_eq!(
            t,
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Connection: close\r\nContent-Length: 17\r\n\r\na=1+2&b=%3Cx%3E&c"
        );
    }

    #[test]
    fn already_encoded_data_is_sent_as_written() {
        assert_eq!(encode_form_data(b"a=%3C&b=x y"), b"a=%3C&b=x y");
        assert_eq!(encode_form_data(b"a=b+c"), b"a=b+c");
        assert_eq!(encode_form_data(b"x=1&"), b"x=1");
    }

    #[test]
    fn other_content_types_are_not_encoded() {
        let t = text("method: POST\nheaders:\n  Content-Type: application/json\ndata: '{\"a\": \"<b>\"}'\n");
        assert!(t.ends_with("Content-Length: 12\r\n\r\n{\"a\": \"<b>\"}"), "{t}");
    }

    #[test]
    fn multipart_bodies_get_crlf() {
        let t = text("method: POST\nheaders:\n  Content-Type: \"multipart/form-data; boundary=X\"\ndata: \"--X\\nA\\n--X--\\n\"\n");
        assert!(t.ends_with("Content-Length: 15\r\n\r\n--X\r\nA\r\n--X--\r\n"), "{t:?}");
    }

    #[test]
    fn no_autocomplete_sends_exactly_what_is_written() {
        let t = text("method: POST\nautocomplete_headers: false\nheaders:\n  Host: h\ndata: a b\n");
        assert_eq!(t, "POST / HTTP/1.1\r\nHost: h\r\n\r\na b");
    }

    #[test]
    fn body_methods_get_zero_length() {
        assert!(text("method: POST\n").contains("Content-Length: 0\r\n"));
        assert!(text("method: DELETE\n").contains("Content-Length: 0\r\n"));
        assert!(!text("method: GET\n").contains("Content-Length"));
    }

    #[test]
    fn encoded_request_is_decoded_across_lines() {
        let raw = request_bytes(&input("encoded_request: \"R0VUIC8gSFRU\\nUC8xLjENCg0K\"\n")).unwrap();
        assert_eq!(raw, b"GET / HTTP/1.1\r\n\r\n");
        let err = request_bytes(&input("encoded_request: \"***\"\n")).unwrap_err();
        assert!(matches!(err, WireError::Base64(_)));
        let err = request_bytes(&input("encoded_request: \"R0VU\"\ndata: x\n")).unwrap_err();
        assert_eq!(err, WireError::DataAndEncoded);
    }

    #[test]
    fn templates() {
        assert_eq!(expand_template("a{{ \"1\" | repeat 3 }}b").unwrap(), "a111b");
        assert_eq!(expand_template("{{ repeat 2 \"xy\" }}").unwrap(), "xyxy");
        assert_eq!(expand_template("x {{- \"y\" -}} z").unwrap(), "xyz");
        assert_eq!(expand_template("{{/* c */}}k").unwrap(), "k");
        assert_eq!(expand_template("no actions").unwrap(), "no actions");
        assert!(expand_template("{{constructor.constructor('alert(1)')()}}").is_err());
        assert!(expand_template("{{ \"a\" ").is_err());
        assert!(expand_template("{{ repeat 99999999999 \"a\" }}").is_err());
        // A template error sends no body, as go-ftw does.
        let t = text("method: POST\ndata: \"{{ nope }}\"\n");
        assert!(t.ends_with("Content-Length: 0\r\n\r\n"), "{t:?}");
        let t = text("method: POST\nheaders:\n  Content-Type: text/plain\ndata: '{{ \"1\" | repeat 5 }}'\n");
        assert!(t.ends_with("\r\n\r\n11111"), "{t:?}");
    }

    #[test]
    fn malformed_request_lines_are_kept_verbatim() {
        let t = text("method: \"\\tGET\"\nversion: \"\"\nuri: \"/a b\"\n");
        assert!(t.starts_with("\tGET /a b \r\n"), "{t:?}");
    }
}
