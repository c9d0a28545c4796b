//! `meshward learn api [FILES...|-]`: the API inventory of each service as an OpenAPI 3.0.3
//! document learned from the policy filter's recorded events and, with `--spec`, the drift
//! between a declared spec and the traffic (docs/learn.md).

use std::path::PathBuf;

use meshward_learn::drift::{self, Drift, Spec};
use meshward_learn::{openapi, LearnError, Options};
use meshward_vocab::Mode;
use serde_json::{Map, Value};

use super::learn_policy::{create_dir, read_inputs, write};
use crate::args::LearnApiArgs;
use crate::CliError;

/// Malformed lines listed on stderr.
const MALFORMED_SHOWN: usize = 20;

/// Runs the command.
pub fn run(args: &LearnApiArgs) -> Result<(), CliError> {
    // The same checks as `learn policy` (the mode plays no part here).
    let opts = Options::new(
        Mode::Detect,
        args.folding.fold_threshold,
        &args.folding.templates,
        &args.folding.literals,
    )?;
    // Specs are read before the (possibly long) input, so a typo fails fast.
    let specs = args.specs.iter().map(|s| read_spec(s)).collect::<Result<Vec<_>, _>>()?;
    let intake = read_inputs(&args.files)?;
    for m in intake.malformed.iter().take(MALFORMED_SHOWN) {
        eprintln!("{}:{}: warning: {}", m.origin.file, m.origin.line, m.reason);
    }
    if intake.records.is_empty() {
        return Err(CliError::NoEvents { lines: intake.lines });
    }
    let apis = openapi::inventory(&intake, &opts.templates);
    let drifts: Vec<Drift> = specs
        .iter()
        .map(|(service, file, spec)| drift::drift(&intake, &apis, service, file, spec))
        .collect();
    let drift_text = if args.json {
        serde_json::to_string_pretty(&drifts).unwrap_or_default() + "\n"
    } else {
        drift::markdown(&drifts)
    };
    match &args.out_dir {
        Some(dir) => {
            create_dir(dir)?;
            for api in &apis {
                let doc = openapi::document(api);
                let (ext, text) = if args.json {
                    ("json", serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n")
                } else {
                    ("yaml", yaml(&doc))
                };
                write(&dir.join(format!("{}.openapi.{ext}", file_stem(&api.host))), &text)?;
            }
            if !drifts.is_empty() {
                let name = if args.json { "drift.json" } else { "drift.md" };
                write(&dir.join(name), &drift_text)?;
            }
        }
        None if !drifts.is_empty() => print!("{drift_text}"),
        None if args.json => {
            let all: Map<String, Value> = apis.iter().map(|a| (a.host.clone(), openapi::document(a))).collect();
            println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
        }
        None => {
            for api in &apis {
                print!("---\n{}", yaml(&openapi::document(api)));
            }
        }
    }
    let endpoints: usize = apis.iter().map(|a| a.endpoints.len()).sum();
    let operations: usize = apis.iter().flat_map(|a| &a.endpoints).map(|e| e.operations.len()).sum();
    eprintln!(
        "learned {} services, {endpoints} paths, {operations} operations ({} malformed lines)",
        apis.len(),
        intake.malformed.len()
    );
    for d in &drifts {
        eprintln!(
            "drift {} against {}: {} undeclared, {} never seen, {} undeclared methods, {} undeclared status classes",
            d.service,
            d.spec,
            d.undeclared.len(),
            d.unused.len(),
            d.undeclared_methods.len(),
            d.undeclared_statuses.len()
        );
    }
    Ok(())
}

/// `SERVICE=FILE` → the service, the file name and the spec it holds (YAML or JSON).
fn read_spec(arg: &str) -> Result<(String, String, Spec), CliError> {
    let Some((service, file)) = arg.split_once('=').filter(|(s, f)| !s.is_empty() && !f.is_empty()) else {
        return Err(CliError::Usage(format!("--spec {arg}: expected SERVICE=FILE")));
    };
    let path = PathBuf::from(file);
    let text = std::fs::read_to_string(&path).map_err(|source| LearnError::Read {
        path: path.clone(),
        source,
    })?;
    let spec_err = |reason: String| LearnError::Spec {
        spec: arg.to_owned(),
        reason,
    };
    // YAML is a superset of JSON: one parser reads both.
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).map_err(|e| spec_err(e.to_string()))?;
    let doc = to_json(doc).map_err(spec_err)?;
    let spec = Spec::from_value(arg, &doc)?;
    Ok((service.to_owned(), file.to_owned(), spec))
}

/// YAML to JSON, map keys as strings: OpenAPI YAML often writes `200:` unquoted, an integer key
/// JSON has no room for.
fn to_json(v: serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("a map key that is no scalar: {other:?}")),
                };
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => to_json(t.value)?,
    })
}

/// A JSON value always has a YAML form (string keys, no NaN): serializing it cannot fail.
fn yaml(doc: &Value) -> String {
    serde_yaml_ng::to_string(doc).unwrap_or_default()
}

/// A file name for a host (`catalog.svc:8080` → `catalog.svc_8080`).
fn file_stem(host: &str) -> String {
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_integer_keys_become_strings() {
        let y: serde_yaml_ng::Value =
            serde_yaml_ng::from_str("a:\n  200: {description: ok}\n  x: [1, true]\n").unwrap();
        let j = to_json(y).unwrap();
        assert_eq!(j["a"]["200"]["description"], "ok");
        assert_eq!(j["a"]["x"], serde_json::json!([1, true]));
    }

    #[test]
    fn hosts_become_file_names() {
        assert_eq!(file_stem("catalog.svc:8080"), "catalog.svc_8080");
        assert_eq!(file_stem("../x"), ".._x");
    }
}
