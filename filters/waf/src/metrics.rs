//! Metric names (Envoy exports them as `wasmcustom.<name>`) and the bounded labels they use.

/// Prefix of every WAF metric.
pub const PREFIX: &str = "meshward_waf";

/// Rule families counted on their own; any other rule counts as `other`.
pub const FAMILIES: [&str; 23] = [
    "913", "920", "921", "922", "930", "931", "932", "933", "934", "941", "942", "943", "944", "949", "950", "951",
    "952", "953", "954", "955", "959", "980", "other",
];

/// Counters without a label.
pub const COUNTERS: [&str; 5] = ["transactions", "matched", "blocked", "would_block", "refused"];

/// Full name of a plain counter, e.g. `meshward_waf.blocked`.
pub fn counter_name(counter: &str) -> String {
    format!("{PREFIX}.{counter}")
}

/// Full name of a rule-family counter.
pub fn family_name(family: &str) -> String {
    format!("{PREFIX}.rule_family.{family}")
}

/// Full name of a paranoia-level counter (1..4).
pub fn paranoia_name(level: u8) -> String {
    format!("{PREFIX}.paranoia.{level}")
}

/// The family label of a rule id: its CRS file number (942100 -> `942`), or `other`.
pub fn family_of(id: u64) -> &'static str {
    if (900_000..1_000_000).contains(&id) {
        let prefix = (id / 1000).to_string();
        if let Some(f) = FAMILIES.iter().find(|f| **f == prefix) {
            return f;
        }
    }
    "other"
}

/// The paranoia level named by a rule's `paranoia-level/N` tag.
pub fn paranoia_of(tags: &[String]) -> Option<u8> {
    tags.iter()
        .filter_map(|t| t.strip_prefix("paranoia-level/"))
        .filter_map(|n| n.trim().parse::<u8>().ok())
        .find(|n| (1..=4).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_bounded() {
        assert_eq!(family_of(942100), "942");
        assert_eq!(family_of(949110), "949");
        assert_eq!(family_of(911100), "other");
        assert_eq!(family_of(10000), "other");
        assert_eq!(family_of(u64::MAX), "other");
        assert_eq!(family_name("942"), "meshward_waf.rule_family.942");
        assert_eq!(counter_name("would_block"), "meshward_waf.would_block");
    }

    #[test]
    fn paranoia_from_tags() {
        let tags = vec!["attack-sqli".to_string(), "paranoia-level/2".to_string()];
        assert_eq!(paranoia_of(&tags), Some(2));
        assert_eq!(paranoia_of(&["paranoia-level/9".to_string()]), None);
        assert_eq!(paranoia_name(3), "meshward_waf.paranoia.3");
    }
}
