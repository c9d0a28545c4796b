//! Metric names (Envoy exports them as `wasmcustom.<name>`) and the bounded labels they use.

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use meshward_vocab::{Decision, Filter};

/// Prefix of every WAF metric.
pub const PREFIX: &str = Filter::Waf.metric_prefix();

/// Rule families counted on their own; any other rule counts as `other`.
pub const FAMILIES: [&str; 23] = [
    "913", "920", "921", "922", "930", "931", "932", "933", "934", "941", "942", "943", "944", "949", "950", "951",
    "952", "953", "954", "955", "959", "980", "other",
];

/// Counters without a label: every transaction, those that matched, then one per decision that
/// is not `allow` (named by [`Decision::counter`]).
pub const COUNTERS: [&str; 5] = [
    "transactions",
    "matched",
    Decision::Block.counter(),
    Decision::WouldBlock.counter(),
    Decision::Refused.counter(),
];

/// The gauge of the VM's wasm linear memory in bytes (it only grows: wasm memory is never
/// given back), set after loading and again at the end of a stream when it grew.
pub const MEMORY_GAUGE: &str = "wasm_memory_bytes";

/// Full name of the linear-memory gauge, `meshward_waf.wasm_memory_bytes`.
pub fn memory_gauge_name() -> String {
    format!("{PREFIX}.{MEMORY_GAUGE}")
}

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

/// One counter the filter increments: an index into [`all_names`], so the adapter defines every
/// counter once at configure time and a request bumps them without building a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Counter(usize);

impl Counter {
    /// `meshward_waf.transactions`: every stream with a transaction.
    pub const TRANSACTIONS: Counter = Counter(0);
    /// `meshward_waf.matched`: streams where a logged rule matched.
    pub const MATCHED: Counter = Counter(1);
    /// `meshward_waf.blocked`.
    pub const BLOCKED: Counter = Counter(2);
    /// `meshward_waf.would_block`.
    pub const WOULD_BLOCK: Counter = Counter(3);
    /// `meshward_waf.refused`.
    pub const REFUSED: Counter = Counter(4);

    /// The counter a decision bumps (`allow` has none: `transactions` counts every stream).
    pub fn decision(decision: Decision) -> Option<Counter> {
        match decision {
            Decision::Allow => None,
            Decision::Block => Some(Counter::BLOCKED),
            Decision::WouldBlock => Some(Counter::WOULD_BLOCK),
            Decision::Refused => Some(Counter::REFUSED),
        }
    }

    /// A plain counter of [`COUNTERS`] (`"blocked"`); `None` for a name not in the list.
    pub fn plain(name: &str) -> Option<Counter> {
        COUNTERS.iter().position(|c| *c == name).map(Counter)
    }

    /// The counter of a rule family of [`FAMILIES`] (as [`family_of`] returns it).
    pub fn family(family: &str) -> Option<Counter> {
        FAMILIES
            .iter()
            .position(|f| *f == family)
            .map(|i| Counter(COUNTERS.len() + i))
    }

    /// The counter of a paranoia level (1..=4).
    pub fn paranoia(level: u8) -> Option<Counter> {
        (1..=4)
            .contains(&level)
            .then(|| Counter(COUNTERS.len() + FAMILIES.len() + usize::from(level) - 1))
    }

    /// Its position in [`all_names`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// Every counter's full name, in [`Counter::index`] order: plain counters, rule families,
/// paranoia levels.
pub fn all_names() -> Vec<String> {
    let plain = COUNTERS.iter().map(|c| counter_name(c));
    let families = FAMILIES.iter().map(|f| family_name(f));
    let levels = (1..=4).map(paranoia_name);
    plain.chain(families).chain(levels).collect()
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
        assert_eq!(memory_gauge_name(), "meshward_waf.wasm_memory_bytes");
        assert!(!all_names().contains(&memory_gauge_name()), "a gauge, not a counter");
    }

    #[test]
    fn counters_index_all_names() {
        let names = all_names();
        assert_eq!(names.len(), COUNTERS.len() + FAMILIES.len() + 4);
        assert_eq!(
            names[Counter::plain("blocked").unwrap().index()],
            "meshward_waf.blocked"
        );
        for (c, name) in [
            (Counter::TRANSACTIONS, "transactions"),
            (Counter::MATCHED, "matched"),
            (Counter::BLOCKED, "blocked"),
            (Counter::WOULD_BLOCK, "would_block"),
            (Counter::REFUSED, "refused"),
        ] {
            assert_eq!(Counter::plain(name), Some(c));
        }
        assert_eq!(
            names[Counter::family("942").unwrap().index()],
            "meshward_waf.rule_family.942"
        );
        assert_eq!(
            names[Counter::family("other").unwrap().index()],
            "meshward_waf.rule_family.other"
        );
        assert_eq!(names[Counter::paranoia(1).unwrap().index()], "meshward_waf.paranoia.1");
        assert_eq!(names[Counter::paranoia(4).unwrap().index()], "meshward_waf.paranoia.4");
        assert_eq!(Counter::paranoia(0), None);
        assert_eq!(Counter::paranoia(5), None);
        for d in Decision::ALL {
            let c = Counter::decision(d);
            assert_eq!(c, Counter::plain(d.counter()), "{d}");
            assert_eq!(c.is_none(), d == Decision::Allow, "{d}");
        }
        assert_eq!(Counter::plain("nope"), None);
        assert_eq!(Counter::family("999"), None);
    }

    #[test]
    fn paranoia_from_tags() {
        let tags = vec!["attack-sqli".to_string(), "paranoia-level/2".to_string()];
        assert_eq!(paranoia_of(&tags), Some(2));
        assert_eq!(paranoia_of(&["paranoia-level/9".to_string()]), None);
        assert_eq!(paranoia_name(3), "meshward_waf.paranoia.3");
    }
}
