//! The runner end to end on a small rule set: YAML in, the WAF filter's exchange in the
//! middle, verdicts out.

use meshward_ftw::config::load_filter_with;
use meshward_ftw::http1::ProxyOptions;
use meshward_ftw::load::parse_file;
use meshward_ftw::run::{run_case, Outcome};
use meshward_ftw::skips::Skips;
use serde_json::json;
use std::path::Path;

/// Detect mode, body access on both ways, responses of these types inspected, no CRS.
const RULES: [&str; 4] = [
    r#"SecRule ARGS:q "@streq attack" "id:1001,phase:2,deny,log,msg:'attack in q',logdata:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR}'""#,
    r#"SecRule REQUEST_HEADERS:X-Quiet "@streq 1" "id:1002,phase:1,pass,nolog""#,
    r#"SecRule RESPONSE_BODY "@contains secret" "id:1003,phase:4,deny,log,msg:'leak'""#,
    r#"SecRule REQUEST_METHOD "@streq PUT" "id:1004,phase:1,pass,log,msg:'put'""#,
];

const TESTS: &str = r#"
rule_id: 1001
tests:
  - test_id: 1
    desc: form argument is found in the body
    stages:
      - input:
          method: POST
          uri: /post
          headers: {Host: localhost}
          data: "q=attack"
        output:
          status: 200
          log:
            expect_ids: [1001]
            match_regex: 'msg "attack in q"\] \[data "ARGS:q=attack"\]'
  - test_id: 2
    desc: the same request, expected clean (must fail)
    stages:
      - input:
          method: POST
          uri: /post
          headers: {Host: localhost}
          data: "q=attack"
        output:
          log:
            no_expect_ids: [1001]
  - test_id: 3
    desc: a nolog rule matches but is not in the log
    stages:
      - input:
          headers: {Host: localhost, X-Quiet: "1"}
        output:
          log:
            expect_ids: [1002]
  - test_id: 4
    desc: response body from albedo's reflect endpoint
    stages:
      - input:
          method: POST
          uri: /reflect
          headers: {Host: localhost, Content-Type: application/json}
          data: '{"body": "the secret is out"}'
        output:
          log:
            expect_ids: [1003]
  - test_id: 5
    desc: unknown method, refused by Envoy
    stages:
      - input:
          method: FOO
          headers: {Host: localhost}
        output:
          log:
            expect_ids: [1004]
  - test_id: 6
    desc: a refusal the test expects
    stages:
      - input:
          encoded_request: "R0VUIC8gSFRUUC8xLjENCkhvc3Q6IGxvY2FsaG9zdA0KQmFkIE5hbWU6IHgNCg0K"
        output:
          status: 400
  - test_id: 7
    desc: two stages, the second fails
    stages:
      - input:
          method: PUT
          headers: {Host: localhost}
        output:
          log:
            expect_ids: [1004]
      - input:
          headers: {Host: localhost}
        output:
          log:
            expect_ids: [1004]
  - test_id: 8
    desc: skipped by the skip list
    stages:
      - input: {}
        output: {}
"#;

fn outcomes() -> Vec<(String, Outcome)> {
    let rules = load_filter_with(&json!({
        "mode": "detect",
        "crs": false,
        "response_body": { "mime_types": ["text/plain", "text/html"] },
        "directives": RULES,
    }))
    .expect("rules load");
    let cases = parse_file(TESTS, Path::new("1001.yaml")).expect("tests load");
    let skips = Skips::parse("[[skip]]\nid = \"1001-8\"\nreason = \"shows skips\"\n").unwrap();
    cases
        .iter()
        .map(|c| {
            let r = run_case(&rules, c, &skips, &ProxyOptions::default());
            (r.id, r.outcome)
        })
        .collect()
}

#[test]
fn verdicts() {
    let results = outcomes();
    let get = |id: &str| results.iter().find(|(i, _)| i == id).map(|(_, o)| o.clone()).unwrap();
    assert_eq!(get("1001-1"), Outcome::Passed);
    assert!(matches!(get("1001-2"), Outcome::Failed(r) if r == "unexpected ids logged: [1001]"));
    assert!(matches!(get("1001-3"), Outcome::Failed(r) if r.contains("matched but nolog: [1002]")));
    assert_eq!(get("1001-4"), Outcome::Passed);
    assert!(matches!(get("1001-5"), Outcome::ProxyRejected(r) if r.contains("unknown method")));
    assert_eq!(get("1001-6"), Outcome::Passed);
    assert!(matches!(get("1001-7"), Outcome::Failed(r) if r.starts_with("stage 2:")));
    assert_eq!(get("1001-8"), Outcome::Skipped("shows skips".into()));
}

#[test]
fn enforcing_engine_answers_with_its_status() {
    let rules = load_filter_with(&json!({
        "mode": "enforce",
        "crs": false,
        "directives": [r#"SecRule ARGS:q "@streq attack" "id:7,phase:1,deny,status:418,log,msg:'teapot'""#],
    }))
    .expect("rules load");
    let tests = r#"
tests:
  - test_id: 1
    stages:
      - input:
          uri: "/?q=attack"
          headers: {Host: localhost}
        output:
          status: 418
          response_contains: "^HTTP/1.1 418 "
          log:
            expect_ids: [7]
  - test_id: 2
    stages:
      - input:
          uri: "/?q=fine"
          headers: {Host: localhost}
        output:
          status: 200
          log:
            no_expect_ids: [7]
"#;
    let cases = parse_file(tests, Path::new("7.yaml")).unwrap();
    for case in &cases {
        let result = run_case(&rules, case, &Skips::default(), &ProxyOptions::default());
        assert_eq!(result.outcome, Outcome::Passed, "{}", result.id);
    }
}
