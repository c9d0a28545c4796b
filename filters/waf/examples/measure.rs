//! Prints the WAF's wasm size, per-VM rule-load time, memory after load and after 10 000
//! requests in host-test. Run: `cargo xtask wasm`, then
//! `cargo run -p meshward-waf --example measure [-- N]`.

use std::time::Instant;

use meshward_host_test::{Host, Request, Response};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let path = meshward_testkit::locate::wasm_file("meshward_waf")?;
    println!("wasm size: {} bytes", std::fs::metadata(&path)?.len());
    let host = Host::new()?;
    let module = host.load(&path)?;
    for config in ["{}", r#"{"mode":"enforce"}"#] {
        let started = Instant::now();
        let mut plugin = host.plugin(&module).config(config).build()?;
        let load = started.elapsed();
        let configure_line = plugin
            .logs()
            .iter()
            .find(|l| l.message.starts_with("meshward.waf: loaded"))
            .map(|l| l.message.clone())
            .unwrap_or_default();
        println!(
            "config {config}: plugin build (instantiate + on_configure) {:.1} ms",
            load.as_secs_f64() * 1000.0
        );
        println!("  filter says: {configure_line}");
        let notes = plugin
            .logs()
            .iter()
            .filter(|l| l.message.starts_with("meshward.waf: ") && l.message != configure_line)
            .count();
        println!("  other configure log lines: {notes}");
        println!("  memory after load: {} bytes", plugin.memory_bytes());
        let requests = [
            Request::get("/products/42?page=2&sort=price")
                .header("user-agent", "Mozilla/5.0")
                .header("accept", "text/html"),
            Request::post("/login", "user=alice&password=secret")
                .header("content-type", "application/x-www-form-urlencoded"),
            Request::post("/api", r#"{"items":[1,2,3],"name":"x"}"#).header("content-type", "application/json"),
            Request::get("/?id=1%27%20or%201%3D1--"),
        ];
        let response = Response::ok()
            .header("content-type", "text/html")
            .body("<html>ok</html>");
        let started = Instant::now();
        for i in 0..n {
            let out = plugin.run(&requests[i % requests.len()], &response)?;
            if out.trap.is_some() {
                return Err(format!("trap at request {i}: {:?}", out.trap).into());
            }
            plugin.take_logs();
        }
        let elapsed = started.elapsed();
        println!(
            "  {n} requests: {:.1} µs/request (host-test, wasmtime); memory after: {} bytes",
            elapsed.as_secs_f64() * 1e6 / n as f64,
            plugin.memory_bytes()
        );
    }
    Ok(())
}
