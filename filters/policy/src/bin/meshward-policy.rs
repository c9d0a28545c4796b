//! `meshward-policy`: check a policy document, or convert Istio AuthorizationPolicy YAML.

use std::process::ExitCode;

use meshward_policy::{istio, Engine};

const USAGE: &str = "usage:
  meshward-policy check FILE          validate a policy document (YAML or JSON); deprecated words
                                      are warnings on stderr
  meshward-policy import-istio FILE   convert Istio AuthorizationPolicy YAML (multi-document) to a
                                      policy document on stdout; warnings on stderr";

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn run(args: &[String]) -> Result<(), String> {
    match args {
        [cmd, file] if cmd == "check" => {
            let text = read(file)?;
            let engine = Engine::from_text(&text).map_err(|e| format!("{file}: {e}"))?;
            for d in engine.deprecations() {
                eprintln!("{file}: warning: {d}");
            }
            println!(
                "{file}: ok, {} policies, {} clauses, mode {}",
                engine.policy_count(),
                engine.clause_count(),
                engine.mode()
            );
            Ok(())
        }
        [cmd, file] if cmd == "import-istio" => {
            let text = read(file)?;
            let out = istio::import(&text).map_err(|e| format!("{file}: {e}"))?;
            for w in &out.warnings {
                eprintln!("{w}");
            }
            let yaml = serde_yaml_ng::to_string(&out.document).map_err(|e| e.to_string())?;
            print!("{yaml}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meshward-policy: {e}");
            ExitCode::FAILURE
        }
    }
}
