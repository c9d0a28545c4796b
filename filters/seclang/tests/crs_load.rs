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
    assert!(rules.has_rule(942100));
    assert!(rules.has_rule(900990));
    // The only directives CRS has that do nothing here would be reported as warnings.
    assert!(rules.warnings().is_empty(), "{:?}", rules.warnings());
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
