//! The Envoy configurations shipped in `envoy/examples/`: where they are, filling in their
//! `${NAME}` placeholders (what `envsubst` does), and checking a configuration with
//! `envoy --mode validate`.

use crate::{locate, HarnessError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding the example configurations.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Reads example `name` (a file in [`dir`]).
pub fn read(name: &str) -> Result<String, HarnessError> {
    let path = dir().join(name);
    std::fs::read_to_string(&path).map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))
}

/// The `${NAME}` placeholders of `text`, each once, in order of first use.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// Replaces every `${NAME}` of `text` by `values[NAME]`; a placeholder without a value is an
/// error (a configuration is never run half filled in), and so is a value nothing uses.
pub fn render(text: &str, values: &BTreeMap<&str, String>) -> Result<String, HarnessError> {
    let used = placeholders(text);
    let invalid = |why: String| HarnessError::Io {
        what: "filling in an example configuration".into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why),
    };
    if let Some(missing) = used.iter().find(|n| !values.contains_key(n.as_str())) {
        return Err(invalid(format!("no value for ${{{missing}}}")));
    }
    if let Some(unused) = values.keys().find(|k| !used.iter().any(|n| n == *k)) {
        return Err(invalid(format!("${{{unused}}} is not in the configuration")));
    }
    let mut out = text.to_string();
    for (name, value) in values {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    Ok(out)
}

/// What `envoy --mode validate` said about a configuration.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Whether Envoy accepted it (exit status 0).
    pub ok: bool,
    /// Envoy's output (stdout then stderr).
    pub output: String,
}

/// Runs `envoy --mode validate` on configuration `text`, written to `scratch/name`.
pub fn validate(text: &str, scratch: &Path, name: &str) -> Result<Validation, HarnessError> {
    let binary = locate::envoy_binary()?;
    let path = scratch.join(name);
    std::fs::write(&path, text).map_err(|e| HarnessError::io(format!("writing {}", path.display()), e))?;
    let output = Command::new(&binary)
        .args(["--mode", "validate", "-l", "warning", "-c"])
        .arg(&path)
        .output()
        .map_err(|e| HarnessError::io(format!("running {} --mode validate", binary.display()), e))?;
    Ok(Validation {
        ok: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_must_all_be_filled() {
        let text = "port: ${PORT}\nagain: ${PORT}\npath: ${DIR}/x";
        assert_eq!(placeholders(text), ["PORT", "DIR"]);
        let mut values = BTreeMap::from([("PORT", "8080".to_string())]);
        assert!(render(text, &values)
            .unwrap_err()
            .to_string()
            .contains("no value for ${DIR}"));
        values.insert("DIR", "/d".into());
        assert_eq!(render(text, &values).unwrap(), "port: 8080\nagain: 8080\npath: /d/x");
        values.insert("OTHER", "x".into());
        assert!(render(text, &values).unwrap_err().to_string().contains("${OTHER}"));
    }
}
