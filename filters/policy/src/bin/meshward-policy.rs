//! `meshward-policy`: check a policy document, or convert Istio AuthorizationPolicy YAML.

use std::process::ExitCode;

use meshward_policy::{istio, Engine};

const USAGE: &str = "usage:
  meshward-policy check FILE          validate a policy document (YAML or JSON); deprecated words
                                      are warnings on stderr
  meshward-policy import-istio FILE   convert Istio AuthorizationPolicy YAML (multi-document) to a
                                      policy document on stdout; warnings on stderr
  meshward-policy import-istio FILE --wasm-plugin-url URL
                                      print instead the WasmPlugins (multi-document YAML) that carry
                                      the policies to the workloads each applied to, running URL";

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn yaml(value: &impl serde::Serialize) -> Result<String, String> {
    serde_yaml_ng::to_string(value).map_err(|e| e.to_string())
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
        [cmd, file, rest @ ..] if cmd == "import-istio" => {
            let url = match rest {
                [] => None,
                [flag, url] if flag == "--wasm-plugin-url" => Some(url),
                _ => return Err(USAGE.to_string()),
            };
            let text = read(file)?;
            let out = istio::import(&text).map_err(|e| format!("{file}: {e}"))?;
            for w in &out.warnings {
                eprintln!("{w}");
            }
            match url {
                None => print!("{}", yaml(&out.document)?),
                Some(url) => {
                    let docs: Vec<String> = out
                        .carriers
                        .iter()
                        .map(|c| yaml(&c.wasm_plugin(url)))
                        .collect::<Result<_, _>>()?;
                    print!("{}", docs.join("---\n"));
                }
            }
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
