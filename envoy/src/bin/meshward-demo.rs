//! Demo: the hello fixture filter in real Envoy — one request goes through to the upstream
//! (which sees `x-hello`), one is answered by the filter itself (`/local` → 418). Prints a short
//! transcript and exits non-zero on any unexpected result.

use meshward_envoy::{locate, Envoy, EnvoyConfig, Request, Upstream, WasmFilter};
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("demo: OK");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("demo: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let wasm = locate::wasm_file("meshward-fixture-hello").map_err(|e| e.to_string())?;
    let upstream = Upstream::start().map_err(|e| e.to_string())?;
    println!("upstream listening on {}", upstream.addr());
    let filter = WasmFilter::new(&wasm, "hello from meshward").name("hello").root_id("hello_root").vm_id("hello_vm");
    let envoy = Envoy::start(&EnvoyConfig::new(upstream.addr()).filter(filter)).map_err(|e| e.to_string())?;
    println!("envoy ready: listener {}, admin {}, filter {}", envoy.addr(), envoy.admin_addr(), wasm.display());

    println!("\n> GET /hello");
    let through = envoy.send(&Request::get("/hello")).map_err(|e| e.to_string())?;
    println!("< {} {} (x-hello: {})", through.status, through.reason, through.header("x-hello").unwrap_or("-"));
    let seen = upstream.requests();
    let tag = seen.first().and_then(|r| r.header("x-hello")).map(str::to_string);
    println!("  upstream saw {} request(s); x-hello = {}", seen.len(), tag.as_deref().unwrap_or("<missing>"));
    if through.status != 200 || tag.as_deref() != Some("hello from meshward") {
        return Err(format!("expected 200 with x-hello upstream, got {} / {tag:?}", through.status));
    }

    println!("\n> GET /local");
    let local = envoy.send(&Request::get("/local")).map_err(|e| e.to_string())?;
    println!("< {} {}: {}", local.status, local.reason, local.text().trim_end());
    let upstream_count = upstream.requests().len();
    println!("  upstream saw {} request(s) in total (unchanged: answered by the filter)", upstream_count);
    if local.status != 418 || upstream_count != 1 {
        return Err(format!("expected a local 418 and no new upstream request, got {} / {upstream_count}", local.status));
    }

    let streams = envoy.stat("wasmcustom.hello_streams").map_err(|e| e.to_string())?;
    println!("\nenvoy stat wasmcustom.hello_streams = {}", streams.map_or("<missing>".into(), |n| n.to_string()));
    if streams != Some(2) {
        return Err(format!("expected 2 streams counted, got {streams:?}"));
    }
    Ok(())
}
