//! Running the `meshward` binary and writing its input files.

use std::process::Command;

/// Runs `meshward args...`: (success, stdout, stderr).
pub fn meshward(args: &[&str]) -> (bool, String, String) {
    let (code, stdout, stderr) = meshward_code(args);
    (code == Some(0), stdout, stderr)
}

/// Runs `meshward args...`: (exit code, stdout, stderr).
pub fn meshward_code(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meshward"))
        .args(args)
        .output()
        .expect("running meshward");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `text` to a file `name` in this test process's scratch directory; its path.
pub fn temp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("meshward-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating the scratch directory");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("writing a test file");
    p.to_string_lossy().into_owned()
}
