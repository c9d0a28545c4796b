//! Prints, for every CRS test stage, the raw request go-ftw would send and this crate's
//! model of Envoy's handling, as JSON lines; used to compare the model with a real Envoy.
//!
//! `cargo run -p meshward-ftw --example dump-requests [-- CRS_DIR] > requests.jsonl`

use base64::Engine as _;
use meshward_ftw::{config, http1, load, wire};

fn main() -> anyhow::Result<()> {
    let crs = config::crs_dir(std::env::args().nth(1).as_deref().map(std::path::Path::new));
    for case in load::load_dir(&config::tests_dir(&crs))? {
        for (index, stage) in case.stages.iter().enumerate() {
            let Ok(raw) = wire::request_bytes(&stage.input) else {
                continue;
            };
            let (status, reason, path, headers, body_len) = match http1::parse(&raw) {
                Ok(r) => {
                    let headers: Vec<String> = r
                        .headers
                        .iter()
                        .map(|(n, v)| format!("{}: {}", String::from_utf8_lossy(n), String::from_utf8_lossy(v)))
                        .collect();
                    (
                        Some(200),
                        String::new(),
                        String::from_utf8_lossy(&r.path).into_owned(),
                        headers,
                        r.body.len(),
                    )
                }
                Err(r) => (r.status, r.reason, String::new(), Vec::new(), 0),
            };
            let line = serde_json::json!({
                "id": case.id(),
                "stage": index + 1,
                "raw": base64::engine::general_purpose::STANDARD.encode(&raw),
                "model_status": status,
                "model_reason": reason,
                "model_path": path,
                "model_headers": headers,
                "model_body_len": body_len,
            });
            println!("{line}");
        }
    }
    Ok(())
}
