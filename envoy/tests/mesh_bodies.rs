//! Nothing hidden by the body format, in real Envoy with the zero-config mesh profile: an attack
//! inside a gRPC message (h2c unary), a gRPC-Web message (HTTP/1.1), an uploaded text file, an
//! RFC 5987 `filename*` or a multipart part header (HTTP/1.1 and HTTP/2) is recorded in detect
//! mode and blocked in enforce mode, where the service never gets the request's body (the gRPC
//! call never completes); each has a benign twin that passes in both modes.

mod mesh_support;

use bytes::Bytes;
use mesh_support::*;
use meshward_envoy::{waf, Envoy, Request};
use serde_json::Value;
use std::time::Duration;

const SQLI: &str = "1' UNION SELECT password FROM users--";

/// A protobuf message: field 1 `order-17`, field 2 a nested message whose field 1 is `value`.
fn nested_message(value: &str) -> Vec<u8> {
    let string = |n: u8, v: &[u8]| {
        let mut m = vec![n << 3 | 2, u8::try_from(v.len()).expect("short")];
        m.extend_from_slice(v);
        m
    };
    let mut m = string(1, b"order-17");
    m.extend(string(2, &string(1, value.as_bytes())));
    m
}

/// The event for `id` must show a rule tagged `tag` that matched a variable ending in `name`.
fn assert_found(envoy: &Envoy, id: &str, tag: &str, name: &str, mode: &str) -> Value {
    let event = waf::wait_event(envoy, id, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{id}: no WAF event; events: {:#?}", waf::events(envoy)));
    let found = event["rules"].as_array().into_iter().flatten().any(|rule| {
        rule["tags"].as_array().is_some_and(|t| t.iter().any(|t| t == tag))
            && rule["variable"].as_str().is_some_and(|v| v.ends_with(name))
    });
    assert!(found, "{id}: a {tag} rule matched {name}: {event}");
    let decision = if mode == "detect" { "would_block" } else { "block" };
    assert_eq!(event["decision"], decision, "{id}: {event}");
    event
}

async fn grpc_h2c(envoy: &Envoy, grpc: &GrpcService, mode: &str) {
    let client = H2Client::h2c(envoy.addr()).await;
    for (value, attack) in [("lamp and desk", false), (SQLI, true)] {
        let id = format!("grpc-body-{attack}");
        let message = nested_message(value);
        let before = grpc.completed_calls();
        let reply = client
            .request(
                "POST",
                "/shop.Orders/Get",
                &[
                    ("content-type", "application/grpc"),
                    ("te", "trailers"),
                    ("x-request-id", &id),
                ],
                vec![grpc_frame(&message)],
            )
            .await;
        if attack {
            assert_found(envoy, &id, "attack-sqli", "grpc.2.1", mode);
        }
        if attack && mode == "enforce" {
            assert_eq!(reply.status, 200, "gRPC carries errors in grpc-status: {reply:?}");
            assert_eq!(
                reply.grpc_status().as_deref(),
                Some("7"),
                "PERMISSION_DENIED: {reply:?}"
            );
            assert_eq!(grpc.completed_calls(), before, "the service never got the message");
        } else {
            assert_eq!(reply.status, 200, "{id}: {reply:?}");
            assert_eq!(reply.grpc_status().as_deref(), Some("0"), "{id}: {reply:?}");
            assert_eq!(reply.messages(), [message], "{id}");
            assert_eq!(grpc.completed_calls(), before + 1, "{id}: the service got the call");
        }
    }
}

fn grpc_web_http1(envoy: &Envoy, grpc: &GrpcService, mode: &str) {
    for (value, attack) in [("lamp and desk", false), (SQLI, true)] {
        let id = format!("grpc-web-body-{attack}");
        let message = nested_message(value);
        let before = grpc.completed_calls();
        let request = Request::post("/shop.Orders/Get", grpc_frame(&message).to_vec())
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .header("x-request-id", &id);
        let response = envoy.send(&request).expect("gRPC-Web reply");
        if attack {
            assert_found(envoy, &id, "attack-sqli", "grpc.2.1", mode);
        }
        if attack && mode == "enforce" {
            // gRPC-Web is not gRPC to Envoy's local replies: a plain 403.
            assert_eq!(response.status, 403, "{id}: {response:?}");
            assert_eq!(grpc.completed_calls(), before, "the service never got the message");
        } else {
            let frames = take_frames(&mut bytes::BytesMut::from(&response.body[..]));
            assert_eq!(response.status, 200, "{id}: {response:?}");
            assert_eq!(frames.first(), Some(&(0, message)), "{id}: {frames:?}");
            assert_eq!(grpc.completed_calls(), before + 1, "{id}: the service got the call");
        }
    }
}

/// A multipart case: label, the part's Content-Disposition parameters, an extra part header
/// line (or ""), the part's content, and for the attack twin the tag and variable expected.
struct Upload {
    label: &'static str,
    disposition: String,
    header: String,
    content: String,
    expect: Option<(&'static str, &'static str)>,
}

fn uploads() -> Vec<Upload> {
    let encoded = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let file = |name: &str| format!("name=\"{name}\"; filename=\"{name}.txt\"");
    let mut out = Vec::new();
    for attack in [false, true] {
        let pick = |benign: &str, bad: &str| if attack { bad.to_string() } else { benign.to_string() };
        out.push(Upload {
            label: "text file SQLi",
            disposition: file("report"),
            header: "Content-Type: text/plain\r\n".into(),
            content: pick("id,name\n17,lamp\n", &format!("id,name\n17,{SQLI}\n")),
            expect: attack.then_some(("attack-sqli", "FILES_TMP_CONTENT:report")),
        });
        out.push(Upload {
            label: "text file PHP",
            disposition: file("page"),
            header: "Content-Type: text/plain\r\n".into(),
            content: pick("<p>Hello</p>\n", "<?php system($_GET['c']); ?>\n"),
            expect: attack.then_some(("attack-injection-php", "FILES_TMP_CONTENT:page")),
        });
        out.push(Upload {
            label: "filename*",
            disposition: format!(
                "name=\"doc\"; filename=\"doc.txt\"; filename*=UTF-8''{}",
                encoded(&pick("rapport été.txt", "<script>alert(document.cookie)</script>.txt"))
            ),
            header: String::new(),
            content: "plain content".into(),
            expect: attack.then_some(("attack-xss", "FILES:doc")),
        });
        out.push(Upload {
            label: "part header",
            disposition: "name=\"note\"".into(),
            header: format!("X-Comment: {}\r\n", pick("lamp and desk", SQLI)),
            content: "plain note".into(),
            expect: attack.then_some(("attack-sqli", "MULTIPART_PART_HEADERS:note")),
        });
    }
    out
}

/// The upload's body; `via` ends the part's content so the service's record tells the HTTP/1.1
/// and HTTP/2 requests apart.
fn multipart_body(u: &Upload, via: &str) -> Vec<u8> {
    format!(
        "--XyZ\r\nContent-Disposition: form-data; {}\r\n{}\r\n{}{via}\r\n--XyZ--\r\n",
        u.disposition, u.header, u.content
    )
    .into_bytes()
}

/// Checks one upload's outcome: `status` is what the client got.
fn check_upload(envoy: &Envoy, grpc: &GrpcService, mode: &str, id: &str, u: &Upload, body: &[u8], status: u16) {
    match u.expect {
        Some((tag, name)) => {
            assert_found(envoy, id, tag, name, mode);
            if mode == "enforce" {
                assert_eq!(status, 403, "{id}");
                assert!(!grpc.body_received(body), "{id}: the service never got the body");
            } else {
                assert_eq!(status, 200, "{id}");
                assert!(grpc.body_received(body), "{id}: detect mode passes it");
            }
        }
        None => {
            assert_eq!(status, 200, "{id}: {:#?}", waf::events(envoy));
            assert!(grpc.body_received(body), "{id}: the service got it");
        }
    }
}

fn run(mode: &str) {
    let _one = meshward_envoy::mesh::exclusive();
    let Mesh {
        envoy, grpc, runtime, ..
    } = Mesh::start(mode);

    runtime.block_on(grpc_h2c(&envoy, &grpc, mode));
    grpc_web_http1(&envoy, &grpc, mode);

    let content_type = "multipart/form-data; boundary=XyZ";
    for (n, upload) in uploads().iter().enumerate() {
        let body = multipart_body(upload, "h1");
        let id = format!("upload-{n}-http1-{}", upload.label.replace(' ', "-"));
        let request = Request::post("/upload", body.clone())
            .header("content-type", content_type)
            .header("x-request-id", &id);
        let response = envoy.send(&request).expect("HTTP/1.1 reply");
        check_upload(&envoy, &grpc, mode, &id, upload, &body, response.status);

        let body = multipart_body(upload, "h2");
        let id = format!("upload-{n}-h2-{}", upload.label.replace(' ', "-"));
        let reply = runtime.block_on(async {
            let client = H2Client::h2c(envoy.addr()).await;
            client
                .request(
                    "POST",
                    "/upload",
                    &[("content-type", content_type), ("x-request-id", &id)],
                    vec![Bytes::from(body.clone())],
                )
                .await
        });
        check_upload(&envoy, &grpc, mode, &id, upload, &body, reply.status);
    }
    drop(envoy);
    drop(runtime);
}

#[test]
fn detect_mode_records_attacks_inside_grpc_messages_and_uploads() {
    run("detect");
}

#[test]
fn enforce_mode_blocks_attacks_inside_grpc_messages_and_uploads_and_passes_their_twins() {
    run("enforce");
}
