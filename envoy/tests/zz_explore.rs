mod common;
use common::scenarios as sc;
#[test]
fn explore() {
    for s in [sc::pause_in_response_headers(), sc::local_reply_from_response_body(), sc::local_reply_from_request_body()] {
        let o = common::run_envoy(&s);
        println!("=== {} response {:?}", s.name, o.response.as_ref().map(|r| (r.status, r.text(), r.headers.clone())));
        println!("upstream {:?}", o.upstream.iter().map(|r| (r.path.clone(), String::from_utf8_lossy(&r.body).to_string())).collect::<Vec<_>>());
        for l in o.stream_lines() { println!("{}", l.json); }
    }
}
