//! `meshward image build` and `image inspect` on the built filters, without a registry: the
//! short filter names, what inspect reports, the recorded time, and usage errors.

mod common;

use common::cli::{meshward, meshward_code};
use meshward_testkit::locate;
use serde_json::Value;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("meshward-build-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn build_by_short_name_and_inspect_reports_the_module_as_istio_reads_it() {
    let wasm = std::fs::read(locate::wasm_file("meshward_netpolicy.wasm").unwrap_or_else(|e| panic!("{e}"))).unwrap();
    let out = scratch("policy-oci");
    let dir = out.to_string_lossy();
    let (ok, stdout, stderr) = meshward(&[
        "image",
        "build",
        "--filter",
        "policy",
        "--variant",
        "oci",
        "--out",
        &dir,
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("oci image of"), "{stdout}");
    let (ok, stdout, stderr) = meshward(&["image", "inspect", "--json", &dir]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let image = &report["images"][0];
    assert_eq!(image["variant"], "oci");
    assert_eq!(image["wasm"]["size"], wasm.len());
    assert_eq!(
        image["layers"][1]["media_type"],
        "application/vnd.module.wasm.content.layer.v1+wasm"
    );
    assert_eq!(image["annotations"]["meshward.filter"], "meshward_netpolicy.wasm");
    assert_eq!(
        image["annotations"]["org.opencontainers.image.title"],
        "meshward-netpolicy"
    );
    assert_eq!(image["wasm"]["digest"], image["annotations"]["meshward.wasm.digest"]);
    let (ok, text, _) = meshward(&["image", "inspect", &dir]);
    assert!(ok && text.contains("image (no tag): oci variant"), "{text}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_given_time_is_recorded_and_changes_the_digest() {
    let path = locate::wasm_file("meshward_netpolicy.wasm").unwrap_or_else(|e| panic!("{e}"));
    let digest = |epoch: Option<&str>, name: &str| {
        let out = scratch(name);
        let dir = out.to_string_lossy().into_owned();
        let file = path.to_string_lossy();
        let mut args = vec!["image", "build", "--filter", &file, "--out", &dir];
        if let Some(epoch) = epoch {
            args.extend(["--source-date-epoch", epoch]);
        }
        let (ok, _, stderr) = meshward(&args);
        assert!(ok, "{stderr}");
        let (_, stdout, _) = meshward(&["image", "inspect", "--json", &dir]);
        let report: Value = serde_json::from_str(&stdout).unwrap();
        std::fs::remove_dir_all(&out).unwrap();
        let image = &report["images"][0];
        (
            image["manifest"]["digest"].as_str().unwrap().to_string(),
            image["annotations"]["org.opencontainers.image.created"].clone(),
        )
    };
    let (plain, created) = digest(None, "no-time");
    assert_eq!(created, Value::Null);
    let (dated, created) = digest(Some("1700000000"), "dated");
    assert_eq!(created, "2023-11-14T22:13:20Z");
    assert_ne!(plain, dated);
    assert_eq!(digest(Some("1700000000"), "dated-again").0, dated);
}

#[test]
fn usage_errors_exit_2_and_findings_exit_1() {
    let out = scratch("usage");
    let dir = out.to_string_lossy();
    let (code, _, stderr) = meshward_code(&["image", "build", "--filter", "nginx", "--out", &dir]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("expected waf, policy or the path of a .wasm file"),
        "{stderr}"
    );
    let (code, _, stderr) = meshward_code(&["image", "build", "--filter", "policy", "--tag", "-x", "--out", &dir]);
    assert_eq!(code, Some(2), "{stderr}");
    let not_wasm = common::cli::temp("not-a-filter.wasm", "plain text");
    let (code, _, stderr) = meshward_code(&["image", "build", "--filter", &not_wasm, "--out", &dir]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("not a WebAssembly module"), "{stderr}");
    let (code, _, stderr) = meshward_code(&["image", "push", "/nonexistent/layout", "127.0.0.1:1/x"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/layout/oci-layout"), "{stderr}");
    let _ = std::fs::remove_dir_all(&out);
}
