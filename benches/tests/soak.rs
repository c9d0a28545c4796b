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
    // 100 requests/s for 60 s; the connections start staggered within their first period.
    assert!(
        (5800..=6000).contains(&verdict.requests),
        "{} requests at 100/s for 60 s",
        verdict.requests
    );
    let csv = std::fs::read_to_string(out.join(CSV_FILE)).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(CSV_HEADER));
    assert_eq!(lines.count(), 12, "one row per 5 s interval");
    let _ = std::fs::remove_dir_all(&out);
}
