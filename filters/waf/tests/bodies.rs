//! Nothing hidden by the body format (mesh profile, enforce mode): an attack inside a gRPC,
//! gRPC-Web, gRPC-Web-text or protobuf message, an NDJSON line, a body without a Content-Type, a
//! GET body, an uploaded text file, an RFC 5987 `filename*` or a multipart part header is blocked
//! and never reaches the upstream, while its benign twin passes.

mod common;

use base64::Engine as _;
use common::*;
use meshward_host_test::{Request, Response};

const SQLI: &str = "1' UNION SELECT password FROM users--";

/// A protobuf message whose field 2 is a nested message with the string `value` as field 1,
/// after a field 1 string `order-17`.
fn nested_message(value: &str) -> Vec<u8> {
    let string = |n: u8, v: &[u8]| {
        let mut m = vec![n << 3 | 2, u8::try_from(v.len()).unwrap()];
        m.extend_from_slice(v);
        m
    };
    let mut m = string(1, b"order-17");
    m.extend(string(2, &string(1, value.as_bytes())));
    m
}

fn h2(request: Request) -> Request {
    request.property("request.protocol", "HTTP/2")
}

/// Requests carrying `value` in each body format: a label, the request, and the argument
/// name under which the value is found.
fn carriers(value: &str) -> Vec<(&'static str, Request, &'static str)> {
    let message = nested_message(value);
    let length = |r: Request| {
        let n = r.chunks.concat().len().to_string();
        r.header("content-length", &n)
    };
    let boundary = "XyZ";
    let multipart = |disposition: &str, extra_header: &str, content: &str| {
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n{extra_header}\r\n{content}\r\n--{boundary}--\r\n"
        );
        length(
            Request::post("/upload", body).header("content-type", &format!("multipart/form-data; boundary={boundary}")),
        )
    };
    let url_value: String = value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    vec![
        (
            "gRPC (HTTP/2)",
            h2(Request::post("/shop.Orders/Get", grpc_frame(&message))
                .header("content-type", "application/grpc")
                .header("te", "trailers")),
            "grpc.2.1",
        ),
        (
            // Each message of a framed gRPC body is inspected on its own (the event says `message: 2`).
            "gRPC second message of a stream",
            h2(Request::post(
                "/shop.Orders/Chat",
                [grpc_frame(&nested_message("hello")), grpc_frame(&message)].concat(),
            )
            .header("content-type", "application/grpc+proto")),
            "grpc.2.1",
        ),
        (
            "gRPC-Web",
            Request::post("/shop.Orders/Get", grpc_frame(&message))
                .header("content-type", "application/grpc-web+proto")
                .header("x-grpc-web", "1"),
            "grpc.2.1",
        ),
        (
            "gRPC-Web text",
            Request::post(
                "/shop.Orders/Get",
                base64::engine::general_purpose::STANDARD.encode(grpc_frame(&message)),
            )
            .header("content-type", "application/grpc-web-text")
            .header("x-grpc-web", "1"),
            "grpc.2.1",
        ),
        (
            "gRPC +json",
            h2(Request::post(
                "/shop.Orders/Get",
                grpc_frame(serde_json::json!({"filter": {"name": value}}).to_string().as_bytes()),
            )
            .header("content-type", "application/grpc+json")),
            "grpc.filter.name",
        ),
        (
            "protobuf",
            Request::post("/orders", message.clone()).header("content-type", "application/x-protobuf"),
            "protobuf.2.1",
        ),
        (
            "NDJSON",
            length(
                Request::post(
                    "/bulk",
                    format!("{{\"index\":{{}}}}\n{}\n", serde_json::json!({ "name": value })),
                )
                .header("content-type", "application/x-ndjson"),
            ),
            "json[2].name",
        ),
        (
            "form without Content-Type",
            length(Request::post("/login", format!("user={url_value}&remember=1"))),
            "user",
        ),
        (
            "GET with a JSON body",
            length(
                Request::get("/search")
                    .header("content-type", "application/json")
                    .body(serde_json::json!({ "q": value }).to_string()),
            ),
            "json.q",
        ),
        (
            "text file upload",
            multipart(
                "name=\"report\"; filename=\"report.txt\"",
                "Content-Type: text/plain\r\n",
                &format!("id,name\n17,{value}\n"),
            ),
            "FILES_TMP_CONTENT:report",
        ),
        (
            "filename*",
            multipart(
                &format!("name=\"doc\"; filename=\"doc.txt\"; filename*=UTF-8''{url_value}.txt"),
                "",
                "plain content",
            ),
            "FILES:doc",
        ),
        (
            "part header",
            multipart("name=\"note\"", &format!("X-Comment: {value}\r\n"), "plain note"),
            "MULTIPART_PART_HEADERS:note",
        ),
    ]
}

fn enforce() -> meshward_host_test::Plugin {
    plugin(r#"{"mode":"enforce"}"#)
}

#[test]
fn benign_values_in_every_body_format_pass() {
    let mut p = enforce();
    for (label, request, _) in carriers("lamp and desk") {
        let out = p.run(&request, &Response::ok()).unwrap();
        assert_eq!(out.status(), Some(200), "{label}: {:#?}", out.logs);
        assert!(upstream_complete(&out), "{label}: the upstream got it");
        assert!(events_in(&out.logs).is_empty(), "{label}: no event: {:#?}", out.logs);
    }
}

#[test]
fn sql_injection_in_every_body_format_is_blocked_where_it_was_found() {
    let mut p = enforce();
    for (label, request, name) in carriers(SQLI) {
        let out = p.run(&request, &Response::ok()).unwrap();
        assert_eq!(out.status(), Some(403), "{label}: {:#?}", out.logs);
        assert!(!upstream_complete(&out), "{label}: the upstream never got it");
        let e = event(&out);
        let found = e["rules"].as_array().into_iter().flatten().any(|r| {
            r["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "attack-sqli"))
                && r["variable"].as_str().is_some_and(|v| v.ends_with(name))
        });
        assert!(found, "{label}: a SQLi rule matched {name}: {e}");
    }
}

#[test]
fn script_and_php_in_uploaded_text_files_are_blocked_binary_files_are_not_scanned() {
    let mut p = enforce();
    let upload = |content: Vec<u8>| {
        let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\n".to_vec();
        body.extend(content);
        body.extend(b"\r\n--XyZ--\r\n");
        let n = body.len().to_string();
        Request::post("/upload", body)
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .header("content-length", &n)
    };
    for (label, content, tag) in [
        ("php", "<?php system($_GET['c']); ?>", "attack-injection-php"),
        (
            "script",
            "<p>hi</p><script>alert(document.cookie)</script>",
            "attack-xss",
        ),
    ] {
        let out = p.run(&upload(content.as_bytes().to_vec()), &Response::ok()).unwrap();
        assert_eq!(out.status(), Some(403), "{label}");
        let e = event(&out);
        assert!(e.to_string().contains(tag), "{label}: {e}");
        assert!(e.to_string().contains("FILES_TMP_CONTENT:f"), "{label}: {e}");
    }
    // The same bytes in a binary file (a NUL byte) are not read as text.
    let mut binary = b"\x89PNG\r\n\x1a\n\0\0".to_vec();
    binary.extend(b"<script>alert(1)</script>");
    let out = p.run(&upload(binary), &Response::ok()).unwrap();
    assert_eq!(out.status(), Some(200), "{:#?}", out.logs);
}

#[test]
fn detect_mode_records_a_grpc_attack_and_passes_it() {
    let mut p = plugin(r#"{"mode":"detect"}"#);
    let (_, request, _) = carriers(SQLI).remove(0);
    let out = p.run(&request, &Response::ok()).unwrap();
    assert_eq!(out.status(), Some(200));
    assert!(upstream_complete(&out));
    assert_eq!(event(&out)["decision"], "would_block");
}

#[test]
fn broken_grpc_frames_are_refused_and_uninspected_parts_are_reported() {
    let mut p = enforce();
    let mut cut = grpc_frame(&nested_message("lamp"));
    cut.truncate(cut.len() - 3);
    let out = p
        .run(
            &h2(Request::post("/shop.Orders/Get", cut).header("content-type", "application/grpc")),
            &Response::ok(),
        )
        .unwrap();
    assert_eq!(out.status(), Some(400), "{:#?}", out.logs);
    assert_eq!(event(&out)["decision"], "refused");

    // A snappy-compressed message cannot be read: passed, and the event says so.
    let mut frame = grpc_frame(b"\x01\x02\x03");
    frame[0] = 1;
    let out = p
        .run(
            &h2(Request::post("/shop.Orders/Get", frame)
                .header("content-type", "application/grpc")
                .header("grpc-encoding", "snappy")),
            &Response::ok(),
        )
        .unwrap();
    assert_eq!(out.status(), Some(200));
    let e = event(&out);
    assert_eq!(e["limits"], serde_json::json!(["grpc_compressed_message"]), "{e}");
}

#[test]
fn crs_profile_does_not_parse_grpc() {
    let mut p = plugin(r#"{"mode":"detect","profile":"crs"}"#);
    let (_, request, _) = carriers(SQLI).remove(0);
    let out = p.run(&request, &Response::ok()).unwrap();
    let e = event(&out);
    assert!(
        !e.to_string().contains("grpc.2.1"),
        "no gRPC processor in the crs profile: {e}"
    );
}

#[test]
fn an_octet_stream_passes_and_its_event_says_it_was_not_inspected_as_text() {
    let mut p = enforce();
    let request = Request::post("/blobs/7", b"1' UNION SELECT password FROM users--\0\xff".to_vec())
        .header("content-type", "application/octet-stream");
    let out = p.run(&request, &Response::ok()).unwrap();
    assert_eq!(out.status(), Some(200), "{:#?}", out.logs);
    assert!(upstream_complete(&out));
    let e = event(&out);
    assert_eq!(e["decision"], "allow", "{e}");
    assert!(
        e["rules"][0]["msg"]
            .as_str()
            .is_some_and(|m| m.starts_with("Body not inspected as text: application/octet-stream")),
        "{e}"
    );
}
