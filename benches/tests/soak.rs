//! The one-minute soak (what `cargo xtask soak --duration 60s` runs, see docs/soak.md): real
//! Envoy with the policy filter and the WAF enforcing, mixed HTTP/1.1 and h2c traffic at
//! 100 requests/s. It must end with no error, no crash and no memory growth past the rule's
//! margins, and its CSV must hold every interval. Needs Envoy and the built filters (`cargo
//! xtask test` sets both up); a missing one fails the test with its message.

use std::time::Duration;

use meshward_benches::soak::options::Options;
use meshward_benches::soak::run::{self, CSV_FILE};
use meshward_benches::soak::series::CSV_HEADER;

#[test]
fn one_minute_of_mixed_traffic_passes_the_soak_rules() {
    let out = std::env::temp_dir().join(format!("meshward-soak-test-{}", std::process::id()));
    let options = Options::new(Duration::from_secs(60), out.clone());
    let verdict = run::run(&options).unwrap_or_else(|e| panic!("the soak could not run: {e}"));
    eprintln!("soak: {}", run::summary(&verdict));
    assert!(verdict.passed(), "the soak failed:\n{}", verdict.failures.join("\n"));
    // 100 requests/s for 60 s is 6,000; a loaded machine may send fewer (a connection that falls
    // behind does not catch up), so only a rate far below the target fails; above it by more
    // than the few requests due exactly at the end would be bursts.
    assert!(
        verdict.requests > 3000 && verdict.requests <= 6060,
        "{} requests at 100/s for 60 s",
        verdict.requests
    );
    let csv = std::fs::read_to_string(out.join(CSV_FILE)).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(CSV_HEADER));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 12, "one row per 5 s interval");
    assert!(
        rows.iter().all(|r| r.split(',').nth(1).is_some_and(|n| n != "0")),
        "every interval has requests:\n{csv}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
