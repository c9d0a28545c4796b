//! One test per row of host-test/ENVOY.md: asserts what Envoy 1.40 does, so that a change in
//! Envoy is caught. Test names start with the row id.

mod common;

use common::scenarios as sc;
use common::{run_envoy, Observed};
use meshward_envoy::Headers;
use serde_json::{json, Value};

fn hex(v: &Value) -> &str {
    v.get("hex")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("expected hex bytes, got {v}"))
}

fn le_u64(v: &Value) -> u64 {
    let h = hex(v);
    assert_eq!(h.len(), 16, "expected 8 bytes, got {h}");
    let bytes: Vec<u8> = (0..8)
        .map(|i| u8::from_str_radix(&h[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    u64::from_le_bytes(bytes.try_into().unwrap())
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected pairs, got {v}"))
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap_or_default().to_string(),
                p[1].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn names(v: &Value) -> Vec<String> {
    pairs(v).into_iter().map(|(k, _)| k).collect()
}

fn body_entries(o: &Observed, cb: &str) -> Vec<(u64, bool)> {
    o.entries(cb)
        .iter()
        .map(|l| {
            let v = l.value.as_ref().unwrap();
            (v["size"].as_u64().unwrap(), v["end_of_stream"].as_bool().unwrap())
        })
        .collect()
}

#[test]
fn e01_pause_in_request_headers_holds_body_callbacks_until_continue() {
    let o = run_envoy(&sc::pause_in_request_headers());
    let response = o.ok_response();
    assert_eq!(response.status, 200);
    // The body was sent with the headers, yet no body callback ran before the tick resumed the stream.
    let cbs = o.stream_callbacks();
    let tick = o.lines.iter().position(|l| l.cb == "on_tick").expect("on_tick ran");
    let first_body = o
        .lines
        .iter()
        .position(|l| l.cb == "on_http_request_body")
        .expect("body callback ran");
    assert!(
        tick < first_body,
        "body callback before the resume:\n{}",
        common::dump(&o.lines)
    );
    assert_eq!(o.status("to stream"), "Ok");
    assert_eq!(o.status("resume"), "Ok");
    // Then one body callback with the whole buffered body and end_of_stream.
    assert_eq!(body_entries(&o, "on_http_request_body"), vec![(10, true)], "{cbs:?}");
    assert_eq!(o.value("body"), json!("hello body"));
    assert_eq!(o.upstream[0].body, b"hello body");
}

#[test]
fn e02_content_length_body_ends_with_an_empty_end_of_stream_callback() {
    let o = run_envoy(&sc::content_length_body());
    assert_eq!(o.ok_response().status, 200);
    assert_eq!(body_entries(&o, "on_http_request_body"), vec![(8, false), (0, true)]);
    // Same for the upstream's content-length response ("ok").
    assert_eq!(body_entries(&o, "on_http_response_body"), vec![(2, false), (0, true)]);
}

#[test]
fn e03_pause_in_body_buffers_and_reports_the_cumulative_size() {
    let o = run_envoy(&sc::pause_in_body());
    assert_eq!(o.ok_response().status, 200);
    assert_eq!(body_entries(&o, "on_http_request_body"), vec![(11, false), (11, true)]);
    let bodies: Vec<Value> = o
        .lines
        .iter()
        .filter(|l| l.call == "get_buffer")
        .map(|l| l.value.clone().unwrap())
        .collect();
    assert_eq!(bodies, vec![json!("hello world"), json!("hello world")]);
    assert_eq!(o.upstream[0].body, b"hello world");
}

#[test]
fn e04a_request_body_over_the_buffer_limit_gets_a_413_local_reply() {
    let o = run_envoy(&sc::request_over_buffer_limit());
    let response = o.ok_response();
    assert_eq!(response.status, 413);
    assert_eq!(response.text(), "Payload Too Large");
    assert_eq!(response.header("connection"), Some("close"));
    assert!(o.upstream.is_empty());
    // The 413 passes through the filter's response callbacks.
    assert_eq!(body_entries(&o, "on_http_response_body"), vec![(17, true)]);
}

#[test]
fn e04b_response_body_over_the_buffer_limit_resets_the_stream() {
    let o = run_envoy(&sc::response_over_buffer_limit());
    // Headers were already sent downstream: the client sees a broken response, not an error status.
    let err = o.response.as_ref().err().unwrap_or_else(|| {
        panic!(
            "expected a broken response, got {:?}",
            o.response.as_ref().map(|r| r.status)
        )
    });
    assert!(err.contains("reading body"), "{err}");
    let bodies = body_entries(&o, "on_http_response_body");
    assert!(bodies.iter().all(|(_, eos)| !eos), "{bodies:?}");
    assert!(
        bodies.last().is_some_and(|(n, _)| *n <= 1 << 20),
        "reset before the buffer passes 1 MiB: {bodies:?}"
    );
    assert_eq!(o.stream_callbacks().last().map(String::as_str), Some("on_delete"));
}

#[test]
fn e05_header_maps_are_scoped_to_their_callbacks() {
    let o = run_envoy(&sc::header_maps_by_phase());
    assert_eq!(o.ok_response().status, 200);
    // Own map in own callback: readable and writable.
    for (phase, map) in [
        ("rqh", "request_headers"),
        ("rqt", "request_trailers"),
        ("rsh", "response_headers"),
        ("rst", "response_trailers"),
    ] {
        assert_eq!(o.status(&format!("{phase}:{map}:get_map")), "Ok");
        assert!(
            !o.value(&format!("{phase}:{map}:get_map"))
                .as_array()
                .unwrap()
                .is_empty(),
            "{phase}:{map}"
        );
        assert_eq!(o.status(&format!("{phase}:{map}:get_value")), "NotFound");
        assert_eq!(o.status(&format!("{phase}:{map}:add")), "Ok");
    }
    // Any other map: get_map is Ok and empty, single-value calls are BadArgument.
    for (phase, map) in [
        ("rqh", "request_trailers"),
        ("rqh", "response_headers"),
        ("rqb", "request_headers"),
        ("rqt", "request_headers"),
        ("rsh", "request_headers"),
        ("rsb", "response_headers"),
        ("rst", "response_headers"),
        ("rqh", "http_call_response_headers"),
    ] {
        assert_eq!(o.status(&format!("{phase}:{map}:get_map")), "Ok", "{phase}:{map}");
        assert_eq!(o.value(&format!("{phase}:{map}:get_map")), json!([]), "{phase}:{map}");
        assert_eq!(
            o.status(&format!("{phase}:{map}:get_value")),
            "BadArgument",
            "{phase}:{map}"
        );
        assert_eq!(o.status(&format!("{phase}:{map}:add")), "BadArgument", "{phase}:{map}");
    }
    // In on_log the request and response headers are readable (final state) but read-only.
    let log_request = names(&o.value("log:request_headers:get_map"));
    assert!(log_request.contains(&"x-rqh".to_string()), "{log_request:?}");
    assert_eq!(o.status("log:request_headers:get_value"), "NotFound");
    assert_eq!(o.status("log:request_headers:add"), "BadArgument");
    assert_eq!(o.status("log:response_headers:get_map"), "Ok");
    assert!(names(&o.value("log:response_headers:get_map")).contains(&"x-rsh".to_string()));
    assert_eq!(o.status("log:response_headers:add"), "BadArgument");
    // E38: the chunked framing header is gone from requests before the filter, from responses by on_log.
    assert!(!names(&o.value("rqh:request_headers:get_map")).contains(&"transfer-encoding".to_string()));
    assert!(!names(&o.value("log:response_headers:get_map")).contains(&"transfer-encoding".to_string()));
    assert_eq!(
        o.upstream[0].header("transfer-encoding"),
        Some("chunked"),
        "it is re-added on the wire"
    );
    // E37: the router adds x-envoy-expected-rq-timeout-ms after the filter; on_log sees it.
    assert!(
        log_request.contains(&"x-envoy-expected-rq-timeout-ms".to_string()),
        "{log_request:?}"
    );
    // Headers added in a callback reach the peer.
    assert_eq!(o.upstream[0].header("x-rqh"), Some("1"));
    assert_eq!(o.ok_response().header("x-rsh"), Some("1"));
}

#[test]
fn e06_e08_header_values_case_and_mutations() {
    let o = run_envoy(&sc::header_semantics());
    assert_eq!(o.ok_response().status, 200);
    // E37: what the filter sees: pseudo-headers first, Host as :authority, names lowercased,
    // x-forwarded-proto and x-request-id added by the connection manager.
    let initial = names(&o.value("initial"));
    assert_eq!(&initial[..4], &[":authority", ":path", ":method", ":scheme"]);
    assert!(!initial.contains(&"host".to_string()));
    assert!(initial.contains(&"x-forwarded-proto".to_string()) && initial.contains(&"x-request-id".to_string()));
    assert_eq!(initial.iter().filter(|n| *n == "x-multi").count(), 2);
    // E06: a multi-valued header gives its first value; lookups ignore case.
    assert_eq!(o.value("multi"), json!("a"));
    assert_eq!(o.value("upper lookup"), json!("a"));
    assert_eq!(o.status("missing"), "NotFound");
    assert_eq!(o.value("missing"), Value::Null);
    assert_eq!(o.value("host"), json!("h.example"));
    assert_eq!(o.value("authority"), json!("h.example"));
    // E07-E08: mutations.
    for label in [
        "add upper",
        "add dup",
        "replace new",
        "replace multi",
        "remove absent",
        "remove present",
        "add empty",
    ] {
        assert_eq!(o.status(label), "Ok", "{label}");
    }
    assert_eq!(o.value("get empty"), json!(""));
    assert_eq!(o.status("bad map type"), "BadArgument");
    assert_eq!(o.status("bad map type pairs"), "BadArgument");
    let up = &o.upstream[0];
    assert_eq!(up.header_all("x-upper"), vec!["Val"]);
    assert!(
        up.headers.iter().any(|(k, _)| k == "x-upper"),
        "added names are lowercased: {:?}",
        up.headers
    );
    assert_eq!(up.header_all("x-multi"), vec!["a", "b", "c"]);
    assert_eq!(up.header_all("x-multi2"), vec!["only"]);
    assert_eq!(up.header_all("x-rep"), vec!["r1"]);
    assert_eq!(up.header("x-gone"), None);
    assert_eq!(up.header_all("x-empty"), vec![""]);
    // replace on an existing header drops its values and appends the new one at the end.
    let order: Vec<&str> = up
        .headers
        .iter()
        .map(|(k, _)| k)
        .filter(|k| {
            k.starts_with("x-")
                && !k.starts_with("x-forwarded")
                && !k.starts_with("x-request")
                && !k.starts_with("x-envoy")
        })
        .collect();
    assert_eq!(
        order,
        vec!["x-multi", "x-multi", "x-upper", "x-multi", "x-rep", "x-multi2", "x-empty"]
    );
}

#[test]
fn e09_e10_buffer_ranges() {
    let o = run_envoy(&sc::buffer_ranges());
    assert_eq!(o.ok_response().status, 200);
    assert_eq!((o.status("headers:get"), o.value("headers:get")), ("Ok", json!("")));
    assert_eq!(o.status("headers:set"), "BadArgument");
    assert_eq!(o.value("all"), json!("abcdefgh"));
    assert_eq!(o.value("2+100"), json!("cdefgh"));
    assert_eq!((o.status("100+5"), o.value("100+5")), ("Ok", json!("")));
    assert_eq!((o.status("0+0"), o.value("0+0")), ("Ok", json!("")));
    assert_eq!(o.status("prepend"), "Ok");
    assert_eq!(o.status("middle"), "BadArgument");
    assert_eq!(o.status("append"), "Ok");
    assert_eq!(o.value("after edits"), json!("PRE-abcdefgh-END"));
    assert_eq!(o.status("replace head"), "Ok");
    assert_eq!(o.value("after head"), json!("Y-abcdefgh-END"));
    assert_eq!(o.status("replace all"), "Ok");
    assert_eq!(o.value("after all"), json!("whole"));
    assert_eq!(o.value("final"), json!("whole"));
    assert_eq!(o.upstream[0].body, b"whole");
}

#[test]
fn e11_body_rewrite_keeps_the_original_content_length() {
    let o = run_envoy(&sc::body_rewrite_content_length());
    assert_eq!(o.ok_response().status, 200);
    let up = &o.upstream[0];
    assert_eq!(up.header("content-length"), Some("8"));
    // E38: hop-by-hop request headers never reach the filter.
    let seen = names(&o.value("request headers"));
    assert!(seen.contains(&"content-length".to_string()), "{seen:?}");
    assert!(
        !seen.contains(&"connection".to_string()) && !seen.contains(&"keep-alive".to_string()),
        "{seen:?}"
    );
    assert_eq!(up.body, b"PRE-abcd", "the upstream reads 8 bytes of the 12 sent");
}

#[test]
fn e12_buffers_outside_their_phase() {
    let o = run_envoy(&sc::buffers_outside_phase());
    assert_eq!(o.ok_response().status, 200);
    assert_eq!(o.status("configure:plugin_configuration"), "Ok");
    assert_eq!(o.status("plugin_configuration"), "NotFound");
    assert_eq!(
        (o.status("vm_configuration"), o.value("vm_configuration")),
        ("Ok", json!(""))
    );
    assert_eq!(o.status("http_call_response_body"), "NotFound");
    assert_eq!((o.status("response_body"), o.value("response_body")), ("Ok", json!("")));
    assert_eq!(o.status("set response_body"), "BadArgument");
    assert_eq!(o.status("set plugin_configuration"), "NotFound");
    assert_eq!(o.status("type 99"), "BadArgument");
}

#[test]
fn e13_e15_property_encodings_and_availability() {
    let o = run_envoy(&sc::properties());
    assert_eq!(o.ok_response().status, 200);
    // Strings are raw bytes.
    assert_eq!(o.value("rqh:request.path"), json!("/props?a=b"));
    assert_eq!(o.value("rqh:request.url_path"), json!("/props"));
    assert_eq!(o.value("rqh:request.host"), json!("meshward.test"));
    assert_eq!(o.value("rqh:request.method"), json!("GET"));
    assert_eq!(o.value("rqh:request.scheme"), json!("http"));
    assert_eq!(o.value("rqh:request.protocol"), json!("HTTP/1.1"));
    assert_eq!(o.value("rqh:request.query"), json!("a=b"));
    assert_eq!(o.value("rqh:request.useragent"), json!("probe-ua/1"));
    assert_eq!(o.value("rqh:plugin_name"), json!("probe"));
    assert_eq!(o.value("rqh:plugin_root_id"), json!("probe_root"));
    assert_eq!(o.value("rqh:plugin_vm_id"), json!("probe_vm"));
    assert_eq!(o.value("rqh:xds.cluster_name"), json!("upstream"));
    assert!(o
        .value("rqh:source.address")
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    // Integers: 8 bytes little-endian.
    let source = o.value("rqh:source.address");
    let port: u64 = source.as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(le_u64(&o.value("rqh:source.port")), port);
    assert_eq!(le_u64(&o.value("rqh:request.size")), 0);
    assert!(
        le_u64(&o.value("rqh:request.time")) > 1_600_000_000_000_000_000,
        "timestamp in ns"
    );
    assert_eq!(le_u64(&o.value("log:response.code")), 200);
    assert_eq!(le_u64(&o.value("log:response.size")), 2);
    assert!(le_u64(&o.value("log:request.duration")) > 0);
    // Booleans: 1 byte.
    assert_eq!(hex(&o.value("rqh:connection.mtls")), "00");
    // Maps: serialized pairs (starts with the pair count).
    assert!(hex(&o.value("rqh:request.headers")).starts_with("0"));
    // Availability.
    assert_eq!(o.status("rqh:request.duration"), "NotFound");
    assert_eq!(o.status("rqh:response.code"), "NotFound");
    assert_eq!(o.status("rqh:upstream.address"), "NotFound");
    assert_eq!(o.status("log:upstream.address"), "Ok");
    assert_eq!(o.value("log:response.code_details"), json!("via_upstream"));
    for p in ["request.path", "source.address", "request.time", "xds.cluster_name"] {
        assert_eq!(o.status(&format!("cfg:{p}")), "NotFound", "cfg:{p}");
    }
    assert_eq!(o.value("cfg:plugin_name"), json!("probe"));
    // Paths are NUL-separated segments; a dotted string is not a path.
    assert_eq!(o.status("rqh:dotted string"), "NotFound");
    assert_eq!(o.status("rqh:unknown"), "NotFound");
    // E15: set_property.
    assert_eq!(o.status("set custom"), "Ok");
    assert_eq!(o.value("get custom"), json!("v1"));
    assert_eq!(o.status("set request.path"), "Ok");
    assert_eq!(
        o.value("log:request.path"),
        json!("/props?a=b"),
        "setting request.path has no effect"
    );
    assert_eq!(o.upstream[0].target, "/props?a=b");
}

#[test]
fn e16_local_reply_from_request_passes_through_response_callbacks() {
    let o = run_envoy(&sc::local_reply_from_request());
    let r = o.ok_response();
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), "denied");
    assert_eq!(
        r.header("x-seen"),
        Some("yes"),
        "the filter's own response callback edited its reply"
    );
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert!(
        r.headers.iter().any(|(k, v)| k == "x-case" && v == b"Up"),
        "{:?}",
        r.headers
    );
    assert!(o.upstream.is_empty());
    let seen = pairs(&o.value("reply headers"));
    assert_eq!(
        seen,
        vec![
            (":status".into(), "403".into()),
            ("x-why".into(), "probe".into()),
            ("x-case".into(), "Up".into()),
            ("content-length".into(), "6".into()),
            ("content-type".into(), "text/plain".into())
        ]
    );
    assert_eq!(o.value("reply body"), json!("denied"));
    assert_eq!(body_entries(&o, "on_http_response_body"), vec![(6, true)]);
    assert_eq!(o.value("details"), json!("probe_denied"));
    assert_eq!(le_u64(&o.value("code")), 403);
}

#[test]
fn e17_local_reply_from_response_headers_replaces_the_response() {
    let o = run_envoy(&sc::local_reply_from_response());
    let r = o.ok_response();
    assert_eq!((r.status, r.text().as_str()), (502, "from response"));
    assert_eq!(o.upstream.len(), 1);
    assert_eq!(
        o.entries("on_http_response_headers").len(),
        1,
        "response callbacks are not re-entered"
    );
    assert!(o.entries("on_http_response_body").is_empty());
}

#[test]
fn e18_first_local_reply_wins_and_continue_does_not_forward() {
    let o = run_envoy(&sc::local_reply_twice_then_continue());
    let r = o.ok_response();
    assert_eq!((r.status, r.text().as_str()), (403, "one"));
    assert_eq!(o.status("first"), "Ok");
    assert_eq!(o.status("second"), "Ok");
    assert!(o.upstream.is_empty());
}

#[test]
fn e19_e22_http_call_response_goes_to_the_root_context() {
    let o = run_envoy(&sc::http_call_ok());
    let r = o.ok_response();
    assert_eq!(r.status, 200);
    let root = o.entries("on_configure").last().unwrap().ctx;
    let entry = o.entries("on_http_call_response");
    assert_eq!(entry.len(), 1);
    assert_eq!(
        entry[0].ctx, root,
        "delivered to the root context, not stream {:?}",
        o.stream_ctx
    );
    let v = entry[0].value.clone().unwrap();
    assert_eq!(v["token"], o.value("call"));
    assert_eq!(
        (
            v["num_headers"].as_u64(),
            v["size"].as_u64(),
            v["num_trailers"].as_u64()
        ),
        (Some(5), Some(8), Some(1))
    );
    let headers = pairs(&o.value("callout headers"));
    assert_eq!(headers[0], (":status".into(), "200".into()));
    assert_eq!(headers.iter().filter(|(k, _)| k == "x-svc").count(), 2);
    assert!(headers.iter().any(|(k, _)| k == "x-envoy-upstream-service-time"));
    assert_eq!(o.value("callout body"), json!("svc body"));
    assert_eq!(
        pairs(&o.value("callout trailers")),
        vec![("x-svc-trailer".into(), "t".into())]
    );
    // In the root context the stream's maps are not there.
    assert_eq!(o.value("request headers in callout"), json!([]));
    assert_eq!(o.status("continue without switching"), "Ok");
    assert_eq!(o.status("switch"), "Ok");
    assert_eq!(o.status("add after switch"), "Ok");
    assert_eq!(o.upstream[0].header("x-callout"), Some("done"));
}

#[test]
fn e19b_continue_stream_in_the_root_context_does_not_resume() {
    let o = run_envoy(&sc::http_call_no_switch());
    assert_eq!(o.status("continue without switching"), "Ok");
    assert!(
        o.response.is_err(),
        "the stream stays paused: {:?}",
        o.response.as_ref().map(|r| r.status)
    );
    assert!(o.upstream.is_empty());
}

#[test]
fn e20_http_call_argument_errors() {
    let o = run_envoy(&sc::http_call_bad_arguments());
    assert_eq!(o.ok_response().status, 200);
    for label in ["unknown cluster", "no method", "no path", "no authority"] {
        assert_eq!(o.status(label), "BadArgument", "{label}");
    }
}

#[test]
fn e21a_http_call_timeout_delivers_a_synthetic_504() {
    let o = run_envoy(&sc::http_call_timeout());
    assert_eq!(o.ok_response().status, 200);
    let headers = pairs(&o.value("callout headers"));
    assert_eq!(
        headers,
        vec![
            (":status".into(), "504".into()),
            ("content-length".into(), "24".into()),
            ("content-type".into(), "text/plain".into())
        ]
    );
    assert_eq!(o.value("callout body"), json!("upstream request timeout"));
}

#[test]
fn e21b_http_call_connection_failure_delivers_a_synthetic_503() {
    let o = run_envoy(&sc::http_call_refused());
    assert_eq!(o.ok_response().status, 200);
    let headers = pairs(&o.value("callout headers"));
    assert_eq!(headers[0], (":status".into(), "503".into()));
    let body = o.value("callout body");
    assert!(
        body.as_str()
            .unwrap()
            .starts_with("upstream connect error or disconnect/reset before headers"),
        "{body}"
    );
}

#[test]
fn e23_grpc_call_to_a_plain_cluster_closes_with_internal() {
    let o = run_envoy(&sc::grpc_call_plain_cluster());
    assert_eq!(o.ok_response().status, 200);
    assert_eq!(o.status("grpc"), "Ok");
    assert_eq!(o.status("grpc unknown cluster"), "ParseFailure");
    let close = o.entries("on_grpc_close");
    assert_eq!(close.len(), 1, "{}", common::dump(&o.lines));
    let v = close[0].value.clone().unwrap();
    assert_eq!(v["status_code"], json!(13));
    assert_eq!(v["token"], o.value("grpc"));
}

#[test]
fn e24_metrics() {
    let o = run_envoy(&sc::metrics());
    assert_eq!(o.ok_response().status, 200);
    let (c, c2, g, h) = (
        o.value("counter"),
        o.value("counter again"),
        o.value("gauge"),
        o.value("histogram"),
    );
    assert_ne!(c, c2, "re-defining a name gives a new id");
    assert_eq!(
        [
            c.as_u64().unwrap() & 3,
            g.as_u64().unwrap() & 3,
            h.as_u64().unwrap() & 3
        ],
        [0, 1, 2],
        "ids carry the type"
    );
    assert_eq!(o.status("bad type"), "BadArgument");
    assert_eq!(o.status("counter -2"), "BadArgument");
    assert_eq!(o.value("counter value"), json!(6), "both ids name the same counter");
    assert_eq!(o.status("counter record 100"), "Ok");
    assert_eq!(o.value("counter after record"), json!(106), "record on a counter adds");
    assert_eq!(o.value("gauge value"), json!(u64::MAX - 2), "a negative gauge wraps");
    assert_eq!(o.value("gauge after record"), json!(42));
    assert_eq!(o.status("histogram record"), "Ok");
    assert_eq!(o.status("histogram increment"), "BadArgument");
    assert_eq!(o.status("histogram get"), "BadArgument");
    assert_eq!(o.status("unknown get"), "NotFound");
    assert_eq!(o.status("unknown increment"), "NotFound");
    assert_eq!(o.status("unknown record"), "NotFound");
    assert_eq!(
        o.stats.get("wasmcustom.probe_c"),
        Some(&106),
        "exported as wasmcustom.<name>"
    );
    assert_eq!(o.stats.get("wasmcustom.probe_g"), Some(&42));
}

#[test]
fn e25_shared_data_and_cas() {
    let o = run_envoy(&sc::shared_data());
    assert_eq!(o.status("missing"), "NotFound");
    assert_eq!(o.status("first set"), "Ok");
    assert_eq!(o.value("after first"), json!({"value": "v1", "cas": 1}));
    assert_eq!(o.status("cas current"), "Ok");
    assert_eq!(o.status("cas stale"), "CasMismatch");
    assert_eq!(o.status("cas unknown"), "CasMismatch");
    assert_eq!(o.status("cas zero"), "Ok");
    assert_eq!(o.value("final"), json!({"value": "v5", "cas": 3}));
    assert_eq!(o.status("empty value"), "Ok");
    assert_eq!(o.value("empty get"), json!({"value": "", "cas": 4}));
}

#[test]
fn e26_queues() {
    let o = run_envoy(&sc::queues());
    let id = o.value("register");
    assert_eq!(o.status("register"), "Ok");
    assert_eq!(o.value("register again"), id);
    assert_eq!(o.value("resolve own vm"), id);
    assert_eq!(o.value("resolve empty vm"), id);
    assert_eq!(o.status("resolve missing"), "NotFound");
    assert_eq!(o.status("dequeue empty"), "Empty");
    assert_eq!(o.value("dequeue m1"), json!("m1"));
    assert_eq!(o.status("enqueue unknown"), "NotFound");
    assert_eq!(o.status("dequeue unknown"), "NotFound");
    // on_queue_ready: on the root context, after the callback returned, once per enqueue.
    let root = o.entries("on_configure").last().unwrap().ctx;
    let ready = o.entries("on_queue_ready");
    assert_eq!(ready.len(), 2, "{}", common::dump(&o.lines));
    assert!(ready.iter().all(|l| l.ctx == root));
    let headers_return = o
        .lines
        .iter()
        .position(|l| l.cb == "on_http_request_headers" && l.call == "return")
        .unwrap();
    let first_ready = o.lines.iter().position(|l| l.cb == "on_queue_ready").unwrap();
    assert!(headers_return < first_ready);
    let dequeued: Vec<(String, Value)> = o
        .lines
        .iter()
        .filter(|l| l.cb == "on_queue_ready" && l.call == "dequeue")
        .map(|l| (l.status.clone().unwrap(), l.value.clone().unwrap()))
        .collect();
    assert_eq!(
        dequeued,
        vec![("Ok".into(), json!("m2")), ("Empty".into(), Value::Null)]
    );
}

#[test]
fn e27_e28_e30_wasi_output_logging_and_misc_statuses() {
    let o = run_envoy(&sc::wasi_and_logging());
    assert_eq!(o.ok_response().status, 200);
    let raw: Vec<(&str, &str)> = o
        .wasm_logs
        .iter()
        .filter(|w| !w.message.starts_with("probe "))
        .map(|w| (w.level.as_str(), w.message.as_str()))
        .collect();
    assert_eq!(
        raw,
        vec![
            ("info", "to stdout"),
            ("error", "to stderr"),
            ("error", ""),
            ("info", "msg at info"),
            ("warning", "msg at warn"),
            ("error", "msg at error"),
            ("critical", "msg at critical"),
        ]
    );
    assert_eq!(o.value("args"), json!([]));
    assert_eq!(o.value("environ"), json!([]));
    assert_eq!(o.value("clock"), json!({"after_epoch": true}));
    assert_eq!(o.value("level"), json!(2));
    for level in ["trace", "debug", "info", "warn", "error", "critical"] {
        assert_eq!(o.status(level), "Ok", "{level}");
    }
    assert_eq!(o.status("level 9"), "BadArgument");
    assert_eq!(o.status("done in stream"), "NotFound");
    assert_eq!(o.status("unknown foreign"), "NotFound");
    assert_eq!(o.status("unknown context"), "BadArgument");
    assert_eq!(o.status("root context"), "Ok");
    assert!(o.value("time").as_u64().unwrap() > 1_600_000_000_000_000_000);
    // Envoy's prefix names the plugin only for stream contexts.
    let stream_ids: Vec<&str> = o
        .wasm_logs
        .iter()
        .filter(|w| w.message == "to stdout")
        .map(|w| w.ids.as_str())
        .collect();
    assert_eq!(stream_ids, vec!["probe probe_root probe_vm"]);
    assert!(o
        .wasm_logs
        .iter()
        .any(|w| w.ids == "probe_root probe_vm" && w.message.contains("\"on_configure\"")));
}

#[test]
fn e27b_wasi_environment_comes_from_the_vm_config() {
    let o = run_envoy(&sc::wasi_environment());
    assert_eq!(o.value("environ"), json!(["PROBE_ENV=42"]));
}

#[test]
fn e29_stream_lifecycle_order_and_root_contexts() {
    let o = run_envoy(&sc::lifecycle());
    assert_eq!(o.ok_response().status, 200);
    assert_eq!(
        o.stream_callbacks(),
        vec![
            "on_http_request_headers",
            "on_http_request_body",
            "on_http_request_trailers",
            "on_http_response_headers",
            "on_http_response_body",
            "on_http_response_trailers",
            "on_log",
            "on_done",
            "on_delete"
        ]
    );
    assert_eq!(body_entries(&o, "on_http_request_body"), vec![(3, false)]);
    assert_eq!(body_entries(&o, "on_http_response_body"), vec![(4, false)]);
    // One root context per VM: with --concurrency 1 the plugin starts in three VMs, each root is context 1.
    let starts = o.entries("on_vm_start");
    let configures = o.entries("on_configure");
    assert_eq!((starts.len(), configures.len()), (3, 3), "{}", common::dump(&o.lines));
    assert!(configures.iter().all(|l| l.ctx == 1));
    assert_eq!(o.stream_ctx, Some(2));
}

#[test]
fn e31_configure_false_makes_envoy_exit_at_startup() {
    for scenario in [sc::configure_false(), sc::configure_unparsable()] {
        let err = match common::start(&scenario) {
            Ok(_) => panic!("{}: Envoy must not start", scenario.name),
            Err(e) => e,
        };
        let meshward_envoy::HarnessError::Exited { log_tail, .. } = &err else {
            panic!("expected an exit, got {err}")
        };
        assert!(log_tail.contains("Plugin probe failed to load"), "{log_tail}");
        assert!(log_tail.contains("Unable to create Wasm plugin probe"), "{log_tail}");
    }
}

#[test]
fn e32_trap_fails_the_stream_with_503() {
    let o = run_envoy(&sc::trap_in_request());
    let r = o.ok_response();
    assert_eq!((r.status, r.text().as_str()), (503, ""));
    assert!(o.upstream.is_empty());
    assert_eq!(
        o.stream_callbacks(),
        vec!["on_http_request_headers"],
        "no callback runs after the trap"
    );
}

#[test]
fn e33_close_stream_resets_without_a_response() {
    let o = run_envoy(&sc::close_stream());
    assert_eq!(o.status("close"), "Ok");
    let err = o.response.as_ref().expect_err("no response");
    assert!(err.contains("closed without a response"), "{err}");
    assert!(o.upstream.is_empty());
}

#[test]
fn e35_e36_trailers_both_ways() {
    let o = run_envoy(&sc::trailers());
    let r = o.ok_response();
    assert_eq!(r.status, 200);
    assert_eq!(pairs(&o.value("request trailers")), vec![("x-rq-t".into(), "r".into())]);
    assert_eq!(
        pairs(&o.value("response trailers")),
        vec![("x-up-t".into(), "u".into())]
    );
    assert_eq!(
        o.upstream[0].trailers,
        Headers::from_pairs([("x-rq-t", "r"), ("x-added-rq-t", "1")])
    );
    assert_eq!(
        r.trailers,
        Headers::from_pairs([("x-up-t", "u"), ("x-added-rs-t", "2")])
    );
}

#[test]
fn e39_pause_in_response_headers_holds_body_callbacks_until_continue() {
    let o = run_envoy(&sc::pause_in_response_headers());
    let r = o.ok_response();
    assert_eq!((r.status, r.text().as_str()), (200, "response body"));
    let resume = o
        .lines
        .iter()
        .position(|l| l.label.as_ref().and_then(Value::as_str) == Some("resume"))
        .expect("resumed");
    let first_body = o
        .lines
        .iter()
        .position(|l| l.cb == "on_http_response_body")
        .expect("body callback ran");
    assert!(resume < first_body, "{}", common::dump(&o.lines));
    assert_eq!(body_entries(&o, "on_http_response_body"), vec![(13, true)]);
    assert_eq!(o.value("body"), json!("response body"));
}

#[test]
fn e40_local_reply_after_response_headers_resets_the_stream() {
    let o = run_envoy(&sc::local_reply_from_response_body());
    assert_eq!(o.status("reply"), "Ok");
    let err = o
        .response
        .as_ref()
        .expect_err("the client must not get a complete response");
    assert!(err.contains("reading body"), "headers went out, the body is cut: {err}");
    // The local reply is not run through the response callbacks again.
    assert_eq!(o.entries("on_http_response_headers").len(), 1);
    assert_eq!(body_entries(&o, "on_http_response_body"), vec![(20, false)]);
}

#[test]
fn e41_local_reply_from_request_body_never_delivers_the_body_upstream() {
    let o = run_envoy(&sc::local_reply_from_request_body());
    let r = o.ok_response();
    assert_eq!((r.status, r.text().as_str()), (403, "blocked body"));
    assert_eq!(
        r.header("connection"),
        Some("close"),
        "the unread request body closes the connection"
    );
    assert!(
        o.upstream.is_empty(),
        "no complete request reached the upstream: {:?}",
        o.upstream
    );
    // The reply passes through the response callbacks (as E16).
    assert_eq!(body_entries(&o, "on_http_response_body"), vec![(12, true)]);
}
