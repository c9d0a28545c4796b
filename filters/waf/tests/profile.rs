//! The `profile` key in host-test: with the mesh profile (the zero-config default) enforce mode
//! refuses none of the ordinary requests a service mesh carries, while CRS's own profile
//! (`"profile":"crs"`) refuses the ones CRS's defaults do not allow; `+json` vendor types are
//! parsed as JSON so an attack in them is still blocked.

mod common;

use common::*;
use meshward_host_test::{Request, Response};

/// A protobuf message with one string field (field 1, wire type 2).
fn proto_string(value: &str) -> Vec<u8> {
    let mut m = vec![0x0a, u8::try_from(value.len()).unwrap()];
    m.extend_from_slice(value.as_bytes());
    m
}

fn h2(request: Request) -> Request {
    request.property("request.protocol", "HTTP/2")
}

/// Ordinary mesh requests: a label and the request.
fn ordinary() -> Vec<(&'static str, Request)> {
    let json = r#"{"name":"widget","count":3}"#;
    vec![
        ("GET", Request::get("/orders/17")),
        (
            "POST json",
            Request::post("/orders", json).header("content-type", "application/json"),
        ),
        (
            "PUT json",
            Request::new("PUT", "/orders/17")
                .header("content-type", "application/json")
                .body(json),
        ),
        (
            "PATCH merge-patch+json",
            Request::new("PATCH", "/orders/17")
                .header("content-type", "application/merge-patch+json")
                .body(r#"{"count":4}"#),
        ),
        ("DELETE", Request::new("DELETE", "/orders/17")),
        (
            "POST vnd.api+json",
            Request::post("/orders", r#"{"data":{"type":"orders","attributes":{"count":1}}}"#)
                .header("content-type", "application/vnd.api+json"),
        ),
        (
            "POST atom+xml",
            Request::post(
                "/feed",
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title></feed>",
            )
            .header("content-type", "application/atom+xml"),
        ),
        (
            "gRPC unary (HTTP/2)",
            h2(Request::post("/shop.Orders/Get", grpc_frame(&proto_string("order-17")))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .header("grpc-timeout", "5S")),
        ),
        (
            "gRPC +proto (HTTP/2)",
            h2(Request::post("/shop.Orders/Get", grpc_frame(&proto_string("order-17")))
                .header("content-type", "application/grpc+proto")
                .header("te", "trailers")),
        ),
        (
            "gRPC-Web",
            Request::post("/shop.Orders/Get", grpc_frame(&proto_string("order-17")))
                .header("content-type", "application/grpc-web+proto")
                .header("x-grpc-web", "1")
                .header("x-user-agent", "grpc-web-javascript/0.1"),
        ),
        (
            "gRPC-Web text",
            Request::post("/shop.Orders/Get", "AAAAAAoKCG9yZGVyLTE3")
                .header("content-type", "application/grpc-web-text")
                .header("x-grpc-web", "1"),
        ),
        (
            "protobuf",
            Request::post("/orders", proto_string("order-17")).header("content-type", "application/x-protobuf"),
        ),
        (
            "POST form without Content-Type",
            Request::post("/login", "user=alice&remember=1").header("content-length", "21"),
        ),
        (
            "GET with a JSON body",
            Request::get("/search")
                .header("content-type", "application/json")
                .header("content-length", "26")
                .body(r#"{"query":{"name":"lamp"}}"#),
        ),
        (
            "GET with a chunked body",
            Request::get("/search")
                .header("content-type", "application/json")
                .header("transfer-encoding", "chunked")
                .body(r#"{"query":{"name":"lamp"}}"#),
        ),
        (
            "text/plain",
            Request::post("/hooks/deploy", "deploy finished: 17 services")
                .header("content-type", "text/plain; charset=utf-8"),
        ),
        (
            "octet-stream",
            Request::post("/blobs/7", vec![0x89, b'P', b'N', b'G', 0, 1, 2, 0xff])
                .header("content-type", "application/octet-stream"),
        ),
        (
            "ndjson",
            Request::post("/_bulk", "{\"index\":{}}\n{\"name\":\"lamp\"}\n")
                .header("content-type", "application/x-ndjson"),
        ),
        (
            "WebSocket upgrade",
            Request::get("/chat")
                .header("connection", "Upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ),
    ]
}

fn refused(profile: &str) -> Vec<&'static str> {
    let config = match profile {
        "" => r#"{"mode":"enforce"}"#.to_string(),
        p => format!(r#"{{"mode":"enforce","profile":"{p}"}}"#),
    };
    let mut p = plugin(&config);
    let mut out = Vec::new();
    for (label, request) in ordinary() {
        let outcome = p.run(&request, &Response::ok()).unwrap();
        if outcome.status() != Some(200) {
            out.push(label);
        }
    }
    out
}

#[test]
fn mesh_profile_is_the_default_and_refuses_no_ordinary_request() {
    assert_eq!(refused(""), Vec::<&str>::new(), "zero-config enforce mode");
    assert_eq!(refused("mesh"), Vec::<&str>::new());
}

#[test]
fn crs_profile_keeps_crs_defaults_one_key_away() {
    assert_eq!(
        refused("crs"),
        [
            "PUT json",
            "PATCH merge-patch+json",
            "DELETE",
            "POST vnd.api+json",
            "POST atom+xml",
            "gRPC unary (HTTP/2)",
            "gRPC +proto (HTTP/2)",
            "gRPC-Web",
            "gRPC-Web text",
            "protobuf",
            "POST form without Content-Type",
            "GET with a JSON body",
            "GET with a chunked body",
            "text/plain",
            "octet-stream",
            "ndjson",
        ]
    );
}

#[test]
fn vendor_json_is_parsed_so_an_attack_inside_is_blocked() {
    let attack = r#"{"data":{"filter":"1' UNION SELECT password FROM users--"}}"#;
    let request = || Request::post("/orders", attack).header("content-type", "application/vnd.api+json");
    let mut p = plugin(r#"{"mode":"enforce"}"#);
    let out = p.run(&request(), &Response::ok()).unwrap();
    assert_eq!(out.status(), Some(403));
    let e = event(&out);
    assert!(
        rule_ids(&e).iter().any(|id| (942000..943000).contains(id)),
        "a SQLi rule matched: {e}"
    );
    assert!(!rule_ids(&e).contains(&920420), "the type is not refused: {e}");
    assert!(
        e.to_string().contains("json.data.filter"),
        "the value was found as a JSON argument: {e}"
    );
    // Not JSON although it says so: the JSON parser refuses it (rule 200002), as for application/json.
    let out = p
        .run(
            &Request::post("/orders", "not json").header("content-type", "application/vnd.api+json"),
            &Response::ok(),
        )
        .unwrap();
    assert_eq!(out.status(), Some(400));
}
