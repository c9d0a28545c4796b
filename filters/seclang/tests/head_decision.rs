//! `Transaction::decide_on_head`: phase 2 on the head alone, then undone, must leave the full
//! phase 2 with the body exactly as it would have been without it (same matches, scores and
//! decision), while keeping the head values' transformations for that second run.

use meshward_seclang::{Intervention, MatchedRule, RuleSet, Transaction};
use meshward_testkit::locate::crs_dir;

/// Scores an SQL and an XSS pattern, each worth 3, over head and body values, through
/// transformation chains and prefiltered operators; 5 points deny.
const SMALL: &str = r#"SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:x-flag "@streq on" "id:1,phase:1,pass,setvar:tx.score=+1"
SecRule ARGS|REQUEST_HEADERS|REQUEST_COOKIES "@rx select\s+\w+\s+from" "id:10,phase:2,pass,t:urlDecodeUni,t:lowercase,msg:'sqli',logdata:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR}',setvar:tx.score=+3"
SecRule ARGS|REQUEST_HEADERS|REQUEST_COOKIES "@pm <script javascript:" "id:11,phase:2,pass,t:htmlEntityDecode,t:lowercase,t:removeWhitespace,msg:'xss',logdata:'%{MATCHED_VAR}',setvar:tx.score=+3"
SecRule ARGS|REQUEST_HEADERS "@rx ^[0-9]{40,}$" "id:13,phase:2,pass,t:urlDecodeUni,t:compressWhitespace,msg:'no literal: tested value by value'"
SecRule ARGS_POST "@contains drop table" "id:12,phase:2,pass,t:lowercase,msg:'body',setvar:tx.score=+3"
SecRule TX:score "@ge 5" "id:99,phase:2,deny,status:403,msg:'score %{tx.score}'"
"#;

/// One request: (uri, headers, body).
type Request<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [u8]);

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// What a transaction decided and recorded, compared between the two ways of running it.
#[derive(Debug, PartialEq)]
struct Outcome {
    intervention: Option<Intervention>,
    decision: Option<Intervention>,
    matched: Vec<MatchedRule>,
    tx: Vec<(Vec<u8>, Vec<u8>)>,
}

fn outcome(tx: &Transaction) -> Outcome {
    Outcome {
        intervention: tx.intervention().cloned(),
        decision: tx.decision().cloned(),
        matched: tx.matched_rules().to_vec(),
        tx: tx
            .collection("tx")
            .map(|c| c.iter().map(|e| (e.key.clone(), e.value.clone())).collect())
            .unwrap_or_default(),
    }
}

/// The transaction after phase 1.
fn head(rules: &RuleSet, (uri, headers, _): Request<'_>) -> Transaction {
    let mut tx = rules.transaction();
    tx.process_connection("192.0.2.10", 40000, "192.0.2.1", 80);
    tx.process_uri(uri.as_bytes(), "POST", "1.1");
    for (k, v) in headers {
        tx.add_request_header(k.as_bytes(), v.as_bytes());
    }
    tx.process_request_headers();
    tx
}

/// Phase 2 with the body, then the response and logging.
fn finish(mut tx: Transaction, body: &[u8]) -> Transaction {
    tx.append_request_body(body);
    tx.process_request_body();
    tx.add_response_header(b"Content-Type", b"text/html");
    tx.process_response_headers(200, "HTTP/1.1");
    tx.append_response_body(b"<html>ok</html>");
    tx.process_response_body();
    tx.process_logging();
    tx
}

/// How a request goes when the head is decided first: `(head decision, transformations done by
/// the head run, the finished transaction)`.
fn with_head_pass(rules: &RuleSet, request: Request<'_>) -> (Option<Intervention>, u64, Transaction) {
    let mut tx = head(rules, request);
    let before = tx.cached_transformations();
    let decided = tx.decide_on_head().cloned();
    let by_head = tx.cached_transformations() - before;
    (decided, by_head, finish(tx, request.2))
}

/// The same request with no head pass.
fn without_head_pass(rules: &RuleSet, request: Request<'_>) -> Transaction {
    finish(head(rules, request), request.2)
}

/// The head decided the previous way, in a copy of the transaction that then replaces it
/// (the body that follows is not read).
fn head_in_copy(rules: &RuleSet, request: Request<'_>) -> Transaction {
    let tx = head(rules, request);
    let mut copy = tx.fork_before_body().expect("a copy before the body");
    copy.process_request_without_body();
    finish(copy, request.2)
}

/// Checks one request that the head alone does not decide: the full run is the same with and
/// without the head pass, and no value the head pass transformed is transformed again.
fn assert_same_without_head_decision(rules: &RuleSet, request: Request<'_>) -> Outcome {
    let (decided, by_head, with) = with_head_pass(rules, request);
    assert_eq!(decided, None, "the head alone does not decide {request:?}");
    assert!(by_head > 0, "the head pass transformed head values");
    let without = without_head_pass(rules, request);
    let got = outcome(&with);
    assert_eq!(got, outcome(&without), "{request:?}");
    assert_eq!(
        with.cached_transformations(),
        without.cached_transformations(),
        "the full phase 2 reused every transformation of the head pass ({by_head} of them)"
    );
    got
}

fn small() -> RuleSet {
    RuleSet::from_str(SMALL, "small.conf").unwrap_or_else(|e| panic!("load failed: {e}"))
}

fn ids(o: &Outcome) -> Vec<u64> {
    o.matched.iter().map(|m| m.id).collect()
}

#[test]
fn attack_in_the_head_is_decided_as_in_a_copy() {
    let rules = small();
    let request: Request<'_> = (
        "/search?q=SELECT%20name%20FROM%20users&r=%3Cscript%3E",
        &[FORM, ("Host", "example.com")],
        b"a=1",
    );
    let (decided, _, with) = with_head_pass(&rules, request);
    let reference = head_in_copy(&rules, request);
    assert_eq!(decided.as_ref().map(|i| (i.rule_id, i.status)), Some((99, 403)));
    assert_eq!(decided.as_ref(), reference.intervention());
    let got = outcome(&with);
    assert_eq!(got, outcome(&reference), "the decision's evidence is the head run's");
    assert_eq!(ids(&got), [10, 11, 99]);
    assert!(
        with.request_body_state().processor.is_none(),
        "a decided head's body is never processed"
    );
}

#[test]
fn attack_in_the_body_is_decided_as_without_the_head_pass() {
    let rules = small();
    let got = assert_same_without_head_decision(
        &rules,
        (
            "/search?q=books",
            &[FORM, ("Host", "example.com"), ("Cookie", "s=abc")],
            b"q=select+name+from+users&c=%3Cscript%3Ealert(1)",
        ),
    );
    assert_eq!(got.intervention.as_ref().map(|i| i.rule_id), Some(99));
    assert_eq!(ids(&got), [10, 11, 99]);
}

#[test]
fn head_and_body_only_together_over_the_threshold() {
    let rules = small();
    let got = assert_same_without_head_decision(
        &rules,
        (
            "/search?q=select%20id%20from%20t",
            &[FORM, ("Host", "example.com"), ("x-flag", "on")],
            b"x=1&note=drop+table+users",
        ),
    );
    // 1 (phase 1) + 3 (query) stays under 5 on the head; the body's 3 more deny.
    assert_eq!(
        got.intervention.as_ref().map(|i| (i.rule_id, i.status)),
        Some((99, 403))
    );
    assert_eq!(ids(&got), [1, 10, 12, 99]);
}

#[test]
fn clean_request_matches_nothing_either_way() {
    let rules = small();
    let got = assert_same_without_head_decision(
        &rules,
        ("/search?q=books", &[FORM, ("Host", "example.com")], b"q=novels&page=2"),
    );
    assert_eq!(got.intervention, None);
    assert!(ids(&got).is_empty());
}

#[test]
fn decide_on_head_is_refused_after_a_body_or_phase_two() {
    let rules = small();
    let mut tx = head(&rules, ("/", &[FORM], b""));
    tx.append_request_body(b"a=1");
    assert!(tx.decide_on_head().is_none());
    tx.process_request_body();
    assert!(tx.decide_on_head().is_none());
    assert!(tx.fork_before_body().is_none());
}

fn crs() -> RuleSet {
    let dir = crs_dir();
    let text = format!(
        "SecRuleEngine On\nSecRequestBodyAccess On\nInclude {}\nInclude {}/rules/*.conf\n",
        dir.join("crs-setup.conf.example").display(),
        dir.display()
    );
    RuleSet::builder()
        .add_str(&text, "crs-main.conf")
        .build()
        .unwrap_or_else(|e| panic!("CRS failed to load from {}: {e}", dir.display()))
}

const BROWSER: &[(&str, &str)] = &[
    FORM,
    ("Host", "shop.example.com"),
    (
        "User-Agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    ),
    ("Accept", "text/html,application/xhtml+xml"),
    ("Accept-Language", "en-US,en;q=0.5"),
    ("Content-Length", "64"),
    ("Cookie", "session=2f1c9a7e; theme=dark"),
];

fn logged_ids(o: &Outcome) -> Vec<u64> {
    o.matched.iter().filter(|m| m.logged).map(|m| m.id).collect()
}

#[test]
fn crs_attack_in_the_head_is_decided_as_in_a_copy() {
    let rules = crs();
    let request: Request<'_> = (
        "/search?id=1%27%20UNION%20SELECT%20password%20FROM%20users--",
        BROWSER,
        b"a=1",
    );
    let (decided, _, with) = with_head_pass(&rules, request);
    let reference = head_in_copy(&rules, request);
    assert_eq!(decided.as_ref().map(|i| i.rule_id), Some(949110));
    let got = outcome(&with);
    assert_eq!(got, outcome(&reference));
    assert!(
        logged_ids(&got).iter().any(|id| (942000..943000).contains(id)),
        "{got:?}"
    );
}

#[test]
fn crs_attack_in_the_body_is_decided_as_without_the_head_pass() {
    let rules = crs();
    let got = assert_same_without_head_decision(
        &rules,
        (
            "/comment?post=12",
            BROWSER,
            b"name=ann&text=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E",
        ),
    );
    assert_eq!(got.intervention.as_ref().map(|i| i.rule_id), Some(949110));
    assert!(
        logged_ids(&got).iter().any(|id| (941000..942000).contains(id)),
        "{got:?}"
    );
}

#[test]
fn crs_head_and_body_only_together_over_the_threshold() {
    let rules = crs();
    // A numeric Host (920350, warning: 3) and a full-width %u escape in the form body
    // (920260, warning: 3): each under the threshold of 5 alone, together over it.
    let mut numeric = BROWSER.to_vec();
    numeric.retain(|(k, _)| *k != "Host");
    numeric.push(("Host", "192.0.2.1"));
    let body: &[u8] = b"name=ann&text=%uff41bc";
    let head_alone = without_head_pass(&rules, ("/comment?post=12", &numeric, b"name=ann"));
    assert_eq!(head_alone.intervention(), None, "the head's warning alone passes");
    let body_alone = without_head_pass(&rules, ("/comment?post=12", BROWSER, body));
    assert_eq!(body_alone.intervention(), None, "the body's warning alone passes");
    let got = assert_same_without_head_decision(&rules, ("/comment?post=12", &numeric, body));
    let logged = logged_ids(&got);
    assert_eq!(got.intervention.as_ref().map(|i| i.rule_id), Some(949110), "{logged:?}");
    assert!(logged.contains(&920350) && logged.contains(&920260), "{logged:?}");
}

#[test]
fn crs_clean_form_is_the_same_either_way() {
    let rules = crs();
    let got = assert_same_without_head_decision(
        &rules,
        (
            "/checkout?step=2",
            BROWSER,
            b"first=Ann&last=Lee&street=12+High+Street&city=Springfield&zip=12345&note=Leave+at+the+door",
        ),
    );
    assert_eq!(got.intervention, None, "{:?}", logged_ids(&got));
}
