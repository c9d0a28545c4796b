//! The WAF .wasm in host-test: detect and enforce modes, bodies, limits, trailers, responses,
//! directive sets, configuration errors, evidence and metrics.

mod common;

use common::*;
use meshward_host_test::{CallReply, Error, Headers, Request, Response, Step};

const SQLI_PATH: &str = "/?id=1%27%20or%201%3D1--";
const FORM: &str = "application/x-www-form-urlencoded";

fn ok_html() -> Response {
    Response::ok()
        .header("content-type", "text/html")
        .body("<html>hello</html>")
}

#[test]
fn default_config_detects_sqli_without_blocking() {
    let mut p = plugin("{}");
    let out = p.run(&Request::get(SQLI_PATH), &ok_html()).unwrap();
    assert_eq!(out.status(), Some(200), "detect mode never blocks");
    assert!(upstream_complete(&out), "the upstream got the request");
    assert!(out.local_response.is_none());
    let e = event(&out);
    assert_eq!(e["mode"], "detect");
    assert_eq!(e["decision"], "would_block");
    assert_eq!(e["status"], 403);
    assert!(
        rule_ids(&e).iter().any(|id| (942000..943000).contains(id)),
        "a SQLi rule matched: {e}"
    );
    assert!(rule_ids(&e).contains(&949110), "the blocking evaluation matched: {e}");
    assert!(e["scores"]["inbound"].as_i64().unwrap() >= 5);
    assert_eq!(counter(&p, "meshward_waf.transactions"), 1);
    assert_eq!(counter(&p, "meshward_waf.matched"), 1);
    assert_eq!(counter(&p, "meshward_waf.would_block"), 1);
    assert_eq!(counter(&p, "meshward_waf.blocked"), 0);
    assert_eq!(counter(&p, "meshward_waf.rule_family.942"), 1);
    assert_eq!(counter(&p, "meshward_waf.rule_family.949"), 1);
    assert_eq!(counter(&p, "meshward_waf.paranoia.1"), 1);
}

#[test]
fn enforce_blocks_sqli_before_the_upstream() {
    let mut p = plugin(r#"{"mode":"enforce"}"#);
    let out = p.run(&Request::get(SQLI_PATH), &ok_html()).unwrap();
    assert_eq!(out.status(), Some(403));
    assert!(
        out.upstream_request.is_none(),
        "a request blocked on its headers never reaches the upstream"
    );
    let local = out.local_response.as_ref().expect("local reply");
    let body = String::from_utf8_lossy(&local.body);
    // The reply names the transaction (`<start>.<counter>`, digits only), never the rule.
    let id = body
        .strip_prefix("Request blocked (")
        .and_then(|rest| rest.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("{body}"));
    assert!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_digit() || c == '.'),
        "the reply names no rule: {body}"
    );
    let e = event(&out);
    assert_eq!(e["decision"], "block");
    assert_eq!(e["mode"], "enforce");
    assert_eq!(e["phase"], 2, "CRS decides at the end of phase 2 (949110)");
    assert_eq!(counter(&p, "meshward_waf.blocked"), 1);
    assert_eq!(counter(&p, "meshward_waf.would_block"), 0);
}

#[test]
fn block_status_is_configurable() {
    let mut p = plugin(r#"{"mode":"enforce","block_status":429}"#);
    let out = p.run(&Request::get(SQLI_PATH), &ok_html()).unwrap();
    assert_eq!(out.status(), Some(429));
    assert_eq!(event(&out)["status"], 429);
}

#[test]
fn enforce_blocks_urlencoded_body_attack_and_the_body_never_reaches_the_upstream() {
    let mut p = plugin(r#"{"mode":"enforce"}"#);
    let req = Request::post("/login", "user=admin&id=1%27%20or%201%3D1--")
        .header("content-type", FORM)
        .chunked(7);
    let out = p.run(&req, &ok_html()).unwrap();
    assert_eq!(out.status(), Some(403));
    assert!(!upstream_complete(&out));
    assert_eq!(upstream_body(&out), "", "no byte of a blocked body goes upstream");
    let e = event(&out);
    assert!(
        e["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["variable"].as_str().unwrap_or("").starts_with("ARGS")),
        "{e}"
    );
}

#[test]
fn enforce_blocks_json_body_attack() {
    let mut p = plugin(r#"{"mode":"enforce"}"#);
    let req = Request::post("/api", r#"{"user":{"id":"1' or 1=1--"}}"#).header("content-type", "application/json");
    let out = p.run(&req, &ok_html()).unwrap();
    assert_eq!(out.status(), Some(403));
    assert_eq!(upstream_body(&out), "");
    let clean = p
        .run(
            &Request::post("/api", r#"{"user":{"id":"42"}}"#).header("content-type", "application/json"),
            &ok_html(),
        )
        .unwrap();
    assert_eq!(clean.status(), Some(200));
    assert_eq!(
        upstream_body(&clean),
        r#"{"user":{"id":"42"}}"#,
        "a clean body passes unchanged"
    );
}

#[test]
fn body_over_the_limit_is_refused_with_413() {
    let config = r#"{"mode":"enforce","request_body":{"limit":1000}}"#;
    let mut p = plugin(config);
    let body = format!("a={}", "x".repeat(4000));
    let out = p
        .run(
            &Request::post("/upload", body).header("content-type", FORM).chunked(512),
            &ok_html(),
        )
        .unwrap();
    assert_eq!(out.status(), Some(413));
    assert!(!upstream_complete(&out));
    let e = event(&out);
    assert_eq!(e["decision"], "refused");
    assert!(
        e["limits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "request_body_over_limit"),
        "{e}"
    );
    assert_eq!(counter(&p, "meshward_waf.refused"), 1);
    // Detect mode: the same body passes, and the event says it would have been refused.
    let mut d = plugin(r#"{"request_body":{"limit":1000}}"#);
    let body = format!("a={}", "x".repeat(4000));
    let out = d
        .run(
            &Request::post("/upload", body).header("content-type", FORM).chunked(512),
            &ok_html(),
        )
        .unwrap();
    assert_eq!(out.status(), Some(200));
    assert!(upstream_complete(&out));
    assert_eq!(event(&out)["decision"], "would_block");
}

#[test]
fn process_partial_inspects_the_first_bytes_and_passes_the_rest() {
    let mut p = plugin(r#"{"mode":"enforce","request_body":{"limit":100,"on_limit":"process_partial"}}"#);
    let attack_first = format!("id=1%27%20or%201%3D1--&pad={}", "x".repeat(500));
    let out = p
        .run(
            &Request::post("/f", attack_first)
                .header("content-type", FORM)
                .chunked(64),
            &ok_html(),
        )
        .unwrap();
    assert_eq!(out.status(), Some(403), "an attack inside the limit is still blocked");
    let attack_late = format!("pad={}&id=1%27%20or%201%3D1--", "x".repeat(500));
    let out = p
        .run(
            &Request::post("/f", attack_late.clone())
                .header("content-type", FORM)
                .chunked(64),
            &ok_html(),
        )
        .unwrap();
    assert_eq!(
        out.status(),
        Some(200),
        "past the limit the body is not inspected (documented)"
    );
    assert!(upstream_complete(&out));
    assert_eq!(upstream_body(&out), attack_late, "the whole body reaches the upstream");
}

#[test]
fn body_ending_with_trailers_is_still_inspected() {
    let mut p = plugin(r#"{"mode":"enforce"}"#);
    let req = Request::post("/t", "id=1%27%20or%201%3D1--")
        .header("content-type", FORM)
        .chunked(5)
        .trailer("x-checksum", "1");
    let out = p.run(&req, &ok_html()).unwrap();
    assert_eq!(out.status(), Some(403));
    assert!(!upstream_complete(&out));
    assert_eq!(upstream_body(&out), "");
}

#[test]
fn phase_two_runs_even_without_request_body_access() {
    let config = r#"{"mode":"enforce","request_body":{"access":false},
        "directives":["SecRule REQUEST_HEADERS:X-Evil \"@streq 1\" \"id:1001,phase:2,deny,status:403,msg:'phase 2 header rule'\""]}"#;
    let mut p = plugin(config);
    let out = p
        .run(
            &Request::post("/x", "a=b")
                .header("x-evil", "1")
                .header("content-type", FORM),
            &ok_html(),
        )
        .unwrap();
    assert_eq!(out.status(), Some(403));
    assert!(
        out.upstream_request.is_none(),
        "decided before the headers were forwarded"
    );
    assert!(rule_ids(&event(&out)).contains(&1001));
}

#[test]
fn response_body_with_a_sql_error_is_detected_and_never_passed_when_blocked() {
    let leak = "<html>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version</html>";
    let resp = || {
        Response::ok()
            .header("content-type", "text/html")
            .chunks([&leak[..40], &leak[40..]])
    };
    let mut d = plugin("{}");
    let out = d.run(&Request::get("/page"), &resp()).unwrap();
    assert_eq!(out.status(), Some(200));
    let body = out
        .downstream_response
        .as_ref()
        .map(|m| m.body_text())
        .unwrap_or_default();
    assert_eq!(body, leak, "detect mode passes the response unchanged");
    let e = event(&out);
    assert!(rule_ids(&e).iter().any(|id| (951000..952000).contains(id)), "{e}");
    assert_eq!(e["decision"], "would_block");
    assert_eq!(e["phase"], 4);

    let mut p = plugin(r#"{"mode":"enforce"}"#);
    let out = p.run(&Request::get("/page"), &resp()).unwrap();
    let body = out
        .downstream_response
        .as_ref()
        .map(|m| m.body_text())
        .unwrap_or_default();
    assert!(
        !body.contains("SQL syntax"),
        "a blocked response body never reaches the client: {body:?}"
    );
    assert!(out.reset || out.status() == Some(403), "reset or replaced: {out:?}");
    assert_eq!(event(&out)["decision"], "block");
}

#[test]
fn response_headers_phase_block_replaces_the_response() {
    let config = r#"{"mode":"enforce","crs":false,
        "directives":["SecRule RESPONSE_HEADERS:X-Leak \"@streq yes\" \"id:1002,phase:3,deny,status:502\""]}"#;
    let mut p = plugin(config);
    let out = p.run(&Request::get("/"), &ok_html().header("x-leak", "yes")).unwrap();
    assert_eq!(out.status(), Some(502));
    assert!(!out.downstream_response.as_ref().unwrap().body_text().contains("hello"));
    assert_eq!(event(&out)["phase"], 3);
    // A response of a MIME type not in the list is not buffered and passes.
    let out = p
        .run(
            &Request::get("/"),
            &Response::ok().header("content-type", "image/png").body("PNG"),
        )
        .unwrap();
    assert_eq!(out.status(), Some(200));
}

const SETS: &str = r#"{"mode":"enforce","crs":false,
    "directive_sets":{"strict":["SecRule ARGS:x \"@streq boom\" \"id:1100,phase:1,deny,msg:'strict set'\""]},
    "per_authority":{"*.admin.example":"strict","exact.example":"strict"},
    "per_route":{"r-admin":"strict"}}"#;

/// `req` sent to `authority`.
fn at(mut req: Request, authority: &str) -> Request {
    req.headers.set(":authority", authority);
    req
}

#[test]
fn directive_sets_are_chosen_per_authority_and_per_route() {
    let mut p = plugin(SETS);
    let boom = || Request::get("/?x=boom");
    let out = p.run(&at(boom(), "a.admin.example:8443"), &ok_html()).unwrap();
    assert_eq!(out.status(), Some(403), "wildcard authority, port ignored");
    let out = p.run(&at(boom(), "EXACT.example"), &ok_html()).unwrap();
    assert_eq!(out.status(), Some(403), "exact authority, case-insensitive");
    assert_eq!(event(&out)["directive_set"], "strict");
    let out = p.run(&at(boom(), "other.example"), &ok_html()).unwrap();
    assert_eq!(out.status(), Some(200), "the default set has no such rule");
    let routed = at(boom(), "other.example").property("xds.route_name", "r-admin");
    let out = p.run(&routed, &ok_html()).unwrap();
    assert_eq!(out.status(), Some(403), "per_route selects the set");
    assert_eq!(event(&out)["route"], "r-admin");
}

#[test]
fn sec_rule_remove_by_id_excludes_a_crs_rule() {
    // 920350: Host header is a numeric IP address (a warning, so detect and enforce both pass).
    let numeric = || at(Request::get("/"), "10.1.2.3");
    let mut p = plugin("{}");
    let out = p.run(&numeric(), &ok_html()).unwrap();
    assert!(rule_ids(&event(&out)).contains(&920350));
    let mut p = plugin(r#"{"directives":["SecRuleRemoveById 920350"]}"#);
    let out = p.run(&numeric(), &ok_html()).unwrap();
    assert!(
        events_in(&out.logs).iter().all(|e| !rule_ids(e).contains(&920350)),
        "{:?}",
        out.logs
    );
}

#[test]
fn clean_traffic_makes_no_event() {
    let mut p = plugin(r#"{"mode":"enforce"}"#);
    let req = Request::get("/products/42?page=2&sort=price")
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
        .header("accept", "text/html")
        .header("accept-language", "en");
    let out = p.run(&req, &ok_html()).unwrap();
    assert_eq!(out.status(), Some(200));
    assert!(events_in(&out.logs).is_empty(), "{:#?}", out.logs);
    assert_eq!(counter(&p, "meshward_waf.transactions"), 1);
    assert_eq!(counter(&p, "meshward_waf.matched"), 0);
    // A chunked form POST (Envoy strips its Transfer-Encoding) is clean too.
    let post = Request::post("/login", "user=alice&remember=1")
        .header("content-type", FORM)
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
        .header("accept", "text/html")
        .chunked(8);
    let out = p.run(&post, &ok_html()).unwrap();
    assert_eq!(out.status(), Some(200));
    assert!(events_in(&out.logs).is_empty(), "{:#?}", out.logs);
    assert_eq!(counter(&p, "meshward_waf.matched"), 0);
}

#[test]
fn evidence_event_has_every_field_and_redacts_cookies() {
    let mut p = plugin(r#"{"evidence":{"excerpt_bytes":8}}"#);
    let req = Request::get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .header("x-request-id", "req-123")
        .header("cookie", "session=1' or 1=1--")
        .property("source.address", "10.0.0.1:4242")
        .property("xds.route_name", "r1");
    let out = p.run(&req, &ok_html()).unwrap();
    let line = out
        .logs
        .iter()
        .find(|l| l.message.starts_with(EVENT_PREFIX))
        .expect("event line");
    assert_eq!(
        line.level, "warn",
        "evidence is logged at `evidence.log_level`, warn by default"
    );
    assert!(
        !line.message.contains("1=1"),
        "cookie values never appear: {}",
        line.message
    );
    let e = event(&out);
    assert_eq!(e["v"], 1);
    assert!(e["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(e["request_id"], "req-123");
    assert_eq!(e["client"], "10.0.0.1:4242");
    assert_eq!(e["authority"], "example.com");
    assert_eq!(e["method"], "GET");
    assert_eq!(e["path"], "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(e["route"], "r1");
    assert_eq!(e["mode"], "detect");
    assert_eq!(e["ruleset"], "crs-4.28.0");
    assert_eq!(e["directive_set"], "default");
    assert_eq!(e["config_hash"].as_str().unwrap().len(), 64);
    assert!(e["limits"].as_array().unwrap().is_empty());
    assert!(e["scores"]["inbound"].as_i64().unwrap() > 0);
    assert!(e["scores"]["outbound"].is_i64());
    let rules = e["rules"].as_array().unwrap();
    let xss = rules
        .iter()
        .find(|r| r["id"].as_u64().is_some_and(|id| (941000..942000).contains(&id)))
        .expect("an XSS rule");
    assert!(xss["msg"].as_str().unwrap().len() > 5);
    assert_eq!(xss["severity"], "CRITICAL");
    assert!(xss["tags"].as_array().unwrap().iter().any(|t| t == "attack-xss"));
    assert!(xss["variable"].as_str().unwrap().starts_with("ARGS"), "{xss}");
    assert!(xss["data"].as_str().unwrap().len() <= 8, "excerpt bounded: {xss}");
    let cookie = rules
        .iter()
        .find(|r| {
            r["variable"]
                .as_str()
                .unwrap_or("")
                .to_ascii_uppercase()
                .starts_with("REQUEST_COOKIES")
        })
        .expect("a rule matched the cookie");
    assert_eq!(cookie["data"], "[redacted]");
}

/// Configure logs that say what was loaded.
fn load_lines(logs: &[meshward_host_test::LogEntry]) -> Vec<&meshward_host_test::LogEntry> {
    logs.iter()
        .filter(|l| l.message.starts_with("meshward.waf: loaded "))
        .collect()
}

#[test]
fn evidence_is_visible_at_istios_default_level() {
    // Istio runs Envoy at `warning`: with zero configuration the load line and every event show.
    let mut p = host().plugin(&module()).config("").log_level(3).build().unwrap();
    let loaded = load_lines(p.logs());
    assert_eq!(loaded.len(), 1, "{:#?}", p.logs());
    assert_eq!(loaded[0].level, "warn");
    assert!(loaded[0].message.contains("mode detect"), "{}", loaded[0].message);
    let out = p.run(&Request::get(SQLI_PATH), &ok_html()).unwrap();
    assert_eq!(event_level(&out), "warn");
    assert_eq!(event(&out)["decision"], "would_block");
}

#[test]
fn evidence_level_is_configurable() {
    let config = r#"{"evidence":{"log_level":"info"}}"#;
    // At Envoy's `warning`, info evidence is dropped...
    let mut quiet = host().plugin(&module()).config(config).log_level(3).build().unwrap();
    assert!(load_lines(quiet.logs()).is_empty(), "{:#?}", quiet.logs());
    let out = quiet.run(&Request::get(SQLI_PATH), &ok_html()).unwrap();
    assert!(events_in(&out.logs).is_empty(), "{:#?}", out.logs);
    assert_eq!(
        counter(&quiet, "meshward_waf.would_block"),
        1,
        "still decided and counted"
    );
    // ... and shows at `info`, at that level; so does every other level.
    for (word, level) in [("info", 2), ("trace", 0), ("debug", 1), ("error", 4)] {
        let config = format!(r#"{{"evidence":{{"log_level":"{word}"}}}}"#);
        let mut p = host()
            .plugin(&module())
            .config(config)
            .log_level(level)
            .build()
            .unwrap();
        assert_eq!(load_lines(p.logs())[0].level, word);
        let out = p.run(&Request::get(SQLI_PATH), &ok_html()).unwrap();
        assert_eq!(event_level(&out), word);
    }
}

/// The level of a stream's event line.
fn event_level(out: &meshward_host_test::Outcome) -> &'static str {
    out.logs
        .iter()
        .find(|l| l.message.starts_with(EVENT_PREFIX))
        .unwrap_or_else(|| panic!("no event line: {:#?}", out.logs))
        .level
}

#[test]
fn secrets_never_reach_the_log_or_the_collector() {
    let config = r#"{"evidence":{"excerpt_bytes":200,"redact":["pin"],"collector":{"cluster":"waf_events"}}}"#;
    let mut p = builder(config)
        .upstream("waf_events", |_| CallReply::status(200, ""))
        .build()
        .unwrap();
    // Attacks carried in secret parameters, a secret header and a cookie.
    let secrets = ["hunter2", "s3cr3tT0k3n", "sk-live-42", "9876", "abcdef012345"];
    let req = Request::get(concat!(
        "/login?user=bob&password=hunter2%27%20or%201%3D1--",
        "&access_token=s3cr3tT0k3n%27%20or%201%3D1--&pin=9876%27%20or%201%3D1--"
    ))
    .header("authorization", "Bearer sk-live-42' or 1=1--")
    .header("x-api-key", "abcdef012345<script>alert(1)</script>")
    .header("cookie", "sid=abcdef012345' or 1=1--");
    let out = p.run(&req, &ok_html()).unwrap();
    let e = event(&out);
    assert_eq!(
        e["path"],
        "/login?user=bob&password=[redacted]&access_token=[redacted]&pin=[redacted]"
    );
    assert!(e["rules"].as_array().is_some_and(|r| !r.is_empty()), "{e}");
    let posted = String::from_utf8(p.http_calls()[0].body.clone()).unwrap();
    meshward_testkit::schema::EventSchema::Waf.assert_valid(&serde_json::from_str(&posted).unwrap());
    let logged: Vec<&str> = out.logs.iter().map(|l| l.message.as_str()).collect();
    for secret in secrets {
        for text in logged.iter().copied().chain([posted.as_str()]) {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
    assert!(posted.contains("password=[redacted]"), "{posted}");
}

#[test]
fn events_are_posted_to_the_collector_without_holding_the_request() {
    let config = r#"{"evidence":{"collector":{"cluster":"waf_events","path":"/ingest","timeout_ms":500}}}"#;
    let mut p = builder(config)
        .upstream("waf_events", |_| CallReply::status(200, ""))
        .build()
        .unwrap();
    let out = p.run(&Request::get(SQLI_PATH), &ok_html()).unwrap();
    assert_eq!(out.status(), Some(200));
    assert!(upstream_complete(&out));
    let calls = p.http_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.cluster, "waf_events");
    assert_eq!(call.headers.get(":path").as_deref(), Some("/ingest"));
    assert_eq!(call.headers.get(":method").as_deref(), Some("POST"));
    assert_eq!(call.timeout_ms, 500);
    let posted: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(posted["decision"], "would_block");
    // Clean traffic posts nothing.
    p.run(&Request::get("/"), &ok_html()).unwrap();
    assert_eq!(p.http_calls().len(), 1);
}

#[test]
fn configuration_errors_fail_configure() {
    let cases = [
        "{not json",
        r#"{"mode":"enforce","unknown_key":1}"#,
        r#"{"mode":"block"}"#,
        r#"{"paranoia_level":7}"#,
        r#"{"paranoia_level":0}"#,
        r#"{"crs":false,"directives":["SecRuleEngine On","SecRule ARGS \"@rx (\" \"id:1,deny\""]}"#,
        r#"{"directives":["SecRuleRemoveById 1","SecBogus On"]}"#,
        r#"{"directive_sets":{"a":["SecRule ARGS"]},"per_authority":{"x.example":"a"}}"#,
        r#"{"per_authority":{"x.example":"nope"}}"#,
        r#"{"per_route":{"r":"nope"}}"#,
        r#"{"request_body":{"on_limit":"drop"}}"#,
        r#"{"directives":["Include /etc/passwd"]}"#,
        r#"{"evidence":{"log_level":"loud"}}"#,
    ];
    let mut logged = Vec::new();
    for config in cases {
        match builder(config).build() {
            Err(Error::ConfigRejected { logs, .. }) => {
                let line = logs
                    .iter()
                    .find(|l| l.starts_with("error: meshward.waf: invalid configuration: "));
                logged.push(
                    line.unwrap_or_else(|| panic!("{config}: no error line in {logs:?}"))
                        .clone(),
                );
            }
            Err(other) => panic!("{config}: configure should return false, got {other}"),
            Ok(_) => panic!("{config}: configuration accepted"),
        }
    }
    // The log names where and why.
    assert!(logged[5].contains("directives[1]:1"), "{}", logged[5]);
    assert!(
        logged[6].contains("directives[1]") && logged[6].contains("SecBogus"),
        "{}",
        logged[6]
    );
    assert!(
        logged[8].contains("per_authority.x.example") && logged[8].contains("nope"),
        "{}",
        logged[8]
    );
    assert!(logged[1].contains("unknown_key"), "{}", logged[1]);
    assert!(
        logged[12].contains("unknown variant `loud`, expected one of `trace`, `debug`, `info`, `warn`, `error`"),
        "{}",
        logged[12]
    );
}

/// The `wasm32-unknown-unknown` build has no system clock: the engine must use the proxy's.
#[test]
fn unknown_unknown_build_blocks_in_enforce_mode() {
    let dir = wasm_dir().join("../wasm32-unknown-unknown");
    let path = dir.join("meshward_waf.wasm");
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask wasm --target all`",
        path.display()
    );
    let module = host()
        .load(&path)
        .expect("meshward_waf.wasm (unknown-unknown) compiles");
    let mut p = host()
        .plugin(&module)
        .config(r#"{"mode":"enforce"}"#)
        .build()
        .expect("configures");
    let out = p.run(&Request::get(SQLI_PATH), &ok_html()).unwrap();
    assert_eq!(out.status(), Some(403), "logs: {:#?}", out.logs);
    let clean = p.run(&Request::get("/index.html"), &ok_html()).unwrap();
    assert_eq!(clean.status(), Some(200), "logs: {:#?}", clean.logs);
}

#[test]
fn configure_reports_rules_load_time_and_memory() {
    let p = plugin("{}");
    let line = p
        .logs()
        .iter()
        .find(|l| l.message.starts_with("meshward.waf: loaded "))
        .unwrap_or_else(|| panic!("configure log line: {:#?}", p.logs()));
    assert_eq!(line.level, "warn", "at `evidence.log_level`, warn by default");
    let words: Vec<&str> = line.message.split_whitespace().collect();
    let rules: usize = words[2].parse().unwrap();
    assert!(rules > 500, "CRS rules loaded: {}", line.message);
    let memory_at = words.iter().position(|w| *w == "memory").unwrap();
    let memory: usize = words[memory_at + 1].parse().unwrap();
    assert!(memory >= 1 << 20, "{}", line.message);
    assert!(memory <= p.memory_bytes(), "reported memory is the VM's linear memory");
    assert!(line.message.contains(" ms;"), "{}", line.message);
}

fn post_headers() -> Headers {
    let mut h = Headers::new();
    for (k, v) in [
        (":authority", "example.com"),
        (":path", "/f"),
        (":method", "POST"),
        (":scheme", "http"),
        ("content-type", FORM),
    ] {
        h.add(k, v);
    }
    h
}

#[test]
fn detect_mode_streams_bodies_and_enforce_mode_holds_them_until_inspected() {
    let mut d = plugin("{}");
    let id = d.open_stream().unwrap();
    let mut s = d.stream(id);
    assert_eq!(s.send_request_headers(post_headers(), false).unwrap(), Step::Continue);
    assert_eq!(
        s.send_request_body(b"id=1%27%20or%20", false).unwrap(),
        Step::Continue,
        "detect mode never holds the body"
    );
    assert_eq!(s.send_request_body(b"1%3D1--", true).unwrap(), Step::Continue);
    let out = s.finish().unwrap();
    assert_eq!(upstream_body(&out), "id=1%27%20or%201%3D1--");
    assert_eq!(
        event(&out)["decision"],
        "would_block",
        "the streamed body was still inspected whole"
    );

    let mut e = plugin(r#"{"mode":"enforce"}"#);
    let id = e.open_stream().unwrap();
    let mut s = e.stream(id);
    assert_eq!(s.send_request_headers(post_headers(), false).unwrap(), Step::Continue);
    assert_eq!(
        s.send_request_body(b"id=1%27%20or%20", false).unwrap(),
        Step::Stopped,
        "enforce mode holds the body"
    );
    s.send_request_body(b"1%3D1--", true).unwrap();
    assert!(s.answered());
}

#[test]
fn bodies_past_envoys_buffer_limit_pass_in_detect_mode_and_get_envoys_413_in_enforce_mode() {
    let big = || {
        Request::post(
            "/upload",
            format!("a={}", "x".repeat(meshward_host_test::BUFFER_LIMIT + 1024)),
        )
        .header("content-type", FORM)
        .chunked(64 * 1024)
    };
    let mut d = plugin("{}");
    let out = d.run(&big(), &ok_html()).unwrap();
    assert_eq!(
        out.status(),
        Some(200),
        "detect mode streams the body: Envoy's buffer limit never applies"
    );
    assert!(upstream_complete(&out));
    let mut e = plugin(r#"{"mode":"enforce"}"#);
    let out = e.run(&big(), &ok_html()).unwrap();
    assert_eq!(
        out.status(),
        Some(413),
        "enforce mode buffers: past Envoy's buffer limit Envoy answers 413 (README)"
    );
    assert!(!upstream_complete(&out));
    let e = event(&out);
    assert!(
        e["limits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "request_incomplete"),
        "{e}"
    );
}

fn post_to(path: &str, extra: &[(&str, &str)]) -> Headers {
    let mut h = Headers::new();
    for (k, v) in [
        (":authority", "example.com"),
        (":path", path),
        (":method", "POST"),
        (":scheme", "http"),
    ] {
        h.add(k, v);
    }
    for (k, v) in extra {
        h.add(k, v);
    }
    h
}

#[test]
fn enforce_refuses_a_head_attack_of_a_slow_post_before_its_body_and_the_upstream() {
    let attacks = [
        post_to("/f?id=1%27%20or%201%3D1--", &[("content-type", FORM)]),
        post_to("/f", &[("content-type", FORM), ("cookie", "s=1' or 1=1--")]),
        post_to("/f", &[("content-type", FORM), ("referer", "1' or 1=1--")]),
    ];
    for (i, head) in attacks.into_iter().enumerate() {
        let mut e = plugin(r#"{"mode":"enforce"}"#);
        let id = e.open_stream().unwrap();
        let mut s = e.stream(id);
        s.send_request_headers(head, false).unwrap();
        assert!(s.answered(), "attack {i}: refused on its head, before its body");
        assert_eq!(s.send_request_body(b"a=1", true).unwrap(), Step::Skipped);
        let out = s.finish().unwrap();
        assert_eq!(out.status(), Some(403), "attack {i}");
        assert!(
            out.upstream_request.is_none(),
            "attack {i}: the upstream never saw the request"
        );
        let ev = event(&out);
        assert_eq!(ev["decision"], "block", "attack {i}: {ev}");
        assert!(
            rule_ids(&ev).contains(&949110),
            "attack {i}: CRS's blocking evaluation: {ev}"
        );
        assert!(
            rule_ids(&ev).iter().any(|id| (942000..943000).contains(id)),
            "attack {i}: a SQLi rule (phase 2) decided on the head: {ev}"
        );
    }
    // The benign twin passes whole; detect mode passes the attack and records it.
    let mut e = plugin(r#"{"mode":"enforce"}"#);
    let id = e.open_stream().unwrap();
    let mut s = e.stream(id);
    let head = post_to("/f?id=42", &[("content-type", FORM), ("cookie", "s=abc")]);
    assert_eq!(s.send_request_headers(head, false).unwrap(), Step::Continue);
    assert_eq!(s.send_request_body(b"a=1", true).unwrap(), Step::Continue);
    s.send_response(&ok_html()).unwrap();
    let out = s.finish().unwrap();
    assert!(upstream_complete(&out));
    assert_eq!(out.status(), Some(200));
    let mut d = plugin("{}");
    let id = d.open_stream().unwrap();
    let mut s = d.stream(id);
    let head = post_to("/f?id=1%27%20or%201%3D1--", &[("content-type", FORM)]);
    assert_eq!(s.send_request_headers(head, false).unwrap(), Step::Continue);
    assert_eq!(s.send_request_body(b"a=1", true).unwrap(), Step::Continue);
    s.send_response(&ok_html()).unwrap();
    let out = s.finish().unwrap();
    assert!(upstream_complete(&out));
    let ev = event(&out);
    assert_eq!(ev["decision"], "would_block");
    assert_eq!(ev["phase"], 2, "detect mode records at CRS's usual phase: {ev}");
}

/// One gRPC message carrying `text` as protobuf string field 1 (the mesh profile parses gRPC
/// messages as protobuf and refuses one that is not): flag 0, big-endian length, message.
fn grpc_message(text: &[u8]) -> Vec<u8> {
    let len = u8::try_from(text.len()).ok().filter(|n| *n < 0x80).unwrap();
    let payload = [&[0x0a, len][..], text].concat();
    let mut m = vec![0];
    m.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
    m.extend_from_slice(&payload);
    m
}

const GRPC_ENFORCE: &str = r#"{"mode":"enforce","directives":[
    "SecRule REQUEST_BODY \"@contains drop table\" \"id:1001,phase:2,deny,status:403,log,msg:'marker'\""]}"#;

fn grpc_head() -> Headers {
    post_to(
        "/echo.Echo/Chat",
        &[("content-type", "application/grpc"), ("te", "trailers")],
    )
}

fn grpc_response_head() -> Headers {
    let mut h = Headers::new();
    h.add(":status", "200");
    h.add("content-type", "application/grpc");
    h
}

#[test]
fn a_grpc_ping_pong_stream_is_released_message_by_message_and_a_bad_third_message_never_passes() {
    let mut e = plugin(GRPC_ENFORCE);
    let id = e.open_stream().unwrap();
    let mut s = e.stream(id);
    assert_eq!(s.send_request_headers(grpc_head(), false).unwrap(), Step::Continue);
    // Message 1 in two chunks: held until whole, then released.
    let first = grpc_message(b"ping 1");
    assert_eq!(s.send_request_body(&first[..3], false).unwrap(), Step::Stopped);
    assert_eq!(s.send_request_body(&first[3..], false).unwrap(), Step::Continue);
    // The service answers before the request ends.
    assert_eq!(
        s.send_response_headers(grpc_response_head(), false).unwrap(),
        Step::Continue
    );
    assert_eq!(
        s.send_response_body(&grpc_message(b"pong 1"), false).unwrap(),
        Step::Continue
    );
    assert_eq!(
        s.send_request_body(&grpc_message(b"ping 2"), false).unwrap(),
        Step::Continue
    );
    assert_eq!(
        s.send_response_body(&grpc_message(b"pong 2"), false).unwrap(),
        Step::Continue
    );
    let so_far = s.outcome();
    let upstream = so_far
        .upstream_request
        .as_ref()
        .expect("the first messages went upstream");
    assert_eq!(
        upstream.body,
        [grpc_message(b"ping 1"), grpc_message(b"ping 2")].concat()
    );
    let bad = grpc_message(b"x'; drop table users");
    assert_eq!(s.send_request_body(&bad[..4], false).unwrap(), Step::Stopped);
    s.send_request_body(&bad[4..], false).unwrap();
    assert!(s.answered(), "the bad third message ends the call");
    let out = s.finish().unwrap();
    assert!(out.reset, "the response had started: the stream is reset");
    assert!(
        out.upstream_request.is_none(),
        "the request was cut short, its third message held"
    );
    let events = events_in(&out.logs);
    let bad: Vec<_> = events.iter().filter(|e| e["message"] == 3).collect();
    assert_eq!(bad.len(), 1, "{events:#?}");
    assert_eq!(bad[0]["decision"], "block");
    assert!(rule_ids(bad[0]).contains(&1001));
    assert_eq!(counter(&e, "meshward_waf.blocked"), 1);
}

#[test]
fn a_grpc_stream_whose_request_never_ends_keeps_flowing_and_a_clean_call_completes() {
    let mut e = plugin(GRPC_ENFORCE);
    let id = e.open_stream().unwrap();
    let mut s = e.stream(id);
    assert_eq!(s.send_request_headers(grpc_head(), false).unwrap(), Step::Continue);
    assert_eq!(
        s.send_request_body(&grpc_message(b"subscribe"), false).unwrap(),
        Step::Continue
    );
    // Server streaming that replies before the request ends: no `request_incomplete` cut.
    assert_eq!(
        s.send_response_headers(grpc_response_head(), false).unwrap(),
        Step::Continue
    );
    for i in 0..3 {
        let update = grpc_message(format!("update {i}").as_bytes());
        assert_eq!(s.send_response_body(&update, false).unwrap(), Step::Continue);
    }
    assert_eq!(s.send_request_body(b"", true).unwrap(), Step::Continue);
    let mut trailers = Headers::new();
    trailers.add("grpc-status", "0");
    assert_eq!(s.send_response_trailers(trailers).unwrap(), Step::Continue);
    let out = s.finish().unwrap();
    assert!(!out.reset);
    assert!(upstream_complete(&out));
    assert!(events_in(&out.logs).is_empty(), "a clean call: {:#?}", out.logs);
}
