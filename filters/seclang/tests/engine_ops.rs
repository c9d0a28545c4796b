//! End-to-end rule tests that need real operators and body processors: captures, negation,
//! multiMatch, operator macros, JSON/multipart/XML bodies and CRS-style anomaly scoring.

use meshward_seclang::{RuleSet, Transaction};

fn load(text: &str) -> RuleSet {
    RuleSet::from_str(text, "ops.conf").unwrap_or_else(|e| panic!("load failed: {e}"))
}

fn run(rules: &RuleSet, method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Transaction {
    let mut tx = rules.transaction();
    tx.process_connection("198.51.100.7", 50000, "198.51.100.1", 443);
    tx.process_uri(uri.as_bytes(), method, "1.1");
    tx.add_request_header(b"Host", b"shop.example");
    for (k, v) in headers {
        tx.add_request_header(k.as_bytes(), v.as_bytes());
    }
    tx.process_request_headers();
    tx.append_request_body(body);
    tx.process_request_body();
    tx.process_response_headers(200, "HTTP/1.1");
    tx.process_response_body();
    tx.process_logging();
    tx
}

fn get(rules: &RuleSet, uri: &str) -> Transaction {
    run(rules, "GET", uri, &[], b"")
}

fn txv(tx: &Transaction, name: &str) -> Option<String> {
    tx.tx_var(name)
}

#[test]
fn capture_sets_tx_groups() {
    let rules = load(
        r#"SecRule ARGS:a "@rx ^(\w+)-(\d+)$" "id:1,phase:2,pass,capture,setvar:tx.word=%{TX.1},setvar:tx.num=%{tx.2},setvar:tx.all=%{TX.0}""#,
    );
    let tx = get(&rules, "/?a=order-42");
    assert_eq!(txv(&tx, "word").as_deref(), Some("order"));
    assert_eq!(txv(&tx, "num").as_deref(), Some("42"));
    assert_eq!(txv(&tx, "all").as_deref(), Some("order-42"));
    // Without `capture` nothing is set.
    let rules = load(r#"SecRule ARGS:a "@rx ^(\w+)$" "id:1,phase:2,pass,setvar:tx.word=%{TX.1}""#);
    let tx = get(&rules, "/?a=order");
    assert_eq!(txv(&tx, "word").as_deref(), Some(""));
}

#[test]
fn negated_operator() {
    let rules = load(r#"SecRule ARGS:a "!@rx ^\d+$" "id:1,phase:2,pass,setvar:tx.bad=%{MATCHED_VAR}""#);
    assert_eq!(txv(&get(&rules, "/?a=abc"), "bad").as_deref(), Some("abc"));
    assert_eq!(txv(&get(&rules, "/?a=123"), "bad"), None);
    // A missing variable gives nothing to test, so even a negated operator does not match.
    assert_eq!(txv(&get(&rules, "/?b=abc"), "bad"), None);
}

#[test]
fn multi_match_tests_every_transformation_stage() {
    let text =
        |mm: &str| format!(r#"SecRule ARGS:a "@rx <script" "id:1,phase:2,pass,t:none,t:urlDecode{mm},setvar:tx.n=+1""#);
    // ARGS value `<script%3E`: matches raw and again after urlDecode changed it.
    let tx = get(&load(&text(",multiMatch")), "/?a=%3Cscript%253E");
    assert_eq!(txv(&tx, "n").as_deref(), Some("2"));
    let tx = get(&load(&text("")), "/?a=%3Cscript%253E");
    assert_eq!(txv(&tx, "n").as_deref(), Some("1"));
    // Only the decoded stage matches.
    let tx = get(&load(&text(",multiMatch")), "/?a=%253Cscript");
    assert_eq!(txv(&tx, "n").as_deref(), Some("1"));
}

#[test]
fn operator_arguments_expand_macros() {
    let rules = load(
        r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.want=xyz,setvar:tx.limit=3"
SecRule ARGS:a "@streq %{tx.want}" "id:2,phase:2,pass,setvar:tx.same=1"
SecRule &ARGS "@gt %{tx.limit}" "id:3,phase:2,pass,setvar:tx.many=1"
"#,
    );
    let tx = get(&rules, "/?a=xyz&b=1&c=2&d=3");
    assert_eq!(txv(&tx, "same").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "many").as_deref(), Some("1"));
    let tx = get(&rules, "/?a=xy");
    assert_eq!(txv(&tx, "same"), None);
    assert_eq!(txv(&tx, "many"), None);
}

#[test]
fn missing_header_counted_as_zero() {
    let rules = load(r#"SecRule &REQUEST_HEADERS:X-Api-Key "@eq 0" "id:1,phase:1,pass,setvar:tx.nokey=1""#);
    assert_eq!(txv(&get(&rules, "/"), "nokey").as_deref(), Some("1"));
    let tx = run(&rules, "GET", "/", &[("X-API-KEY", "k")], b"");
    assert_eq!(txv(&tx, "nokey"), None);
}

#[test]
fn json_body_with_ctl_processor() {
    let rules = load(
        r#"
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "@rx ^application/json" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule ARGS_POST:json.user.name "@rx ^(.*)$" "id:2,phase:2,pass,capture,setvar:tx.name=%{TX.1}"
SecRule REQBODY_PROCESSOR "@streq JSON" "id:3,phase:2,pass,setvar:tx.proc=1"
SecRule REQBODY_ERROR "!@eq 0" "id:4,phase:2,pass,setvar:tx.err=%{REQBODY_ERROR_MSG}"
"#,
    );
    let tx = run(
        &rules,
        "POST",
        "/api",
        &[("Content-Type", "application/json")],
        br#"{"user":{"name":"bob"}}"#,
    );
    assert_eq!(txv(&tx, "name").as_deref(), Some("bob"));
    assert_eq!(txv(&tx, "proc").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "err"), None);
    let tx = run(
        &rules,
        "POST",
        "/api",
        &[("Content-Type", "application/json")],
        br#"{"user":"#,
    );
    assert!(txv(&tx, "err").is_some_and(|m| m.starts_with("JSON parsing error")));
}

#[test]
fn multipart_body_files_and_flags() {
    let rules = load(
        r#"
SecRequestBodyAccess On
SecRule FILES "@rx ^(.+)$" "id:1,phase:2,pass,capture,setvar:tx.file=%{TX.1}"
SecRule FILES_NAMES "@rx ^(.+)$" "id:2,phase:2,pass,capture,setvar:tx.field=%{TX.1}"
SecRule ARGS_POST:comment "@rx ^(.+)$" "id:3,phase:2,pass,capture,setvar:tx.comment=%{TX.1}"
SecRule MULTIPART_STRICT_ERROR "@eq 0" "id:4,phase:2,pass,setvar:tx.strict_ok=1"
SecRule REQBODY_PROCESSOR "@streq MULTIPART" "id:5,phase:1,pass,setvar:tx.early=1"
"#,
    );
    let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nnice\r\n--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"cat.png\"\r\nContent-Type: image/png\r\n\r\nPNGDATA\r\n--XyZ--\r\n";
    let tx = run(
        &rules,
        "POST",
        "/up",
        &[("Content-Type", "multipart/form-data; boundary=XyZ")],
        body,
    );
    assert_eq!(txv(&tx, "comment").as_deref(), Some("nice"));
    assert_eq!(txv(&tx, "file").as_deref(), Some("cat.png"));
    assert_eq!(txv(&tx, "field").as_deref(), Some("upload"));
    assert_eq!(txv(&tx, "strict_ok").as_deref(), Some("1"));
    // ModSecurity v3 knows the processor from the Content-Type header already in phase 1.
    assert_eq!(txv(&tx, "early").as_deref(), Some("1"));
}

#[test]
fn xml_body() {
    let rules = load(
        r#"
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "@rx xml" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule XML:/* "@rx secret" "id:2,phase:2,pass,setvar:tx.text=1"
SecRule XML://@* "@streq admin" "id:3,phase:2,pass,setvar:tx.attr=1"
"#,
    );
    let tx = run(
        &rules,
        "POST",
        "/x",
        &[("Content-Type", "text/xml")],
        br#"<a role="admin"><b>top secret</b></a>"#,
    );
    assert_eq!(txv(&tx, "text").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "attr").as_deref(), Some("1"));
}

#[test]
fn anomaly_scoring_like_crs() {
    let rules = load(
        r#"
SecRuleEngine On
SecDefaultAction "phase:2,log,auditlog,pass"
SecAction "id:900,phase:1,pass,nolog,setvar:tx.critical_anomaly_score=5,setvar:tx.inbound_anomaly_score_threshold=5,setvar:tx.blocking_inbound_anomaly_score=0"
SecRule ARGS "@rx (?i)union\s+select" "id:942999,phase:2,block,t:none,t:urlDecodeUni,msg:'SQLi',logdata:'Matched Data: %{TX.0} found within %{MATCHED_VAR_NAME}: %{MATCHED_VAR}',capture,severity:CRITICAL,tag:'attack-sqli',setvar:'tx.blocking_inbound_anomaly_score=+%{tx.critical_anomaly_score}'"
SecRule TX:BLOCKING_INBOUND_ANOMALY_SCORE "@ge %{tx.inbound_anomaly_score_threshold}" "id:949110,phase:2,deny,t:none,msg:'Inbound Anomaly Score Exceeded (Total Score: %{TX.BLOCKING_INBOUND_ANOMALY_SCORE})',tag:'anomaly-evaluation'"
"#,
    );
    let tx = get(&rules, "/?id=1%20UNION%20SELECT%20pass");
    assert_eq!(tx.inbound_anomaly_score(), 5);
    let iv = tx.intervention().expect("blocked");
    assert_eq!((iv.rule_id, iv.status), (949110, 403));
    assert_eq!(iv.log, "Inbound Anomaly Score Exceeded (Total Score: 5)");
    let m = tx
        .matched_rules()
        .iter()
        .find(|m| m.id == 942999)
        .expect("942999 matched");
    assert_eq!(
        m.logdata,
        "Matched Data: UNION SELECT found within ARGS:id: 1 UNION SELECT pass"
    );
    assert_eq!(m.variable, "ARGS:id");
    assert_eq!(m.severity, Some(2));
    let tx = get(&rules, "/?id=42");
    assert!(tx.intervention().is_none());
    // Only the nolog initialisation rule matched.
    let ids: Vec<(u64, bool)> = tx.matched_rules().iter().map(|m| (m.id, m.logged)).collect();
    assert_eq!(ids, vec![(900, false)]);
}

#[test]
fn request_body_variable_per_processor() {
    let rules = load(
        r#"
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "@rx xml" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "@rx json" "id:2,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQUEST_HEADERS:X-Force "@streq 1" "id:3,phase:1,pass,nolog,ctl:forceRequestBodyVariable=On"
SecRule REQUEST_BODY "@rx ." "id:4,phase:2,pass,setvar:tx.seen=1"
"#,
    );
    let xml = br#"<a><java.lang.Runtime/></a>"#;
    assert_eq!(
        txv(&run(&rules, "POST", "/", &[("Content-Type", "text/xml")], xml), "seen"),
        None
    );
    let forced = run(
        &rules,
        "POST",
        "/",
        &[("Content-Type", "text/xml"), ("X-Force", "1")],
        xml,
    );
    assert_eq!(txv(&forced, "seen").as_deref(), Some("1"));
    let json = run(
        &rules,
        "POST",
        "/",
        &[("Content-Type", "application/json")],
        br#"{"a":1}"#,
    );
    assert_eq!(txv(&json, "seen").as_deref(), Some("1"));
    let plain = run(&rules, "POST", "/", &[("Content-Type", "text/plain")], b"hello");
    assert_eq!(txv(&plain, "seen").as_deref(), Some("1"));
}

#[test]
fn more_variables() {
    let rules = load(
        r#"
SecRequestBodyAccess On
SecResponseBodyAccess On
SecRule REQUEST_HEADERS_NAMES "@streq X-Trace" "id:1,phase:1,pass,setvar:tx.hname=%{MATCHED_VAR_NAME}"
SecRule ARGS_GET_NAMES "@streq g" "id:2,phase:2,pass,setvar:tx.gname=1"
SecRule ARGS_POST_NAMES "@streq g" "id:3,phase:2,pass,setvar:tx.pname=1"
SecRule FILES_SIZES "@eq 7" "id:4,phase:2,pass,setvar:tx.fsize=%{MATCHED_VAR_NAME}"
SecRule FILES_COMBINED_SIZE "@eq 7" "id:5,phase:2,pass,setvar:tx.fcomb=1"
SecRule MULTIPART_PART_HEADERS:upload "@rx (?i)^content-type: image/png$" "id:6,phase:2,pass,setvar:tx.ph=1"
SecRule AUTH_TYPE "@streq Basic" "id:7,phase:1,pass,setvar:tx.auth=1,setvar:tx.user=%{REMOTE_USER}"
SecRule FULL_REQUEST "@rx ^POST /up\?g=1 HTTP/1\.1\r\n" "id:8,phase:2,pass,setvar:tx.full=1"
SecRule &TX:/^h/ "@eq 1" "id:9,phase:2,pass,setvar:tx.count_h=1"
SecAction "id:10,phase:2,pass,nolog,setenv:MESHWARD_TEST=on"
SecAction "id:14,phase:2,pass,nolog,setvar:tx.env=%{ENV.MESHWARD_TEST}"
SecRule MATCHED_VARS_NAMES "@unconditionalMatch" "id:11,phase:2,pass,nolog"
SecRule STATUS_LINE "@streq HTTP/1.1 201" "id:12,phase:3,pass,setvar:tx.status_line=1"
SecRule RESPONSE_PROTOCOL "@streq HTTP/1.1" "id:13,phase:3,pass,setvar:tx.rproto=1"
"#,
    );
    let body = b"--B\r\nContent-Disposition: form-data; name=\"g\"\r\n\r\nv\r\n--B\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nPNGDATA\r\n--B--\r\n";
    let mut tx = rules.transaction();
    tx.process_connection("198.51.100.7", 50000, "198.51.100.1", 443);
    tx.process_uri(b"/up?g=1", "POST", "1.1");
    tx.add_request_header(b"Host", b"shop.example");
    tx.add_request_header(b"X-Trace", b"1");
    // "alice:secret"
    tx.add_request_header(b"Authorization", b"Basic YWxpY2U6c2VjcmV0");
    tx.add_request_header(b"Content-Type", b"multipart/form-data; boundary=B");
    tx.process_request_headers();
    tx.append_request_body(body);
    tx.process_request_body();
    tx.process_response_headers(201, "HTTP/1.1");
    tx.process_logging();
    assert_eq!(txv(&tx, "hname").as_deref(), Some("REQUEST_HEADERS_NAMES:X-Trace"));
    assert_eq!(txv(&tx, "gname").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "pname").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "fsize").as_deref(), Some("FILES_SIZES:upload"));
    assert_eq!(txv(&tx, "fcomb").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "ph").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "auth").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "user").as_deref(), Some("alice"));
    assert_eq!(txv(&tx, "full").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "count_h").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "env").as_deref(), Some("on"));
    assert_eq!(txv(&tx, "status_line").as_deref(), Some("1"));
    assert_eq!(txv(&tx, "rproto").as_deref(), Some("1"));
}
