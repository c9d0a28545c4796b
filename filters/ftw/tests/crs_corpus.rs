//! Loads the whole CRS v4.28.0 regression corpus and checks every case can be turned into a
//! request (or an Envoy refusal).

use meshward_ftw::{config, http1, load, wire};

/// Test cases in CRS v4.28.0's tests/regression/tests, read as go-ftw reads them (`*.y*ml`:
/// 322 `.yaml` files, one of them comments only, plus `999999.yml`). The issue quoted 5,033;
/// counting the YAML gives 5,003 cases with 5,009 stages.
const CRS_4_28_CASES: usize = 5003;
const CRS_4_28_STAGES: usize = 5009;

#[test]
fn loads_every_crs_case() {
    let crs = config::crs_dir(None);
    let dir = config::tests_dir(&crs);
    assert!(
        dir.is_dir(),
        "CRS tests not found at {} (set {})",
        dir.display(),
        config::CRS_DIR_ENV
    );
    let cases = load::load_dir(&dir).expect("CRS tests load");
    assert_eq!(cases.len(), CRS_4_28_CASES);
    let stages: usize = cases.iter().map(|c| c.stages.len()).sum();
    assert_eq!(stages, CRS_4_28_STAGES);

    let mut ids: Vec<String> = cases.iter().map(|c| c.id()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), cases.len(), "test ids are unique");

    let mut rejected = 0;
    for case in &cases {
        for stage in &case.stages {
            let raw = wire::request_bytes(&stage.input).unwrap_or_else(|e| panic!("{}: {e}", case.id()));
            if http1::parse(&raw).is_err() {
                rejected += 1;
            }
        }
    }
    // Deliberately malformed requests exist, but they are a small minority.
    assert!(
        rejected > 10 && rejected < 200,
        "{rejected} stages refused by the proxy model"
    );
}

#[test]
fn encoded_requests_decode_to_http() {
    let cases = load::load_dir(&config::tests_dir(&config::crs_dir(None))).unwrap();
    let encoded: Vec<_> = cases
        .iter()
        .flat_map(|c| c.stages.iter())
        .filter(|s| s.input.encoded_request.is_some())
        .collect();
    assert_eq!(encoded.len(), 10);
    for stage in encoded {
        let raw = wire::request_bytes(&stage.input).unwrap();
        assert!(
            raw.windows(5).any(|w| w == b"HTTP/"),
            "{:?}",
            String::from_utf8_lossy(&raw)
        );
    }
}
