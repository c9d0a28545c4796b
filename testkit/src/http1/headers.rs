//! An ordered list of header fields: names keep their case, lookups ignore it, values are bytes.

/// Header fields in order. Names keep the case they were given (a proxy that lower-cases them,
/// like Envoy, does so itself: [`Headers::lowercase_names`]); lookups are ASCII
/// case-insensitive; values are bytes; a name may repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A list of these (name, value) pairs, in order (with [`Headers::add`]'s placement).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<[u8]>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut headers = Self::new();
        headers.extend(pairs);
        headers
    }

    /// Appends a field. A pseudo-header (name starting with `:`) goes after the other
    /// pseudo-headers and before every regular field, as Envoy's `HeaderMap` keeps them.
    pub fn add(&mut self, name: &str, value: impl AsRef<[u8]>) {
        let entry = (name.to_string(), value.as_ref().to_vec());
        if name.starts_with(':') {
            let at = self
                .entries
                .iter()
                .position(|(k, _)| !k.starts_with(':'))
                .unwrap_or(self.entries.len());
            self.entries.insert(at, entry);
        } else {
            self.entries.push(entry);
        }
    }

    /// Replaces every value of `name` with one field at the end (Envoy's `setCopy`: remove, add).
    pub fn set(&mut self, name: &str, value: impl AsRef<[u8]>) {
        self.remove(name);
        self.add(name, value);
    }

    /// Removes every field named `name`.
    pub fn remove(&mut self, name: &str) {
        self.entries.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// True when a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// The first value of `name`, as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name` as text; `None` when absent or not UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get_bytes(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of `name` as text (invalid UTF-8 replaced).
    pub fn get(&self, name: &str) -> Option<String> {
        self.get_bytes(name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Every value of `name`, in order, as bytes.
    pub fn get_all_bytes<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Every value of `name`, in order, as text (invalid UTF-8 replaced).
    pub fn get_all(&self, name: &str) -> Vec<String> {
        self.get_all_bytes(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// Number of fields (a repeated name counts once per field).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no field.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Sum of name and value lengths (Envoy's `byteSize`).
    pub fn byte_size(&self) -> usize {
        self.entries.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    /// The fields as (name, value) byte pairs.
    pub fn to_pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.entries
            .iter()
            .map(|(k, v)| (k.clone().into_bytes(), v.clone()))
            .collect()
    }

    /// Replaces every field with `pairs` (names that are not UTF-8 get replacement characters).
    pub fn replace_all(&mut self, pairs: Vec<(Vec<u8>, Vec<u8>)>) {
        self.entries.clear();
        for (k, v) in pairs {
            self.add(&String::from_utf8_lossy(&k), v);
        }
    }

    /// Lower-cases every name, as Envoy's codecs do to every header map they hand on.
    pub fn lowercase_names(&mut self) {
        for (k, _) in &mut self.entries {
            k.make_ascii_lowercase();
        }
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Extend<(K, V)> for Headers {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            self.add(k.as_ref(), v);
        }
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        Self::from_pairs(pairs)
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a [u8]);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (String, Vec<u8>)>, fn(&'a (String, Vec<u8>)) -> Self::Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// As JSON: a list of `[name, value]` pairs (values as lossy UTF-8).
#[cfg(feature = "serde")]
impl serde::Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            seq.serialize_element(&[k.as_str(), &String::from_utf8_lossy(v)])?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_case_and_lookups_ignore_it() {
        let mut h = Headers::new();
        h.add("X-A", "1");
        h.add("x-a", "2");
        h.add("b", "3");
        assert_eq!(h.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["X-A", "x-a", "b"]);
        assert_eq!(h.get("x-A").as_deref(), Some("1"));
        assert_eq!(h.get_str("X-a"), Some("1"));
        assert_eq!(h.get_all("X-A"), ["1", "2"]);
        assert_eq!(h.get_all_bytes("x-a").collect::<Vec<_>>(), [&b"1"[..], &b"2"[..]]);
        assert!(h.contains("B") && !h.contains("c"));
        h.set("x-a", "9");
        assert_eq!(h.get_all("x-a"), ["9"]);
        assert_eq!(
            h.iter().last(),
            Some(("x-a", &b"9"[..])),
            "set moves the field to the end"
        );
        h.remove("B");
        assert_eq!(h.len(), 1);
        assert_eq!(h.byte_size(), 4);
    }

    #[test]
    fn pseudo_headers_stay_in_front() {
        let mut h = Headers::from_pairs([("a", "1"), (":path", "/"), ("b", "2"), (":method", "GET")]);
        assert_eq!(
            h.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            [":path", ":method", "a", "b"]
        );
        h.set(":path", "/x");
        assert_eq!(h.iter().nth(1), Some((":path", &b"/x"[..])));
    }

    #[test]
    fn values_are_bytes() {
        let h = Headers::from_pairs([("x-bin", &b"\xff\x00"[..])]);
        assert_eq!(h.get_bytes("x-bin"), Some(&b"\xff\x00"[..]));
        assert_eq!(h.get_str("x-bin"), None, "not UTF-8");
        assert_eq!(h.get("x-bin").as_deref(), Some("\u{fffd}\0"));
        assert_eq!(h.to_pairs(), [(b"x-bin".to_vec(), b"\xff\x00".to_vec())]);
    }

    #[test]
    fn lowercasing_and_replacing() {
        let mut h: Headers = [("Content-Type", "a"), ("X-UP", "b")].into_iter().collect();
        h.lowercase_names();
        assert_eq!(h.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["content-type", "x-up"]);
        h.replace_all(vec![
            (b"Y".to_vec(), b"1".to_vec()),
            (b":status".to_vec(), b"200".to_vec()),
        ]);
        assert_eq!(h, Headers::from_pairs([(":status", "200"), ("Y", "1")]));
        let mut pairs = Vec::new();
        for (k, v) in &h {
            pairs.push((k, v));
        }
        assert_eq!(pairs, [(":status", &b"200"[..]), ("Y", &b"1"[..])]);
    }
}
