//! The JSON walker as it was before argument names were built incrementally (serde_json
//! with a `String` per key and a name rebuilt from the container stack per value), kept as the
//! oracle the differential tests compare [`super::parse`] against.

use super::{Json, JsonConfig};
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Parses `body` as one JSON document.
pub(super) fn parse(body: &[u8], config: &JsonConfig) -> Json {
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
