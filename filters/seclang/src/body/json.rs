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
        current_key: String::new(),
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

/// An open object or array; `counter` is `Some` for arrays.
struct Container {
    name: String,
    counter: Option<usize>,
}

struct Walker {
    config: JsonConfig,
    containers: Vec<Container>,
    current_key: String,
    out: Json,
}

impl Walker {
    /// ModSecurity's `getCurrentKey`: consumes the pending key.
    fn take_key(&mut self) -> String {
        if self.containers.is_empty() {
            return "json".to_string();
        }
        if self.current_key.is_empty() {
            let in_array = self.containers.last().is_some_and(|c| c.counter.is_some());
            return if in_array {
                String::new()
            } else {
                "empty-key".to_string()
            };
        }
        std::mem::take(&mut self.current_key)
    }

    fn add(&mut self, value: &[u8]) {
        let mut name = String::new();
        for container in &self.containers {
            name.push_str(&container.name);
            match container.counter {
                Some(index) => {
                    name.push_str(".array_");
                    name.push_str(&index.to_string());
                }
                None => name.push('.'),
            }
        }
        let in_array = self.containers.last().is_some_and(|c| c.counter.is_some());
        if in_array {
            if let Some(Container { counter: Some(n), .. }) = self.containers.last_mut() {
                *n += 1;
            }
        } else {
            name.push_str(&self.take_key());
        }
        self.out.args.push((name.into_bytes(), value.to_vec()));
    }

    fn open(&mut self, array: bool) -> bool {
        let name = self.take_key();
        self.containers.push(Container {
            name,
            counter: array.then_some(0),
        });
        if self.containers.len() > self.config.max_depth {
            self.out.depth_exceeded = true;
            return false;
        }
        true
    }

    fn close(&mut self) {
        self.containers.pop();
        if let Some(Container { counter: Some(n), .. }) = self.containers.last_mut() {
            *n += 1;
        }
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
        self.0.add(v.to_string().as_bytes());
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.add(v.to_string().as_bytes());
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
        while let Some(key) = map.next_key::<String>()? {
            self.0.current_key = key;
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
}
