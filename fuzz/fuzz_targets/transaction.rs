//! A whole request through the engine with OWASP CRS loaded (once, from `$MESHWARD_CRS_DIR`),
//! in blocking mode at paranoia level 4 so that every rule runs. The input is a request in a
//! loose HTTP/1 shape: `METHOD URI` on the first line, `name: value` header lines, an empty
//! line, then the body. The request must be processed to the end without a panic, and a
//! blocking decision must carry an error status.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshward_seclang::RuleSet;
use std::sync::OnceLock;

fn crs() -> &'static RuleSet {
    static CRS: OnceLock<RuleSet> = OnceLock::new();
    CRS.get_or_init(|| {
        let dir = meshward_testkit::locate::crs_dir();
        let text = format!(
            "SecRuleEngine On\nInclude {setup}\n\
             SecAction \"id:900000,phase:1,pass,nolog,setvar:tx.blocking_paranoia_level=4\"\n\
             Include {rules}/*.conf\n",
            setup = dir.join("crs-setup.conf.example").display(),
            rules = dir.join("rules").display(),
        );
        RuleSet::from_str(&text, "crs-fuzz.conf")
            .unwrap_or_else(|e| panic!("CRS did not load from {} ({e}); set MESHWARD_CRS_DIR", dir.display()))
    })
}

fn split_once<'a>(data: &'a [u8], sep: &[u8]) -> (&'a [u8], &'a [u8]) {
    match data.windows(sep.len()).position(|w| w == sep) {
        Some(i) => (&data[..i], &data[i + sep.len()..]),
        None => (data, &[]),
    }
}

fuzz_target!(|data: &[u8]| {
    let rules = crs();
    let (head, body) = split_once(data, b"\n\n");
    let mut lines = head.split(|&b| b == b'\n');
    let request_line = lines.next().unwrap_or_default();
    let (method, uri) = split_once(request_line, b" ");
    let method = String::from_utf8_lossy(method);
    let mut tx = rules.transaction();
    tx.process_connection("192.0.2.10", 40000, "127.0.0.1", 8080);
    tx.process_uri(uri, &method, "HTTP/1.1");
    for line in lines {
        let (name, value) = split_once(line, b":");
        tx.add_request_header(name, value.strip_prefix(b" ").unwrap_or(value));
    }
    tx.process_request_headers();
    if body.is_empty() {
        tx.process_request_without_body();
    } else {
        tx.append_request_body(body);
        tx.process_request_body();
    }
    tx.add_response_header(b"content-type", b"text/html");
    tx.process_response_headers(200, "HTTP/1.1");
    tx.append_response_body(body);
    tx.process_response_body();
    tx.process_logging();
    if let Some(intervention) = tx.intervention() {
        assert!((100..600).contains(&intervention.status), "{intervention:?}");
    }
});
