//! The CRS release and meshward's rule packs embedded at build time (see build.rs), and the
//! virtual files rule sets load from.

use std::path::Path;

use meshward_seclang::{Files, MemoryFiles};

include!(concat!(env!("OUT_DIR"), "/crs_embedded.rs"));

/// Alias for meshward's recommended base configuration (rules/recommended.conf).
pub const RECOMMENDED: &str = "@recommended";
/// Alias for CRS's crs-setup.conf.example.
pub const CRS_SETUP: &str = "@crs-setup";
/// Alias for the CRS rules (rules/*.conf in order); the files themselves live under `@crs-rules/`.
pub const CRS_RULES: &str = "@crs-rules";

/// Directory of the rule packs in the virtual tree: `@packs/<name>.conf`.
pub const PACKS_DIR: &str = "@packs";

/// The names of the embedded rule packs, in load order.
pub fn pack_names() -> impl Iterator<Item = &'static str> {
    PACKS.iter().map(|(name, _)| *name)
}

/// The `Include` line of pack `name`.
pub fn pack_include(name: &str) -> String {
    format!("Include {PACKS_DIR}/{name}.conf")
}

/// The `ruleset` evidence field, e.g. `crs-4.28.0`.
pub fn ruleset_name() -> String {
    format!("crs-{CRS_VERSION}")
}

/// The in-memory tree every rule set loads from: the aliases plus `@crs-rules/<file>` and
/// `@packs/<name>.conf`.
pub fn files() -> Files {
    let mut m = MemoryFiles::new();
    m.insert(RECOMMENDED, meshward_seclang::crs::RECOMMENDED_CONF.as_bytes());
    m.insert(CRS_RULES, format!("Include {CRS_RULES}/*.conf\n").into_bytes());
    for (name, content) in CRS_FILES {
        if *name == "crs-setup.conf.example" {
            m.insert(CRS_SETUP, *content);
        } else if let Some(file) = name.strip_prefix("rules/") {
            m.insert(Path::new(CRS_RULES).join(file), *content);
        }
    }
    for (name, content) in PACKS {
        m.insert(Path::new(PACKS_DIR).join(format!("{name}.conf")), *content);
    }
    Files::new(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rx_table_lists_every_embedded_pattern_with_its_analysis() {
        use meshward_seclang::rx_table::{analyze, rx_arguments};
        assert!(
            RX_TABLE.windows(2).all(|w| w[0].pattern < w[1].pattern),
            "sorted, no duplicates"
        );
        let texts = CRS_FILES
            .iter()
            .filter(|(n, _)| n.ends_with(".conf") || n.ends_with(".example"))
            .chain(PACKS.iter())
            .map(|(_, c)| String::from_utf8_lossy(c).into_owned());
        let mut listed = 0;
        for text in texts {
            for pattern in rx_arguments(&text).expect("embedded rule files parse") {
                if pattern.is_empty() || analyze(&pattern).is_err() {
                    continue;
                }
                let found = RX_TABLE.binary_search_by(|e| e.pattern.cmp(&pattern));
                assert!(found.is_ok(), "missing from RX_TABLE: {pattern}");
                listed += 1;
            }
        }
        assert!(listed > 300, "CRS has hundreds of @rx rules, found {listed}");
        for entry in RX_TABLE {
            let now = analyze(entry.pattern).expect("listed patterns are valid");
            let table: Option<Vec<Vec<u8>>> = entry.literals.map(|s| s.iter().map(|l| l.to_vec()).collect());
            assert_eq!(table, now, "{}", entry.pattern);
        }
    }

    #[test]
    fn crs_is_embedded_with_setup_rules_and_data() {
        assert!(CRS_FILES.iter().any(|(n, _)| *n == "crs-setup.conf.example"));
        assert!(CRS_FILES
            .iter()
            .any(|(n, _)| n.ends_with("REQUEST-942-APPLICATION-ATTACK-SQLI.conf")));
        assert!(CRS_FILES.iter().any(|(n, _)| n.ends_with(".data")));
        assert_eq!(CRS_VERSION, "4.28.0");
        assert_eq!(CRS_DIGEST.len(), 64);
        let f = files();
        assert!(f.is_file(Path::new("@crs-setup")));
        assert!(f.is_file(Path::new("@crs-rules/lfi-os-files.data")));
        for name in ["ldap", "mail", "nosql", "path", "shell", "sqli", "ssti", "traversal"] {
            assert!(pack_names().any(|n| n == name), "pack {name} embedded");
            assert!(f.is_file(Path::new(&format!("{PACKS_DIR}/{name}.conf"))));
        }
    }
}
