//! End-to-end engine tests: a few rules, one transaction, expected evidence.
//! These use only `@unconditionalMatch` so they pin the engine core, not operator behaviour.

use meshward_seclang::{EngineMode, ErrorKind, InterventionAction, Phase, RuleSet, Transaction};

fn load(text: &str) -> RuleSet {
    RuleSet::from_str(text, "test.conf").unwrap_or_else(|e| panic!("load failed: {e}"))
}

fn run(rules: &RuleSet, uri: &str, method: &str, headers: &[(&str, &str)], body: &[u8]) -> Transaction {
    let mut tx = rules.transaction();
    tx.process_connection("192.0.2.10", 40000, "192.0.2.1", 8080);
    tx.process_uri(uri.as_bytes(), method, "1.1");
    for (k, v) in headers {
        tx.add_request_header(k.as_bytes(), v.as_bytes());
    }
    tx.process_request_headers();
    tx.append_request_body(body);
    tx.process_request_body();
    tx.add_response_header(b"Content-Type", b"text/html");
    tx.process_response_headers(200, "HTTP/1.1");
    tx.append_response_body(b"<html>ok</html>");
    tx.process_response_body();
    tx.process_logging();
    tx
}

fn run_get(rules: &RuleSet, uri: &str) -> Transaction {
    run(
        rules,
        uri,
        "GET",
        &[("Host", "example.com"), ("User-Agent", "test/1.0")],
        b"",
    )
}

fn txv(tx: &Transaction, name: &str) -> String {
    tx.tx_var(name).unwrap_or_else(|| panic!("tx.{name} unset"))
}

#[test]
fn setvar_arithmetic_and_macros() {
    let rules = load(
        r#"SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=5,setvar:tx.a=+3,setvar:'tx.b=%{tx.a}',setvar:tx.a=-2,setvar:tx.c+=4,setvar:tx.c-=1,setvar:tx.gone=1,setvar:!tx.gone,setvar:tx.flag""#,
    );
    let tx = run_get(&rules, "/");
    assert_eq!(txv(&tx, "a"), "6");
    assert_eq!(txv(&tx, "b"), "8");
    assert_eq!(txv(&tx, "c"), "3");
    assert_eq!(txv(&tx, "flag"), "1");
    assert!(tx.tx_var("gone").is_none());
    // Collection keys are case-insensitive.
    assert_eq!(txv(&tx, "A"), "6");
}

#[test]
fn setvar_name_macro() {
    let rules = load(r#"SecAction "id:77,phase:1,pass,nolog,setvar:'tx.%{rule.id}-x=%{REQUEST_METHOD}'""#);
    let tx = run_get(&rules, "/");
    assert_eq!(txv(&tx, "77-x"), "GET");
}

#[test]
fn deny_is_enforced_when_on() {
    let rules = load("SecRuleEngine On\nSecAction \"id:10,phase:1,deny,status:418,msg:'no %{REQUEST_METHOD}'\"\nSecAction \"id:11,phase:2,pass,setvar:tx.phase2=1\"");
    let tx = run_get(&rules, "/");
    let iv = tx.intervention().expect("intervention");
    assert_eq!(iv.status, 418);
    assert_eq!(iv.rule_id, 10);
    assert_eq!(iv.phase, Phase::RequestHeaders);
    assert_eq!(iv.action, InterventionAction::Deny);
    assert_eq!(iv.log, "no GET");
    // Phase 2 never ran.
    assert!(tx.tx_var("phase2").is_none());
    assert_eq!(tx.matched_rules().len(), 1);
}

#[test]
fn detection_only_records_but_does_not_enforce() {
    let rules = load("SecRuleEngine DetectionOnly\nSecAction \"id:10,phase:1,deny\"\nSecAction \"id:11,phase:2,pass,setvar:tx.phase2=1\"");
    let tx = run_get(&rules, "/");
    assert!(tx.intervention().is_none());
    let d = tx.decision().expect("decision recorded");
    assert_eq!((d.rule_id, d.status), (10, 403));
    assert_eq!(txv(&tx, "phase2"), "1");
}

#[test]
fn engine_off_runs_nothing() {
    let rules = load("SecRuleEngine Off\nSecAction \"id:10,phase:1,deny,setvar:tx.x=1\"");
    let tx = run_get(&rules, "/");
    assert!(tx.intervention().is_none());
    assert!(tx.tx_var("x").is_none());
    assert!(tx.matched_rules().is_empty());
}

#[test]
fn ctl_rule_engine_switches_mode() {
    let rules = load("SecRuleEngine On\nSecAction \"id:1,phase:1,pass,nolog,ctl:ruleEngine=DetectionOnly\"\nSecAction \"id:2,phase:2,deny\"");
    let tx = run_get(&rules, "/");
    assert_eq!(tx.engine_mode(), EngineMode::DetectionOnly);
    assert!(tx.intervention().is_none());
    assert_eq!(tx.decision().map(|d| d.rule_id), Some(2));
}

#[test]
fn block_uses_the_phase_default_action() {
    let rules = load(
        "SecRuleEngine On\nSecDefaultAction \"phase:2,log,auditlog,deny,status:406\"\nSecAction \"id:5,phase:2,block\"",
    );
    let tx = run_get(&rules, "/");
    let iv = tx.intervention().expect("blocked");
    assert_eq!((iv.rule_id, iv.status), (5, 406));
    // CRS-style default: block means pass.
    let rules =
        load("SecRuleEngine On\nSecDefaultAction \"phase:2,log,auditlog,pass\"\nSecAction \"id:5,phase:2,block\"");
    let tx = run_get(&rules, "/");
    assert!(tx.intervention().is_none());
    assert_eq!(tx.matched_rules()[0].disruptive, "block");
    // libmodsecurity v3: without `block` the default's disruptive action does not apply.
    let rules =
        load("SecRuleEngine On\nSecDefaultAction \"phase:2,log,auditlog,deny\"\nSecAction \"id:5,phase:2,log\"");
    let tx = run_get(&rules, "/");
    assert!(tx.intervention().is_none());
    assert_eq!(tx.matched_rules().len(), 1);
}

#[test]
fn skip_after_and_markers() {
    let rules = load(
        r#"
SecAction "id:1,phase:1,pass,nolog,skipAfter:END"
SecAction "id:2,phase:1,pass,nolog,setvar:tx.skipped=1"
SecMarker END
SecAction "id:3,phase:1,pass,nolog,setvar:tx.after=1"
SecAction "id:4,phase:2,pass,nolog,skip:1"
SecAction "id:5,phase:2,pass,nolog,setvar:tx.skipped2=1"
SecAction "id:6,phase:2,pass,nolog,setvar:tx.after2=1"
"#,
    );
    let tx = run_get(&rules, "/");
    assert!(tx.tx_var("skipped").is_none());
    assert_eq!(txv(&tx, "after"), "1");
    assert!(tx.tx_var("skipped2").is_none());
    assert_eq!(txv(&tx, "after2"), "1");
}

#[test]
fn chain_requires_every_link() {
    let rules = load(
        r#"
SecRule ARGS:a "@unconditionalMatch" "id:20,phase:2,pass,chain,msg:'chained'"
    SecRule ARGS:b "@unconditionalMatch" "setvar:tx.chained=%{MATCHED_VAR}"
"#,
    );
    let tx = run_get(&rules, "/?a=1");
    assert!(tx.tx_var("chained").is_none());
    assert!(tx.matched_rules().is_empty());
    let tx = run_get(&rules, "/?a=1&b=two");
    assert_eq!(txv(&tx, "chained"), "two");
    let m = &tx.matched_rules()[0];
    assert_eq!(m.id, 20);
    assert_eq!(m.msg, "chained");
    assert_eq!(m.variable, "ARGS:a");
    assert_eq!(m.matches.len(), 2);
}

#[test]
fn counting_and_exclusions() {
    let rules = load(
        r#"
SecRule &ARGS "@unconditionalMatch" "id:30,phase:2,pass,nolog,setvar:tx.n=%{MATCHED_VAR}"
SecRule &ARGS|!ARGS:b "@unconditionalMatch" "id:31,phase:2,pass,nolog,setvar:tx.m=%{MATCHED_VAR}"
SecRule &ARGS:missing "@unconditionalMatch" "id:32,phase:2,pass,nolog,setvar:tx.z=%{MATCHED_VAR}"
SecRule ARGS|!ARGS:/^b/ "@unconditionalMatch" "id:33,phase:2,pass,nolog,setvar:tx.seen=+1"
"#,
    );
    let tx = run_get(&rules, "/?a=1&b=2&B2=3&c=4");
    assert_eq!(txv(&tx, "n"), "4");
    assert_eq!(txv(&tx, "m"), "3");
    assert_eq!(txv(&tx, "z"), "0");
    // setvar runs once per matching value: a and c.
    assert_eq!(txv(&tx, "seen"), "2");
}

#[test]
fn request_variables() {
    let rules = load(
        r#"
SecRule REQUEST_FILENAME "@unconditionalMatch" "id:40,phase:1,pass,nolog,setvar:tx.filename=%{MATCHED_VAR}"
SecRule REQUEST_BASENAME "@unconditionalMatch" "id:41,phase:1,pass,nolog,setvar:tx.basename=%{MATCHED_VAR}"
SecRule QUERY_STRING "@unconditionalMatch" "id:42,phase:1,pass,nolog,setvar:tx.qs=%{MATCHED_VAR}"
SecRule REQUEST_LINE "@unconditionalMatch" "id:43,phase:1,pass,nolog,setvar:tx.line=%{MATCHED_VAR}"
SecRule REQUEST_URI "@unconditionalMatch" "id:44,phase:1,pass,nolog,setvar:tx.uri=%{MATCHED_VAR}"
SecRule REQUEST_URI_RAW "@unconditionalMatch" "id:45,phase:1,pass,nolog,setvar:tx.raw=%{MATCHED_VAR}"
SecRule REQUEST_HEADERS:user-agent "@unconditionalMatch" "id:46,phase:1,pass,nolog,setvar:tx.ua=%{MATCHED_VAR},setvar:tx.uaname=%{MATCHED_VAR_NAME}"
SecRule ARGS_NAMES "@unconditionalMatch" "id:47,phase:1,pass,nolog,setvar:tx.argname=%{MATCHED_VAR}"
SecRule REQUEST_PROTOCOL "@unconditionalMatch" "id:48,phase:1,pass,nolog,setvar:tx.proto=%{MATCHED_VAR}"
SecRule REMOTE_ADDR "@unconditionalMatch" "id:49,phase:1,pass,nolog,setvar:tx.ip=%{MATCHED_VAR},setvar:tx.port=%{REMOTE_PORT}"
SecRule REQUEST_COOKIES:SID "@unconditionalMatch" "id:50,phase:1,pass,nolog,setvar:tx.sid=%{MATCHED_VAR}"
SecRule REQUEST_COOKIES_NAMES "@unconditionalMatch" "id:51,phase:1,pass,nolog,setvar:tx.cookies=+1"
SecRule ARGS_COMBINED_SIZE "@unconditionalMatch" "id:52,phase:1,pass,nolog,setvar:tx.size=%{MATCHED_VAR}"
SecAction "id:53,phase:1,pass,nolog,setvar:tx.host=%{request_headers.host},setvar:tx.server=%{SERVER_NAME}"
"#,
    );
    let tx = run(
        &rules,
        "/dir/p%61ge.php?a%20b=c+d%zz#frag",
        "GET",
        &[
            ("Host", "example.com:8080"),
            ("User-Agent", "Mozilla"),
            ("Cookie", "sid=abc; theme=dark"),
        ],
        b"",
    );
    assert_eq!(txv(&tx, "filename"), "/dir/page.php");
    assert_eq!(txv(&tx, "basename"), "page.php");
    assert_eq!(txv(&tx, "qs"), "a%20b=c+d%zz");
    assert_eq!(txv(&tx, "line"), "GET /dir/p%61ge.php?a%20b=c+d%zz#frag HTTP/1.1");
    assert_eq!(txv(&tx, "uri"), "/dir/page.php?a b=c+d%zz");
    assert_eq!(txv(&tx, "raw"), "/dir/p%61ge.php?a%20b=c+d%zz#frag");
    assert_eq!(txv(&tx, "ua"), "Mozilla");
    assert_eq!(txv(&tx, "uaname"), "REQUEST_HEADERS:User-Agent");
    assert_eq!(txv(&tx, "argname"), "a b");
    assert_eq!(txv(&tx, "proto"), "HTTP/1.1");
    assert_eq!(txv(&tx, "ip"), "192.0.2.10");
    assert_eq!(txv(&tx, "port"), "40000");
    assert_eq!(txv(&tx, "sid"), "abc");
    assert_eq!(txv(&tx, "cookies"), "2");
    // "a b" (3) + "c d%zz" (6)
    assert_eq!(txv(&tx, "size"), "9");
    assert_eq!(txv(&tx, "host"), "example.com:8080");
    assert_eq!(txv(&tx, "server"), "example.com");
}

#[test]
fn urlencoded_body_becomes_args_post() {
    let rules = load(
        r#"
SecRequestBodyAccess On
SecRule ARGS_POST:user "@unconditionalMatch" "id:60,phase:2,pass,nolog,setvar:tx.user=%{MATCHED_VAR}"
SecRule REQBODY_PROCESSOR "@unconditionalMatch" "id:61,phase:2,pass,nolog,setvar:tx.proc=%{MATCHED_VAR}"
SecRule REQUEST_BODY "@unconditionalMatch" "id:62,phase:2,pass,nolog,setvar:tx.body=%{MATCHED_VAR}"
SecRule REQUEST_BODY_LENGTH "@unconditionalMatch" "id:63,phase:2,pass,nolog,setvar:tx.len=%{MATCHED_VAR}"
SecRule ARGS:user "@unconditionalMatch" "id:64,phase:1,pass,nolog,setvar:tx.phase1=%{MATCHED_VAR}"
"#,
    );
    let tx = run(
        &rules,
        "/login",
        "POST",
        &[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
        b"user=al%69ce&x=1",
    );
    assert_eq!(txv(&tx, "user"), "alice");
    assert_eq!(txv(&tx, "proc"), "URLENCODED");
    assert_eq!(txv(&tx, "body"), "user=al%69ce&x=1");
    assert_eq!(txv(&tx, "len"), "16");
    // Body arguments do not exist in phase 1.
    assert!(tx.tx_var("phase1").is_none());
}

#[test]
fn request_body_access_off_keeps_body_out() {
    let rules = load(r#"SecRule ARGS_POST "@unconditionalMatch" "id:60,phase:2,pass,nolog,setvar:tx.seen=1""#);
    let tx = run(
        &rules,
        "/",
        "POST",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"a=1",
    );
    assert!(tx.tx_var("seen").is_none());
}

#[test]
fn request_body_limit_reject() {
    let rules = load("SecRuleEngine On\nSecRequestBodyAccess On\nSecRequestBodyLimit 8\nSecRequestBodyLimitAction Reject\nSecRule INBOUND_DATA_ERROR \"@unconditionalMatch\" \"id:70,phase:2,pass,nolog,setvar:tx.err=%{MATCHED_VAR}\"");
    let tx = run(&rules, "/", "POST", &[("Content-Type", "text/plain")], b"0123456789");
    let iv = tx.intervention().expect("413");
    assert_eq!(iv.status, 413);
    assert_eq!(iv.action, InterventionAction::BodyLimit);
    let rules = load("SecRuleEngine On\nSecRequestBodyAccess On\nSecRequestBodyLimit 8\nSecRequestBodyLimitAction ProcessPartial\nSecRule REQUEST_BODY \"@unconditionalMatch\" \"id:70,phase:2,pass,nolog,setvar:tx.body=%{MATCHED_VAR},setvar:tx.err=%{INBOUND_DATA_ERROR}\"");
    let tx = run(&rules, "/", "POST", &[("Content-Type", "text/plain")], b"0123456789");
    assert!(tx.intervention().is_none());
    assert_eq!(txv(&tx, "body"), "01234567");
    assert_eq!(txv(&tx, "err"), "1");
}

#[test]
fn ctl_rule_removal() {
    let rules = load(
        r#"
SecAction "id:1,phase:1,pass,nolog,ctl:ruleRemoveById=100-101,ctl:ruleRemoveByTag=attack-x,ctl:ruleRemoveTargetById=103;ARGS:secret"
SecAction "id:100,phase:2,pass,nolog,setvar:tx.r100=1"
SecAction "id:101,phase:2,pass,nolog,setvar:tx.r101=1"
SecAction "id:102,phase:2,pass,nolog,tag:'attack-x',setvar:tx.r102=1"
SecRule ARGS "@unconditionalMatch" "id:103,phase:2,pass,nolog,setvar:tx.r103=+1"
SecAction "id:104,phase:2,pass,nolog,setvar:tx.r104=1"
"#,
    );
    let tx = run_get(&rules, "/?secret=1&other=2");
    assert!(tx.tx_var("r100").is_none());
    assert!(tx.tx_var("r101").is_none());
    assert!(tx.tx_var("r102").is_none());
    assert_eq!(txv(&tx, "r103"), "1");
    assert_eq!(txv(&tx, "r104"), "1");
}

#[test]
fn allow_skips_later_request_phases() {
    let rules = load(
        r#"
SecRuleEngine On
SecAction "id:1,phase:1,allow:request"
SecAction "id:2,phase:2,deny"
SecAction "id:3,phase:3,pass,nolog,setvar:tx.p3=1"
"#,
    );
    let tx = run_get(&rules, "/");
    assert!(tx.intervention().is_none());
    assert_eq!(txv(&tx, "p3"), "1");
    let rules = load(
        r#"
SecRuleEngine On
SecAction "id:1,phase:1,allow"
SecAction "id:3,phase:3,pass,nolog,setvar:tx.p3=1"
SecAction "id:5,phase:5,pass,nolog,setvar:tx.p5=1"
"#,
    );
    let tx = run_get(&rules, "/");
    assert!(tx.tx_var("p3").is_none());
    assert_eq!(txv(&tx, "p5"), "1");
}

#[test]
fn matched_rule_evidence() {
    let rules = load(
        r#"SecRule ARGS:q "@unconditionalMatch" "id:942999,phase:2,block,t:none,t:lowercase,msg:'SQLi in %{MATCHED_VAR_NAME}',logdata:'Matched Data: %{MATCHED_VAR}',tag:'attack-sqli',tag:'OWASP_CRS',severity:'CRITICAL',ver:'OWASP_CRS/4.28.0',maturity:9,accuracy:8,rev:'2'""#,
    );
    let tx = run_get(&rules, "/?q=SELECT");
    let m = &tx.matched_rules()[0];
    assert_eq!(m.id, 942999);
    assert_eq!(m.phase, Phase::RequestBody);
    assert_eq!(m.msg, "SQLi in ARGS:q");
    assert_eq!(m.logdata, "Matched Data: select");
    assert_eq!(m.value, b"select");
    assert_eq!(m.severity, Some(2));
    assert_eq!(m.tags, vec!["attack-sqli", "OWASP_CRS"]);
    assert_eq!(m.ver.as_deref(), Some("OWASP_CRS/4.28.0"));
    assert_eq!((m.maturity, m.accuracy), (Some(9), Some(8)));
    assert!(m.logged);
}

#[test]
fn default_transformations_are_inherited_unless_none() {
    let rules = load(
        r#"
SecDefaultAction "phase:2,log,pass,t:lowercase"
SecRule ARGS:q "@unconditionalMatch" "id:1,phase:2,pass,setvar:tx.inherited=%{MATCHED_VAR}"
SecRule ARGS:q "@unconditionalMatch" "id:2,phase:2,pass,t:none,setvar:tx.reset=%{MATCHED_VAR}"
"#,
    );
    let tx = run_get(&rules, "/?q=AbC");
    assert_eq!(txv(&tx, "inherited"), "abc");
    assert_eq!(txv(&tx, "reset"), "AbC");
}

#[test]
fn persistent_collections_survive_transactions() {
    let rules = load(
        r#"
SecAction "id:1,phase:1,pass,nolog,initcol:ip=%{REMOTE_ADDR}"
SecAction "id:2,phase:1,pass,nolog,setvar:ip.hits=+1"
SecAction "id:3,phase:1,pass,nolog,setvar:tx.hits=%{ip.hits}"
"#,
    );
    let tx = run_get(&rules, "/");
    assert_eq!(txv(&tx, "hits"), "1");
    let tx = run_get(&rules, "/");
    assert_eq!(txv(&tx, "hits"), "2");
    assert_eq!(tx.collection("ip").and_then(|c| c.get(b"hits")), Some(&b"2"[..]));
}

#[test]
fn response_phases_see_response_data() {
    let rules = load(
        r#"
SecResponseBodyAccess On
SecRule RESPONSE_STATUS "@unconditionalMatch" "id:1,phase:3,pass,nolog,setvar:tx.status=%{MATCHED_VAR}"
SecRule RESPONSE_HEADERS:content-type "@unconditionalMatch" "id:2,phase:3,pass,nolog,setvar:tx.ct=%{MATCHED_VAR}"
SecRule RESPONSE_BODY "@unconditionalMatch" "id:3,phase:4,pass,nolog,setvar:tx.body=%{MATCHED_VAR}"
"#,
    );
    let tx = run_get(&rules, "/");
    assert_eq!(txv(&tx, "status"), "200");
    assert_eq!(txv(&tx, "ct"), "text/html");
    assert_eq!(txv(&tx, "body"), "<html>ok</html>");
}

#[test]
fn load_time_updates_and_removals() {
    let rules = load(
        r#"
SecRule ARGS "@unconditionalMatch" "id:1,phase:2,pass,nolog,setvar:tx.one=+1"
SecAction "id:2,phase:2,pass,nolog,setvar:tx.two=1"
SecAction "id:3,phase:2,pass,nolog,setvar:tx.three=1,tag:'gone'"
SecAction "id:4,phase:2,pass,nolog,msg:'bye',setvar:tx.four=1"
SecAction "id:5,phase:2,pass,nolog"
SecRuleUpdateTargetById 1 "!ARGS:skip"
SecRuleRemoveById 2
SecRuleRemoveByTag gone
SecRuleRemoveByMsg bye
SecRuleUpdateActionById 5 "deny,status:499"
SecRuleEngine On
"#,
    );
    let tx = run_get(&rules, "/?skip=1&keep=2");
    assert_eq!(txv(&tx, "one"), "1");
    assert!(tx.tx_var("two").is_none());
    assert!(tx.tx_var("three").is_none());
    assert!(tx.tx_var("four").is_none());
    assert_eq!(tx.intervention().map(|i| (i.rule_id, i.status)), Some((5, 499)));
}

/// (rule text, expected error kind, line, rule id).
type ErrorCase = (&'static str, fn(&ErrorKind) -> bool, usize, Option<u64>);

#[test]
fn errors_carry_file_line_and_rule() {
    let cases: &[ErrorCase] = &[
        ("SecFoo On", |k| matches!(k, ErrorKind::UnknownDirective(_)), 1, None),
        (
            "\n\nSecAction \"id:9,frobnicate\"",
            |k| matches!(k, ErrorKind::UnknownAction(a) if a == "frobnicate"),
            3,
            Some(9),
        ),
        (
            "SecRule ARGZ \"@unconditionalMatch\" \"id:8\"",
            |k| matches!(k, ErrorKind::UnknownVariable(_)),
            1,
            Some(8),
        ),
        (
            "SecRule ARGS \"@noSuchOp x\" \"id:7\"",
            |k| matches!(k, ErrorKind::Operator(_)),
            1,
            Some(7),
        ),
        (
            "SecAction \"id:6,t:noSuchT\"",
            |k| matches!(k, ErrorKind::UnknownTransformation(t) if t == "noSuchT"),
            1,
            Some(6),
        ),
        (
            "SecAction \"phase:1,pass\"",
            |k| matches!(k, ErrorKind::Rule(_)),
            1,
            None,
        ),
        (
            "SecAction \"id:1\"\nSecAction \"id:1\"",
            |k| matches!(k, ErrorKind::DuplicateId(1)),
            2,
            Some(1),
        ),
        (
            "SecRule ARGS \"@unconditionalMatch\" \"id:2,chain\"",
            |k| matches!(k, ErrorKind::Rule(_)),
            1,
            Some(2),
        ),
        (
            "SecAction \"id:3,skipAfter:NOWHERE\"",
            |k| matches!(k, ErrorKind::Rule(_)),
            1,
            Some(3),
        ),
        (
            "SecRuleEngine Maybe",
            |k| matches!(k, ErrorKind::InvalidValue { .. }),
            1,
            None,
        ),
        (
            "SecAction \"id:4,phase:9\"",
            |k| matches!(k, ErrorKind::InvalidAction { .. }),
            1,
            Some(4),
        ),
        (
            "SecRule ARGS \"@unconditionalMatch\" \"id:5",
            |k| matches!(k, ErrorKind::Syntax(_)),
            1,
            None,
        ),
        (
            "SecRule ARGS \"@unconditionalMatch\" \"id:5,chain\"\nSecAction \"id:6\"",
            |k| matches!(k, ErrorKind::Rule(_)),
            2,
            None,
        ),
    ];
    for (text, check, line, id) in cases {
        let e = RuleSet::from_str(text, "bad.conf").expect_err(text);
        assert!(check(&e.kind), "{text}: {e}");
        assert_eq!(e.location.line, *line, "{text}: {e}");
        assert_eq!(e.location.file.to_str(), Some("bad.conf"));
        assert_eq!(e.rule_id, *id, "{text}: {e}");
    }
}

#[test]
fn ignored_directives_are_reported() {
    let rules = load("SecAuditLog /var/log/audit.log\nSecDataDir /tmp\nSecPcreMatchLimit 1000\nSecRuleEngine On");
    let names: Vec<_> = rules.warnings().iter().map(|w| w.directive.as_str()).collect();
    assert_eq!(names, vec!["SecAuditLog", "SecDataDir", "SecPcreMatchLimit"]);
    assert_eq!(rules.warnings()[1].location.line, 2);
}

#[test]
fn config_directives() {
    let rules = load(
        "SecRuleEngine On\nSecRequestBodyAccess On\nSecResponseBodyAccess On\nSecRequestBodyLimit 100\nSecRequestBodyNoFilesLimit 50\nSecResponseBodyMimeType text/plain application/json\nSecResponseBodyLimit 10\nSecResponseBodyLimitAction Reject\nSecArgumentSeparator ;\nSecCollectionTimeout 60\nSecComponentSignature \"OWASP_CRS/4.28.0\"",
    );
    let c = rules.config();
    assert_eq!(c.rule_engine, EngineMode::On);
    assert!(c.request_body_access && c.response_body_access);
    assert_eq!(
        (
            c.request_body_limit,
            c.request_body_no_files_limit,
            c.response_body_limit
        ),
        (100, 50, 10)
    );
    assert!(c.response_body_mime_types.contains(&"application/json".to_string()));
    assert_eq!(c.argument_separator, b';');
    assert_eq!(c.collection_timeout, 60);
    assert_eq!(c.component_signatures, vec!["OWASP_CRS/4.28.0"]);
    // The separator is used for the query string.
    let rules = load("SecArgumentSeparator ;\nSecRule ARGS:b \"@unconditionalMatch\" \"id:1,phase:1,pass,setvar:tx.b=%{MATCHED_VAR}\"");
    let tx = run_get(&rules, "/?a=1;b=2");
    assert_eq!(txv(&tx, "b"), "2");
}

#[test]
fn include_files_and_globs_relative_to_includer() {
    let dir = std::env::temp_dir().join(format!("meshward-seclang-include-{}", std::process::id()));
    let sub = dir.join("rules");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        dir.join("main.conf"),
        "SecRuleEngine On\nInclude rules/*.conf\nInclude \"extra.conf\"\n",
    )
    .unwrap();
    std::fs::write(
        sub.join("a.conf"),
        "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.order=a\"\n",
    )
    .unwrap();
    std::fs::write(
        sub.join("b.conf"),
        "SecAction \"id:2,phase:1,pass,nolog,setvar:tx.order=%{tx.order}b\"\n",
    )
    .unwrap();
    std::fs::write(sub.join("c.conf.example"), "SecBogus\n").unwrap();
    std::fs::write(
        dir.join("extra.conf"),
        "SecAction \"id:3,phase:1,pass,nolog,\\\n  setvar:tx.order=%{tx.order}x\"\n",
    )
    .unwrap();
    let rules = RuleSet::from_file(dir.join("main.conf")).unwrap();
    let tx = run_get(&rules, "/");
    assert_eq!(txv(&tx, "order"), "abx");
    // A missing include names the including file and line.
    std::fs::write(dir.join("broken.conf"), "\nInclude nothing-here.conf\n").unwrap();
    let e = RuleSet::from_file(dir.join("broken.conf")).unwrap_err();
    assert_eq!(e.location.line, 2);
    assert!(matches!(e.kind, ErrorKind::Io { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn drop_and_redirect_interventions() {
    let rules = load("SecRuleEngine On\nSecAction \"id:1,phase:1,drop\"");
    let iv = run_get(&rules, "/").intervention().cloned().expect("drop");
    assert_eq!(iv.action, InterventionAction::Drop);
    let rules =
        load("SecRuleEngine On\nSecAction \"id:1,phase:1,redirect:https://example.org/denied?u=%{REQUEST_FILENAME}\"");
    let iv = run_get(&rules, "/x").intervention().cloned().expect("redirect");
    assert_eq!(iv.action, InterventionAction::Redirect);
    assert_eq!(iv.status, 302);
    assert_eq!(iv.url.as_deref(), Some("https://example.org/denied?u=/x"));
    let rules = load("SecRuleEngine On\nSecAction \"id:1,phase:1,redirect:/elsewhere,status:307\"");
    assert_eq!(run_get(&rules, "/").intervention().map(|i| i.status), Some(307));
}

#[test]
fn allow_phase_and_detection_only_allow() {
    let rules = load(
        r#"
SecRuleEngine On
SecAction "id:1,phase:1,allow:phase"
SecAction "id:2,phase:1,pass,nolog,setvar:tx.p1=1"
SecAction "id:3,phase:2,pass,nolog,setvar:tx.p2=1"
"#,
    );
    let tx = run_get(&rules, "/");
    assert!(tx.tx_var("p1").is_none());
    assert_eq!(txv(&tx, "p2"), "1");
    // In DetectionOnly no disruptive action acts, allow included (libmodsecurity v3).
    let rules = load("SecRuleEngine DetectionOnly\nSecAction \"id:1,phase:1,allow\"\nSecAction \"id:2,phase:2,pass,nolog,setvar:tx.p2=1\"");
    assert_eq!(txv(&run_get(&rules, "/"), "p2"), "1");
}

#[test]
fn highest_severity_and_rule_macros() {
    let rules = load(
        r#"
SecAction "id:1,phase:1,pass,severity:WARNING"
SecAction "id:2,phase:1,pass,severity:2"
SecAction "id:3,phase:1,pass,nolog,severity:0"
SecAction "id:4,phase:1,pass,nolog,msg:'hello',setvar:tx.hs=%{HIGHEST_SEVERITY},setvar:tx.rid=%{rule.id},setvar:tx.rmsg=%{RULE.msg}"
"#,
    );
    let tx = run_get(&rules, "/");
    // nolog rules do not raise HIGHEST_SEVERITY.
    assert_eq!(txv(&tx, "hs"), "2");
    assert_eq!(txv(&tx, "rid"), "4");
    assert_eq!(txv(&tx, "rmsg"), "hello");
}

#[test]
fn expirevar_drops_members_after_timeout() {
    let rules = load(
        r#"
SecAction "id:1,phase:1,pass,nolog,initcol:global=global"
SecRule ARGS:set "@unconditionalMatch" "id:2,phase:1,pass,nolog,setvar:global.keep=1,setvar:global.short=1,expirevar:global.short=0"
SecAction "id:3,phase:1,pass,nolog,setvar:tx.keep=%{global.keep},setvar:tx.short=%{global.short}"
"#,
    );
    let tx = run_get(&rules, "/?set=1");
    assert_eq!(txv(&tx, "short"), "1");
    // Next transaction: the expired member is gone, the other one persists.
    let tx = run_get(&rules, "/");
    assert_eq!(txv(&tx, "keep"), "1");
    assert_eq!(txv(&tx, "short"), "");
}

#[test]
fn update_target_by_tag_and_ctl_request_body_access() {
    let rules = load(
        r#"
SecRule ARGS "@unconditionalMatch" "id:1,phase:2,pass,nolog,tag:'t1',setvar:tx.n=+1"
SecRuleUpdateTargetByTag t1 "!ARGS:b"
SecAction "id:2,phase:1,pass,nolog,ctl:requestBodyAccess=On"
SecRule ARGS_POST:p "@unconditionalMatch" "id:3,phase:2,pass,nolog,setvar:tx.p=%{MATCHED_VAR}"
"#,
    );
    let tx = run(
        &rules,
        "/?a=1&b=2",
        "POST",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"p=3",
    );
    // a and p, not b.
    assert_eq!(txv(&tx, "n"), "2");
    assert_eq!(txv(&tx, "p"), "3");
}

#[test]
fn transaction_metadata_variables() {
    let rules = load(
        r#"SecAction "id:1,phase:1,pass,nolog,setvar:tx.uid=%{UNIQUE_ID},setvar:tx.year=%{TIME_YEAR},setvar:tx.epoch=%{TIME_EPOCH},setvar:tx.dur=%{DURATION},setvar:tx.sport=%{SERVER_PORT},setvar:tx.saddr=%{SERVER_ADDR}""#,
    );
    let a = run_get(&rules, "/");
    let b = run_get(&rules, "/");
    assert!(!txv(&a, "uid").is_empty());
    assert_ne!(txv(&a, "uid"), txv(&b, "uid"));
    assert_eq!(txv(&a, "uid"), a.unique_id());
    assert!(txv(&a, "year").parse::<u32>().unwrap() >= 2024);
    assert!(txv(&a, "epoch").parse::<u64>().unwrap() > 1_700_000_000);
    assert!(txv(&a, "dur").parse::<u64>().is_ok());
    assert_eq!(txv(&a, "sport"), "8080");
    assert_eq!(txv(&a, "saddr"), "192.0.2.1");
}

#[test]
fn basename_and_absolute_uri() {
    let rules = load(
        r#"
SecRule REQUEST_BASENAME "@unconditionalMatch" "id:1,phase:1,pass,nolog,setvar:tx.base=%{MATCHED_VAR}"
SecRule REQUEST_URI "@unconditionalMatch" "id:2,phase:1,pass,nolog,setvar:tx.uri=%{MATCHED_VAR}"
SecRule REQUEST_FILENAME "@unconditionalMatch" "id:3,phase:1,pass,nolog,setvar:tx.file=%{MATCHED_VAR}"
"#,
    );
    let tx = run_get(&rules, "/dir/");
    assert_eq!(txv(&tx, "base"), "");
    let tx = run_get(&rules, "http://example.com/a/b.php?x=1");
    assert_eq!(txv(&tx, "uri"), "/a/b.php?x=1");
    assert_eq!(txv(&tx, "base"), "b.php");
    assert_eq!(txv(&tx, "file"), "http://example.com/a/b.php");
}

#[test]
fn response_body_limit_and_mime_types() {
    let rules = load(
        r#"
SecResponseBodyAccess On
SecResponseBodyLimit 4
SecResponseBodyLimitAction ProcessPartial
SecRule RESPONSE_BODY "@unconditionalMatch" "id:1,phase:4,pass,nolog,setvar:tx.body=%{MATCHED_VAR},setvar:tx.err=%{OUTBOUND_DATA_ERROR}"
"#,
    );
    let tx = run_get(&rules, "/");
    assert_eq!(txv(&tx, "body"), "<htm");
    assert_eq!(txv(&tx, "err"), "1");
    // A MIME type outside SecResponseBodyMimeType is not buffered.
    let rules = load(
        "SecResponseBodyAccess On\nSecResponseBodyMimeType application/json\nSecRule RESPONSE_BODY \"@unconditionalMatch\" \"id:1,phase:4,pass,nolog,setvar:tx.body=%{MATCHED_VAR}\"",
    );
    assert_eq!(txv(&run_get(&rules, "/"), "body"), "");
}

#[test]
fn matched_rules_can_be_read_between_phases() {
    let rules = load("SecAction \"id:1,phase:1,pass,log\"\nSecAction \"id:2,phase:2,pass,log\"");
    let mut tx = rules.transaction();
    tx.process_uri(b"/", "GET", "1.1");
    tx.process_request_headers();
    assert_eq!(tx.matched_rules().iter().map(|m| m.id).collect::<Vec<_>>(), vec![1]);
    tx.process_request_body();
    assert_eq!(tx.matched_rules().iter().map(|m| m.id).collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn response_body_rescan_runs_phase_four_over_a_window() {
    let rules = load(
        "SecRuleEngine On\nSecResponseBodyAccess On\nSecResponseBodyMimeType text/plain\n\
         SecRule RESPONSE_BODY \"@contains leak\" \"id:7,phase:4,deny,status:500,log,msg:'leak'\"",
    );
    let mut tx = rules.transaction();
    tx.process_uri(b"/", "GET", "HTTP/1.1");
    tx.process_request_headers();
    tx.add_response_header(b"content-type", b"text/plain");
    tx.rescan_response_body(b"a leak");
    assert!(tx.matched_rules().is_empty(), "before phase 4 ran, nothing is scanned");
    tx.process_response_headers(200, "HTTP/1.1");
    tx.append_response_body(b"clean");
    tx.process_response_body();
    assert!(tx.intervention().is_none());
    tx.rescan_response_body(b"still clean");
    assert!(tx.intervention().is_none());
    tx.rescan_response_body(b"a leak past the limit");
    let iv = tx.intervention().expect("the window's match decides");
    assert_eq!((iv.rule_id, iv.status), (7, 500));
    assert_eq!(tx.matched_rules().iter().filter(|m| m.id == 7).count(), 1);
    tx.rescan_response_body(b"another leak");
    assert_eq!(
        tx.matched_rules().iter().filter(|m| m.id == 7).count(),
        1,
        "after a decision nothing more is scanned"
    );
}

#[test]
fn response_body_rescans_keep_no_nolog_match_of_past_windows() {
    // As CRS's 951100: a negated nolog rule matches every clean window, with the window as its
    // matched value; a record kept per window grew the VM by the body's size.
    let rules = load(
        "SecRuleEngine On\nSecResponseBodyAccess On\nSecResponseBodyMimeType text/plain\n\
         SecRule RESPONSE_BODY \"!@contains leak\" \"id:6,phase:4,pass,nolog\"\n\
         SecRule RESPONSE_BODY \"@contains leak\" \"id:7,phase:4,deny,status:500,log,msg:'leak'\"",
    );
    let mut tx = rules.transaction();
    tx.process_uri(b"/", "GET", "HTTP/1.1");
    tx.process_request_headers();
    tx.add_response_header(b"content-type", b"text/plain");
    tx.process_response_headers(200, "HTTP/1.1");
    tx.append_response_body(b"clean");
    tx.process_response_body();
    let window = vec![b'a'; 65_536];
    for _ in 0..100 {
        tx.rescan_response_body(&window);
    }
    let ids: Vec<u64> = tx.matched_rules().iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![6], "phase 4's own match stays, the windows' are dropped");
    tx.rescan_response_body(b"a leak");
    let ids: Vec<u64> = tx.matched_rules().iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![6, 7], "a logged match of a window is kept");
    assert_eq!(tx.intervention().map(|i| i.rule_id), Some(7));
}

#[test]
fn rule_sets_are_shared_and_transactions_movable() {
    fn is_send_sync<T: Send + Sync>() {}
    fn is_send<T: Send>() {}
    is_send_sync::<RuleSet>();
    is_send::<Transaction>();
    // Transactions from clones of one rule set share persistent collections.
    // initcol acts after the rule's setvars (as in ModSecurity v3), so it gets its own rule.
    let rules = load(
        "SecAction \"id:1,phase:1,pass,nolog,initcol:global=g\"\nSecAction \"id:2,phase:1,pass,nolog,setvar:global.n=+1,setvar:tx.n=%{global.n}\"",
    );
    let clone = rules.clone();
    let t1 = std::thread::spawn(move || run_get(&clone, "/").tx_var("n"))
        .join()
        .unwrap();
    assert!(t1.is_some());
    assert_eq!(txv(&run_get(&rules, "/"), "n"), "2");
}

#[test]
fn fork_before_body_scores_each_body_on_the_head_alone() {
    let rules = load(
        r#"SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:x-head "@streq bad" "id:1,phase:1,pass,setvar:tx.score=+1"
SecRule REQUEST_BODY "@contains evil" "id:2,phase:2,pass,setvar:tx.score=+2"
SecRule TX:score "@ge 3" "id:3,phase:2,deny,status:403"
"#,
    );
    let mut tx = rules.transaction();
    tx.process_uri(b"/svc", "POST", "2");
    tx.add_request_header(b"x-head", b"bad");
    tx.process_request_headers();
    let mut clean = tx.fork_before_body().expect("a copy before the body");
    let mut evil = tx.fork_before_body().expect("a second copy");
    clean.append_request_body(b"hello");
    clean.process_request_body();
    assert_eq!(txv(&clean, "score"), "1");
    assert!(clean.intervention().is_none());
    evil.append_request_body(b"so evil");
    evil.process_request_body();
    assert_eq!(
        txv(&evil, "score"),
        "3",
        "the head counts once, the other copy's body not at all"
    );
    assert_eq!(evil.intervention().map(|i| i.status), Some(403));
    assert_eq!(evil.unique_id(), tx.unique_id());
    assert_eq!(txv(&tx, "score"), "1", "the original is untouched");
    tx.append_request_body(b"x");
    assert!(tx.fork_before_body().is_none(), "no copy once a body was buffered");
    tx.process_request_body();
    assert!(tx.fork_before_body().is_none(), "no copy after phase 2");
}

#[test]
fn process_request_without_body_runs_phase_two_on_the_head_and_no_body_processor() {
    let rules = load(
        r#"SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "@streq application/json" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQBODY_ERROR "!@eq 0" "id:2,phase:2,deny,status:400"
SecRule ARGS_GET:q "@contains evil" "id:3,phase:2,deny,status:403"
"#,
    );
    let head = |uri: &str| {
        let mut tx = rules.transaction();
        tx.process_uri(uri.as_bytes(), "POST", "1.1");
        tx.add_request_header(b"Content-Type", b"application/json");
        tx.process_request_headers();
        tx
    };
    let mut clean = head("/?q=fine");
    clean.process_request_without_body();
    assert!(
        clean.intervention().is_none(),
        "an empty JSON body is not parsed, so no error"
    );
    let mut evil = head("/?q=evil");
    evil.process_request_without_body();
    assert_eq!(evil.intervention().map(|i| (i.rule_id, i.status)), Some((3, 403)));
    // The same head with its body: the processor runs there.
    let mut whole = head("/?q=fine");
    whole.append_request_body(b"{not json");
    whole.process_request_body();
    assert_eq!(whole.intervention().map(|i| i.rule_id), Some(2));
}

#[test]
fn logged_match_count_agrees_with_matched_rules() {
    let rules = load(
        "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\nSecAction \"id:2,phase:1,pass,log,msg:'seen'\"\nSecAction \"id:3,phase:2,pass,nolog\"\nSecAction \"id:4,phase:2,pass,msg:'again'\"",
    );
    let tx = run_get(&rules, "/");
    assert_eq!(tx.matched_rules().len(), 4);
    assert_eq!(tx.logged_match_count(), 2);
    assert_eq!(
        tx.logged_match_count(),
        tx.matched_rules().iter().filter(|r| r.logged).count()
    );
    assert!(tx.has_logged_match());

    let quiet = load("SecAction \"id:1,phase:1,pass,nolog,setvar:tx.a=1\"\nSecAction \"id:3,phase:2,pass,nolog\"");
    let tx = run_get(&quiet, "/");
    assert_eq!(tx.matched_rules().len(), 2);
    assert_eq!(tx.logged_match_count(), 0);
    assert!(!tx.has_logged_match());
}
