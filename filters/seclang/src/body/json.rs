//! `application/json` bodies turned into arguments named as ModSecurity v3 names them
//! (`request_body_processor/json.cc`): `json.a.b`, `json.arr.array_0`, `json.empty-key`.
//!
//! The document is walked as a stream, so duplicate keys and document order are kept and
//! arguments seen before a syntax error are still reported, as with ModSecurity's yajl
//! callbacks. Numbers keep their text for integers; other numbers are printed by serde_json
//! (so `1e5` becomes `100000.0`), which rules written for ModSecurity do not rely on.

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// ModSecurity's default nesting limit (SecRequestBodyJsonDepthLimit not set).
pub(crate) const DEFAULT_MAX_DEPTH: usize = 10_000;

/// Settings for the JSON processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonConfig {
    /// Deepest nesting of objects and arrays accepted (SecRequestBodyJsonDepthLimit).
    pub(crate) max_depth: usize,
}

impl Default for JsonConfig {
    fn default() -> Self {
        JsonConfig {
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// What the JSON processor extracted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Json {
    /// Arguments as `(name, value)` in document order (ARGS_POST).
    pub(crate) args: Vec<(Vec<u8>, Vec<u8>)>,
    /// The parse error (REQBODY_ERROR_MSG), if any; arguments before it are kept.
    pub(crate) error: Option<String>,
    /// True when the error is the nesting limit.
    pub(crate) depth_exceeded: bool,
}

/// Parses `body` as one JSON document.
pub(crate) fn parse(body: &[u8], config: &JsonConfig) -> Json {
    let mut walker = Walker {
        config: *config,
        containers: Vec::new(),
        prefix: Vec::new(),
        key: Vec::new(),
        out: Json::default(),
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let result = Node(&mut walker).deserialize(&mut de).and_then(|()| de.end());
    if let Err(e) = result {
        let mut message = e.to_string();
        if walker.out.depth_exceeded {
            message.push_str(". Parsing depth limit exceeded");
        }
        walker.out.error = Some(message);
    }
    walker.out
}

/// An argument name from [`parse`] (`json.a.b`) moved under `prefix` (`<prefix>.a.b`), for
/// documents that are one of several in a body (gRPC messages, NDJSON lines).
pub(crate) fn renamed(name: &[u8], prefix: &str) -> Vec<u8> {
    let mut out = prefix.as_bytes().to_vec();
    out.extend_from_slice(name.strip_prefix(b"json").unwrap_or(name));
    out
}

/// An open object or array.
struct Container {
    /// Length of `Walker::prefix` before this container's name was appended (restored on close).
    outer_len: usize,
    /// `Some(next element index)` for arrays, `None` for objects.
    counter: Option<usize>,
}

/// Builds argument names as ModSecurity's JSON processor does (`getCurrentKey` and the
/// container stack), keeping the path of open containers in one buffer so that a value's name
/// costs one copy of that buffer instead of a walk over the stack.
struct Walker {
    config: JsonConfig,
    containers: Vec<Container>,
    /// Every open container's name and separator, ending with the innermost container's name
    /// (`json.a.array_3.b` for the object at `{"a":[..,..,..,{"b":{`); the innermost
    /// separator is left out because an array's changes with each element.
    prefix: Vec<u8>,
    /// The pending object key; empty when there is none.
    key: Vec<u8>,
    out: Json,
}

impl Walker {
    /// True when the innermost open container is an array.
    fn in_array(&self) -> bool {
        self.containers.last().is_some_and(|c| c.counter.is_some())
    }

    /// Appends the innermost container's separator (`.` or `.array_N`) to `name`.
    fn push_separator(&self, name: &mut Vec<u8>) {
        match self.containers.last() {
            None => {}
            Some(Container { counter: None, .. }) => name.push(b'.'),
            Some(Container {
                counter: Some(index), ..
            }) => {
                name.extend_from_slice(b".array_");
                name.extend_from_slice(itoa::Buffer::new().format(*index).as_bytes());
            }
        }
    }

    /// ModSecurity's `getCurrentKey` appended to `name`: consumes the pending key.
    fn push_key(&mut self, name: &mut Vec<u8>) {
        if self.containers.is_empty() {
            name.extend_from_slice(b"json");
        } else if !self.key.is_empty() {
            name.extend_from_slice(&self.key);
            self.key.clear();
        } else if !self.in_array() {
            name.extend_from_slice(b"empty-key");
        }
    }

    /// Counts one more element in the innermost container when it is an array.
    fn count_element(&mut self) {
        if let Some(Container { counter: Some(n), .. }) = self.containers.last_mut() {
            *n += 1;
        }
    }

    fn add(&mut self, value: &[u8]) {
        let mut name = Vec::with_capacity(self.prefix.len() + self.key.len() + 16);
        name.extend_from_slice(&self.prefix);
        self.push_separator(&mut name);
        if self.in_array() {
            self.count_element();
        } else {
            self.push_key(&mut name);
        }
        self.out.args.push((name, value.to_vec()));
    }

    fn open(&mut self, array: bool) -> bool {
        let outer_len = self.prefix.len();
        let mut prefix = std::mem::take(&mut self.prefix);
        self.push_separator(&mut prefix);
        self.push_key(&mut prefix);
        self.prefix = prefix;
        self.containers.push(Container {
            outer_len,
            counter: array.then_some(0),
        });
        if self.containers.len() > self.config.max_depth {
            self.out.depth_exceeded = true;
            return false;
        }
        true
    }

    fn close(&mut self) {
        if let Some(container) = self.containers.pop() {
            self.prefix.truncate(container.outer_len);
        }
        self.count_element();
    }
}

/// Deserializes one JSON value, reporting it to the walker.
struct Node<'a>(&'a mut Walker);

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.add(b"");
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.add(if v { b"true" } else { b"false" });
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.add(itoa::Buffer::new().format(v).as_bytes());
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.add(itoa::Buffer::new().format(v).as_bytes());
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        let text = serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string());
        self.0.add(text.as_bytes());
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.add(v.as_bytes());
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if !self.0.open(false) {
            return Err(A::Error::custom("nesting depth limit exceeded"));
        }
        while map.next_key_seed(Key(&mut self.0.key))?.is_some() {
            map.next_value_seed(Node(self.0))?;
        }
        self.0.close();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.0.open(true) {
            return Err(A::Error::custom("nesting depth limit exceeded"));
        }
        while seq.next_element_seed(Node(self.0))?.is_some() {}
        self.0.close();
        Ok(())
    }
}

/// Deserializes an object key into the walker's pending-key buffer (no allocation per key).
struct Key<'a>(&'a mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.clear();
        self.0.extend_from_slice(v.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;

    fn args(body: &str) -> Vec<(String, String)> {
        let j = parse(body.as_bytes(), &JsonConfig::default());
        assert_eq!(j.error, None, "{body}");
        j.args
            .into_iter()
            .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
            .collect()
    }

    fn p(n: &str, v: &str) -> (String, String) {
        (n.to_string(), v.to_string())
    }

    #[test]
    fn nested_objects() {
        assert_eq!(args(r#"{"a":{"b":"c"},"d":1}"#), [p("json.a.b", "c"), p("json.d", "1")]);
    }

    #[test]
    fn arrays_are_numbered() {
        assert_eq!(
            args(r#"{"arr":[1,"x",true,null]}"#),
            [
                p("json.arr.array_0", "1"),
                p("json.arr.array_1", "x"),
                p("json.arr.array_2", "true"),
                p("json.arr.array_3", ""),
            ]
        );
    }

    #[test]
    fn objects_and_arrays_inside_arrays() {
        assert_eq!(
            args(r#"{"a":[{"b":1},{"b":2}],"m":[[1,2],[3]]}"#),
            [
                p("json.a.array_0.b", "1"),
                p("json.a.array_1.b", "2"),
                p("json.m.array_0.array_0", "1"),
                p("json.m.array_0.array_1", "2"),
                p("json.m.array_1.array_0", "3"),
            ]
        );
    }

    #[test]
    fn top_level_array_and_scalar() {
        assert_eq!(args(r#"[1,2]"#), [p("json.array_0", "1"), p("json.array_1", "2")]);
        assert_eq!(args(r#""x""#), [p("json", "x")]);
    }

    #[test]
    fn empty_key_and_duplicates() {
        assert_eq!(
            args(r#"{"":1,"a":1,"a":2}"#),
            [p("json.empty-key", "1"), p("json.a", "1"), p("json.a", "2")]
        );
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(args(r#"{"k\"":"\u003cscript\u003e\n"}"#), [p("json.k\"", "<script>\n")]);
    }

    #[test]
    fn numbers() {
        assert_eq!(
            args(r#"{"a":-5,"b":1.5,"c":18446744073709551615}"#),
            [
                p("json.a", "-5"),
                p("json.b", "1.5"),
                p("json.c", "18446744073709551615")
            ]
        );
    }

    #[test]
    fn syntax_error_keeps_earlier_args() {
        let j = parse(br#"{"a":"1","b":}"#, &JsonConfig::default());
        assert!(j.error.is_some());
        assert!(!j.depth_exceeded);
        assert_eq!(j.args, [(b"json.a".to_vec(), b"1".to_vec())]);
    }

    #[test]
    fn trailing_garbage_and_empty_body_are_errors() {
        assert!(parse(br#"{"a":1} x"#, &JsonConfig::default()).error.is_some());
        assert!(parse(b"", &JsonConfig::default()).error.is_some());
        assert!(parse(b"{'a':1}", &JsonConfig::default()).error.is_some());
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert!(parse(b"{\"a\":\"\xff\"}", &JsonConfig::default()).error.is_some());
    }

    #[test]
    fn depth_limit() {
        let config = JsonConfig { max_depth: 3 };
        let ok = parse(br#"{"a":{"b":{"c":1}}}"#, &config);
        assert_eq!(ok.error, None);
        let deep = parse(br#"{"a":{"b":{"c":{"d":1}}}}"#, &config);
        assert!(deep.depth_exceeded);
        assert!(deep.error.unwrap().ends_with("Parsing depth limit exceeded"));
        let arrays = parse(b"[[[[1]]]]", &config);
        assert!(arrays.depth_exceeded);
    }

    #[test]
    fn very_deep_input_fails_cleanly() {
        let body = "[".repeat(100_000);
        let j = parse(body.as_bytes(), &JsonConfig::default());
        assert!(j.error.is_some());
    }

    /// A document with every kind of value, nesting in objects and arrays, escapes, empty and
    /// duplicate keys, non-ASCII text and numbers of each form.
    const RICH: &[u8] = br#"{"a":{"b":"c","":[1,-2,3.5,1e2,-0,18446744073709551616]},"a":[[],{},[[true]],{"x":null}],"k\"\u00e9\n":"v\ud83d\ude00\/","n":[{"":{"":[""]}}],"z":false}"#;

    /// Parses `body` with the walker and with the reference walker and checks they agree on
    /// every argument, the error text and the depth flag.
    fn same_as_reference(body: &[u8], config: &JsonConfig) -> Json {
        let new = parse(body, config);
        let old = reference::parse(body, config);
        assert_eq!(
            new,
            old,
            "{:?} (max_depth {})",
            String::from_utf8_lossy(body),
            config.max_depth
        );
        new
    }

    #[test]
    fn rich_document_matches_reference() {
        let j = same_as_reference(RICH, &JsonConfig::default());
        assert_eq!(j.error, None);
        assert_eq!(j.args.len(), 12);
        assert_eq!(
            j.args[7],
            (b"json.a.array_2.array_0.array_0".to_vec(), b"true".to_vec())
        );
        assert_eq!(
            j.args[10],
            (b"json.n.array_0.empty-key.empty-key.array_0".to_vec(), b"".to_vec())
        );
    }

    #[test]
    fn every_truncation_matches_reference() {
        for cut in 0..=RICH.len() {
            let j = same_as_reference(&RICH[..cut], &JsonConfig::default());
            if cut < RICH.len() {
                assert!(j.error.is_some(), "cut at {cut} parsed");
            }
        }
    }

    #[test]
    fn every_byte_replaced_matches_reference() {
        let replacements = [
            b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'0', b'e', b' ', 0xff, 0x00,
        ];
        for at in 0..RICH.len() {
            for &r in &replacements {
                let mut body = RICH.to_vec();
                body[at] = r;
                same_as_reference(&body, &JsonConfig::default());
            }
        }
    }

    #[test]
    fn depth_limits_match_reference() {
        for max_depth in 0..6 {
            let config = JsonConfig { max_depth };
            for cut in 0..=RICH.len() {
                same_as_reference(&RICH[..cut], &config);
            }
        }
    }

    #[test]
    fn bad_escapes_match_reference() {
        for body in [
            &br#"{"a":"\x"}"#[..],
            br#"{"a":"\u12"}"#,
            br#"{"a":"\u12zz"}"#,
            br#"{"a":"\ud800"}"#,
            br#"{"a":"\udc00x"}"#,
            br#"{"a":"\ud800\u0041"}"#,
            br#"{"\q":1}"#,
            br#"{"a":"tab	in"}"#,
            b"{\"a\":\"new\nline\"}",
            br#"{"a":"\"#,
        ] {
            let j = same_as_reference(body, &JsonConfig::default());
            assert!(j.error.is_some(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn huge_numbers() {
        let j = same_as_reference(
            br#"[123456789012345678901234567890,-9223372036854775809,1.7976931348623157e308,1e-400,-0.0]"#,
            &JsonConfig::default(),
        );
        assert_eq!(j.error, None);
        let values: Vec<&[u8]> = j.args.iter().map(|(_, v)| v.as_slice()).collect();
        assert_eq!(
            values,
            [
                &b"1.2345678901234568e+29"[..],
                b"-9.223372036854776e+18",
                b"1.7976931348623157e+308",
                b"0.0",
                b"-0.0"
            ]
        );
        for body in [
            &b"[1e400]"[..],
            b"{\"a\":-1e309}",
            b"[1.]",
            b"[01]",
            b"[-]",
            b"[1e]",
            b"[+1]",
        ] {
            let j = same_as_reference(body, &JsonConfig::default());
            assert!(j.error.is_some(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn invalid_utf8_in_keys_and_values_matches_reference() {
        for body in [
            &b"{\"a\":\"\xff\"}"[..],
            b"{\"\xc3\":1}",
            b"{\"a\":\"ok\",\"b\":\"\xed\xa0\x80\"}",
            b"[\"\xf4\x90\x80\x80\"]",
            b"[\"\xc0\xaf\"]",
        ] {
            let j = same_as_reference(body, &JsonConfig::default());
            assert!(j.error.is_some(), "{:?}", String::from_utf8_lossy(body));
        }
        let j = same_as_reference(b"{\"a\":\"ok\",\"b\":\"\xff\"}", &JsonConfig::default());
        assert_eq!(j.args, [(b"json.a".to_vec(), b"ok".to_vec())]);
    }

    #[test]
    fn deep_nesting_matches_reference() {
        for depth in [1, 2, 127, 128, 129, 200] {
            let body = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            same_as_reference(body.as_bytes(), &JsonConfig::default());
            let body = format!("{}1{}", "{\"k\":".repeat(depth), "}".repeat(depth));
            same_as_reference(body.as_bytes(), &JsonConfig::default());
            same_as_reference(body.as_bytes(), &JsonConfig { max_depth: depth - 1 });
        }
    }
}
