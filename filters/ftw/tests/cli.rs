//! The `crs-regression` binary: output format, results file and exit codes, on CRS cases
//! whose verdict comes from the proxy model alone (so they do not depend on the engine).

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crs-regression"))
        .args(args)
        .output()
        .expect("crs-regression runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn summary_results_file_and_fail_under() {
    let results = std::env::temp_dir().join(format!("crs-regression-cli-{}.tsv", std::process::id()));
    let results_arg = results.to_str().unwrap();
    // 920100-2 expects Envoy-style refusal of "     GET" (400); 911100-5 uses method TEST,
    // which Envoy refuses before any filter runs.
    let include = "^(920100-2|911100-5)$";
    let (code, stdout, stderr) = run(&["--include", include, "--results", results_arg, "--fail-under", "100"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.last(), Some(&"1 passed, 0 failed"), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("1 proxy-rejected")), "{stdout}");
    assert!(lines.iter().any(|l| l.starts_with("PROXY 911100-5: ")), "{stdout}");
    let tsv = std::fs::read_to_string(&results).unwrap();
    assert!(tsv.starts_with("test_id\tresult\treason\n"));
    assert!(tsv.contains("\n920100-2\tpassed\t\n"), "{tsv}");
    assert!(tsv.contains("\n911100-5\tproxy-rejected\tproxy-rejected 400"), "{tsv}");
    std::fs::remove_file(&results).unwrap();

    // Nothing judged on the engine: any threshold above 0 fails.
    let (code, _, _) = run(&[
        "--include",
        "^911100-5$",
        "--results",
        results_arg,
        "--fail-under",
        "50",
    ]);
    assert_eq!(code, 1);
    let _ = std::fs::remove_file(&results);
}

#[test]
fn bad_arguments_exit_2() {
    assert_eq!(run(&["--include", "("]).0, 2);
    assert_eq!(run(&["--fail-under", "101"]).0, 2);
    assert_eq!(run(&["--nope"]).0, 2);
    assert_eq!(run(&["--crs", "/nonexistent/crs"]).0, 2);
}
