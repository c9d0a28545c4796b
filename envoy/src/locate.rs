//! Where the workspace, the Envoy binary and the built wasm filters are.

use crate::HarnessError;
use std::path::{Path, PathBuf};

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).to_path_buf()
}

/// The Envoy binary: `$MESHWARD_ENVOY`, else `<workspace>/.venv/bin/envoy`; it must exist.
pub fn envoy_binary() -> Result<PathBuf, HarnessError> {
    let path = match std::env::var_os("MESHWARD_ENVOY") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(".venv/bin/envoy"),
    };
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(path),
        Ok(_) => Err(HarnessError::EnvoyMissing {
            path,
            why: "not a file".into(),
        }),
        Err(e) => Err(HarnessError::EnvoyMissing {
            path,
            why: e.to_string(),
        }),
    }
}

/// Directory of built filters: `$MESHWARD_WASM_DIR`, else `<workspace>/target/filters/wasm32-wasip1`.
pub fn wasm_dir() -> PathBuf {
    match std::env::var_os("MESHWARD_WASM_DIR") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join("target/filters/wasm32-wasip1"),
    }
}

/// A built filter by crate name (`meshward-fixture-probe` → `meshward_fixture_probe.wasm`); it must exist.
pub fn wasm_file(crate_name: &str) -> Result<PathBuf, HarnessError> {
    let path = wasm_dir().join(format!("{}.wasm", crate_name.replace('-', "_")));
    if path.is_file() {
        Ok(path)
    } else {
        Err(HarnessError::WasmMissing { path })
    }
}
