//! Every example in rules/policy/examples compiles and decides as its comment says.

use meshward_policy::{Engine, Request};
use meshward_vocab::Decision;

fn example(name: &str) -> Engine {
    let path = format!("{}/../../rules/policy/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let engine = Engine::from_text(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        engine.deprecations().is_empty(),
        "{path} uses deprecated words: {:?}",
        engine.deprecations()
    );
    engine
}

#[test]
fn ingress_mtls() {
    let e = example("ingress-mtls.yaml");
    let web = |method, path| Request {
        method,
        path,
        authority: "orders.shop.svc.cluster.local",
        mtls: true,
        peer_uri_san: Some("spiffe://cluster.local/ns/web/sa/frontend"),
        ..Request::default()
    };
    assert_eq!(e.decide(&web("GET", "/orders/17/items")).decision, Decision::Allow);
    assert_eq!(e.decide(&web("GET", "/admin/users")).decision, Decision::Block);
    assert_eq!(e.decide(&web("GET", "/users")).decision, Decision::Block);
    let d = e.decide(&web("POST", "/orders"));
    assert_eq!((d.decision, d.audits.len()), (Decision::Allow, 1));
    let anon = Request {
        mtls: false,
        peer_uri_san: None,
        ..web("GET", "/orders")
    };
    assert_eq!(e.decide(&anon).decision, Decision::Block);
}

#[test]
fn egress_allow_list() {
    let e = example("egress-allow-list.yaml");
    let to = |authority, dst| Request {
        method: "GET",
        path: "/",
        authority,
        destination_address: Some(dst),
        ..Request::default()
    };
    assert_eq!(
        e.decide(&to("api.github.com", "140.82.112.5:443")).decision,
        Decision::Allow
    );
    assert_eq!(
        e.decide(&to("example.net", "93.184.216.34:443")).decision,
        Decision::Block
    );
    assert_eq!(
        e.decide(&to("db.data.svc.cluster.local", "10.4.0.2:5432")).decision,
        Decision::Allow
    );
}

#[test]
fn default_deny() {
    let e = example("default-deny.yaml");
    let r = Request {
        method: "GET",
        path: "/public/site.css",
        authority: "www.example.com",
        ..Request::default()
    };
    assert_eq!(e.decide(&r).decision, Decision::Allow);
    let r = Request { path: "/private", ..r };
    assert_eq!(e.decide(&r).decision, Decision::WouldBlock);
}
