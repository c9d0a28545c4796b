//! A missing Envoy or wasm file is a clear error, never a skip. (Own test binary: it sets
//! process-wide environment variables.)

use meshward_envoy::locate::{self, LocateError};
use meshward_envoy::{Envoy, EnvoyConfig, HarnessError, WasmFilter};

#[test]
fn missing_envoy_and_wasm_name_the_fix() {
    std::env::set_var("MESHWARD_ENVOY", "/nonexistent/envoy");
    let err = locate::envoy_binary().unwrap_err();
    assert!(matches!(err, LocateError::EnvoyMissing { .. }));
    assert!(err.to_string().contains("cargo xtask setup"), "{err}");
    let config = EnvoyConfig::new("127.0.0.1:9".parse().unwrap()).filter(WasmFilter::new("/nonexistent/f.wasm", ""));
    assert!(matches!(
        Envoy::start(&config),
        Err(HarnessError::Locate(LocateError::EnvoyMissing { .. }))
    ));
    std::env::remove_var("MESHWARD_ENVOY");

    std::env::set_var("MESHWARD_WASM_DIR", "/nonexistent/dir");
    let err = locate::wasm_file("meshward-fixture-hello").unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/dir/meshward_fixture_hello.wasm"),
        "{err}"
    );
    assert!(err.to_string().contains("cargo xtask wasm"), "{err}");
    std::env::remove_var("MESHWARD_WASM_DIR");
    if locate::envoy_binary().is_ok() {
        let config =
            EnvoyConfig::new("127.0.0.1:9".parse().unwrap()).filter(WasmFilter::new("/nonexistent/f.wasm", ""));
        assert!(matches!(
            Envoy::start(&config),
            Err(HarnessError::Locate(LocateError::WasmMissing { .. }))
        ));
    }
}
