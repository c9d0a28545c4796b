//! Loads OWASP CRS v4 (crs-setup.conf.example + rules/*.conf) and checks the inventory.

use meshward_seclang::RuleSet;
use meshward_testkit::locate::crs_dir;

fn load_crs() -> RuleSet {
    let dir = crs_dir();
    assert!(
        dir.join("rules").is_dir(),
        "CRS not found at {} (set MESHWARD_CRS_DIR to a CRS v4.28.0 checkout)",
        dir.display()
    );
    let setup = dir.join("crs-setup.conf.example");
    let text = format!(
        "SecRuleEngine On\nInclude {}\nInclude {}/rules/*.conf\n",
        setup.display(),
        dir.display()
    );
    match RuleSet::builder().add_str(&text, "crs-main.conf").build() {
        Ok(r) => r,
        Err(e) => panic!("CRS failed to load: {e}"),
    }
}

#[test]
fn crs_loads_with_expected_inventory() {
    let rules = load_crs();
    let stats = rules.stats();
    // Inventory of CRS v4.28.0 rules/*.conf: 695 SecRule (every chain link counted),
    // 629 distinct ids, 73 chains; plus crs-setup's SecAction 900990.
    assert_eq!(stats.sec_rules, 695, "{stats:?}");
    assert_eq!(stats.chains, 73, "{stats:?}");
    assert_eq!(stats.chain_starters, 55, "{stats:?}");
    assert_eq!(stats.sec_actions, 8, "{stats:?}");
    assert_eq!(stats.markers, 30, "{stats:?}");
    // 629 ids in rules/ + 900990 from crs-setup.conf.example.
    assert_eq!(stats.ids, 630, "{stats:?}");
    assert!(rules.rule(942100).is_some());
    assert!(rules.rule(900990).is_some());
    // The only directives CRS has that do nothing here would be reported as warnings.
    assert!(rules.warnings().is_empty(), "{:?}", rules.warnings());
}

#[test]
fn crs_update_target_exclusions_are_applied() {
    let rules = load_crs();
    // REQUEST-999 adds `!REQUEST_COOKIES:/^_ga(?:_\w+)?$/` to 942550.
    let rule = rules.rule(942550).expect("942550 loaded");
    match &rule.kind {
        meshward_seclang::rule::RuleKind::Rule { targets, .. } => {
            assert!(targets
                .exclusions
                .iter()
                .any(|e| e.excludes(meshward_seclang::variable::Variable::RequestCookies, b"_ga_ABC")));
        }
        other => panic!("unexpected kind {other:?}"),
    }
}

/// Parser-level check, independent of operator compilation: every CRS directive, target
/// list and action list is read, and the counts match the inventory.
#[test]
fn crs_directives_targets_and_actions_parse() {
    use meshward_seclang::action::ActionList;
    use meshward_seclang::parser::{self, actions::split_actions};
    use meshward_seclang::variable::parse_targets;

    let dir = crs_dir();
    assert!(dir.join("rules").is_dir(), "CRS not found at {}", dir.display());
    let mut directives = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    for f in &files {
        parser::read_file(f, &mut directives).unwrap_or_else(|e| panic!("{e}"));
    }
    let (mut sec_rules, mut chains) = (0, 0);
    let mut ids = std::collections::HashSet::new();
    for d in &directives {
        let actions = match d.name.as_str() {
            "SecRule" => {
                sec_rules += 1;
                assert!(d.args.len() == 3 || d.args.len() == 2, "{}: {:?}", d.location, d.args);
                parse_targets(&d.args[0]).unwrap_or_else(|e| panic!("{}: {e:?}", d.location));
                d.args.get(2).cloned().unwrap_or_default()
            }
            "SecAction" => d.args[0].clone(),
            _ => continue,
        };
        let raw = split_actions(&actions).unwrap_or_else(|e| panic!("{}: {e}", d.location));
        let list = ActionList::parse(&raw).unwrap_or_else(|e| panic!("{}: {e:?}", d.location));
        if list.chain {
            chains += 1;
        }
        if let Some(id) = list.id {
            ids.insert(id);
        }
    }
    assert_eq!(sec_rules, 695);
    assert_eq!(ids.len(), 629);
    assert_eq!(chains, 73);
}

fn crs_request(rules: &RuleSet, uri: &str, headers: &[(&str, &str)]) -> meshward_seclang::Transaction {
    let mut tx = rules.transaction();
    tx.process_connection("127.0.0.1", 40000, "127.0.0.1", 80);
    tx.process_uri(uri.as_bytes(), "GET", "1.1");
    for (k, v) in headers {
        tx.add_request_header(k.as_bytes(), v.as_bytes());
    }
    tx.process_request_headers();
    tx.process_request_body();
    tx.add_response_header(b"Content-Type", b"text/html");
    tx.process_response_headers(200, "HTTP/1.1");
    tx.process_response_body();
    tx.process_logging();
    tx
}

const BROWSER: &[(&str, &str)] = &[
    ("Host", "localhost"),
    (
        "User-Agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    (
        "Accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ),
    ("Accept-Language", "en-US,en;q=0.5"),
    ("Accept-Encoding", "gzip, deflate"),
    ("Connection", "keep-alive"),
];

#[test]
fn crs_blocks_sqli_and_passes_a_browser_get() {
    let rules = load_crs();
    let tx = crs_request(&rules, "/index.html?page=2&sort=name", BROWSER);
    let attacks: Vec<u64> = tx.matched_rules().iter().filter(|m| m.logged).map(|m| m.id).collect();
    assert!(attacks.is_empty(), "benign request matched {attacks:?}");
    assert!(tx.intervention().is_none());
    assert_eq!(tx.inbound_anomaly_score(), 0);

    let tx = crs_request(&rules, "/?id=1%27%20OR%20%271%27%3D%271", BROWSER);
    let ids: Vec<u64> = tx.matched_rules().iter().filter(|m| m.logged).map(|m| m.id).collect();
    assert!(ids.contains(&942100), "libinjection SQLi rule did not match: {ids:?}");
    assert!(ids.contains(&949110), "blocking evaluation did not match: {ids:?}");
    assert!(tx.inbound_anomaly_score() >= 5);
    let iv = tx.intervention().expect("CRS blocks with SecRuleEngine On");
    assert_eq!(iv.rule_id, 949110);
    assert_eq!(iv.status, 403);
}
