//! An ordered, multi-valued header map with lower-case names, like Envoy's `HeaderMap`.

use serde::ser::{Serialize, SerializeSeq, Serializer};

/// Ordered header list; names are stored lower-cased, values as bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a map from (name, value) pairs, lower-casing names.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<[u8]>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut h = Self::new();
        for (k, v) in pairs {
            h.add(k.as_ref(), v.as_ref());
        }
        h
    }

    /// Appends a value (keeps existing values of the same name); pseudo-headers stay in front
    /// of regular ones, as in Envoy's `HeaderMapImpl`.
    pub fn add(&mut self, name: &str, value: impl AsRef<[u8]>) {
        let entry = (name.to_ascii_lowercase(), value.as_ref().to_vec());
        if entry.0.starts_with(':') {
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

    /// Replaces all values of `name` with one value at the end (Envoy `setCopy`: remove + add).
    pub fn set(&mut self, name: &str, value: impl AsRef<[u8]>) {
        self.remove(name);
        self.add(name, value);
    }

    /// Removes every value of `name`.
    pub fn remove(&mut self, name: &str) {
        let name = name.to_ascii_lowercase();
        self.entries.retain(|(k, _)| *k != name);
    }

    /// First value of `name` as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        let name = name.to_ascii_lowercase();
        self.entries.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_slice())
    }

    /// First value of `name` as text (lossy UTF-8).
    pub fn get(&self, name: &str) -> Option<String> {
        self.get_bytes(name).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// All values of `name`, in order.
    pub fn get_all(&self, name: &str) -> Vec<String> {
        let name = name.to_ascii_lowercase();
        self.entries
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// Number of entries (a multi-valued header counts once per value).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Sum of name and value lengths (Envoy `byteSize`).
    pub fn byte_size(&self) -> usize {
        self.entries.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    /// Entries as (name, value) byte pairs, for serialization to the module.
    pub fn to_pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.entries
            .iter()
            .map(|(k, v)| (k.clone().into_bytes(), v.clone()))
            .collect()
    }

    /// Replaces every entry (Envoy `setHeaderMapPairs`).
    pub fn replace_all(&mut self, pairs: Vec<(Vec<u8>, Vec<u8>)>) {
        self.entries.clear();
        for (k, v) in pairs {
            self.add(&String::from_utf8_lossy(&k), v);
        }
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
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
    fn names_are_lowercased_and_multi_valued() {
        let mut h = Headers::new();
        h.add("X-A", "1");
        h.add("x-a", "2");
        h.add("b", "3");
        assert_eq!(h.get("x-a").as_deref(), Some("1"));
        assert_eq!(h.get_all("X-A"), vec!["1", "2"]);
        h.set("x-a", "9");
        assert_eq!(h.get_all("x-a"), vec!["9"]);
        assert_eq!(
            h.iter().last().map(|(k, _)| k),
            Some("x-a"),
            "set moves the header to the end"
        );
        h.add(":status", "200");
        assert_eq!(h.iter().next().map(|(k, _)| k), Some(":status"), "pseudo-headers first");
        h.remove(":status");
        h.remove("X-A");
        assert_eq!(h.len(), 1);
        assert_eq!(h.byte_size(), 2);
    }
}
