//! Canonical JSON for manifests and configurations: object keys sorted, no whitespace, so that
//! the same value always gives the same bytes (and digest), whatever the map type inside.

use serde::Serialize;

/// `value` as canonical JSON bytes.
pub fn to_vec(value: &impl Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut json = serde_json::to_value(value)?;
    json.sort_all_objects();
    serde_json::to_vec(&json)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let inner: HashMap<&str, u8> = (0..20).map(|i| (["b", "a", "c", "e", "d"][i % 5], i as u8)).collect();
        let outer: HashMap<&str, &HashMap<&str, u8>> = [("z", &inner), ("m", &inner)].into();
        let text = String::from_utf8(super::to_vec(&outer).unwrap()).unwrap();
        assert!(text.starts_with(r#"{"m":{"a":"#), "{text}");
        let keys: Vec<usize> = ["\"a\"", "\"b\"", "\"c\"", "\"d\"", "\"e\""]
            .iter()
            .map(|k| text.find(k).unwrap())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(!text.contains(' '), "{text}");
    }
}
