//! `meshward-host replay`: runs one raw HTTP/1.1 exchange through any proxy-wasm filter and
//! describes what the filter did as one JSON object.

use crate::error::Error;
use crate::exchange::{Request, Response};
use crate::plugin::Host;
use crate::plugin_args::{read, PluginArgs};
use std::path::PathBuf;

/// Parsed `replay` arguments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayArgs {
    /// The filter and its plugin settings (`--upstream CLUSTER=RESP.http` gives the clusters).
    pub plugin: PluginArgs,
    /// Raw HTTP/1.1 request file.
    pub request: PathBuf,
    /// Raw HTTP/1.1 response file (default: `200` with no body).
    pub response: Option<PathBuf>,
}

/// Usage text of the `replay` command.
pub const USAGE: &str = "usage: meshward-host replay --filter F.wasm [--config C.json] [--vm-config V] \
[--root-id ID] --request REQ.http [--response RESP.http] [--property k=v]... \
[--upstream CLUSTER=RESP.http]... [--log-level LEVEL]";

/// Parses the arguments after `replay`.
pub fn parse_args(args: &[String]) -> Result<ReplayArgs, Error> {
    let mut a = ReplayArgs::default();
    let mut it = args.iter();
    let mut request = None;
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| Error::Usage(format!("{flag} needs a value\n{USAGE}")))
        };
        if a.plugin.take(flag, &mut value)? {
            continue;
        }
        match flag.as_str() {
            "--request" => request = Some(PathBuf::from(value()?)),
            "--response" => a.response = Some(PathBuf::from(value()?)),
            "--upstream" => a.plugin.add_cluster(flag, &value()?)?,
            other => return Err(Error::Usage(format!("unknown argument {other:?}\n{USAGE}"))),
        }
    }
    a.plugin.require_filter(USAGE)?;
    a.request = request.ok_or_else(|| Error::Usage(format!("--request is required\n{USAGE}")))?;
    Ok(a)
}

/// Runs the exchange and returns the JSON description.
pub fn replay(a: &ReplayArgs) -> Result<serde_json::Value, Error> {
    let host = Host::new()?;
    let request = Request::from_http1(&read(&a.request)?)?;
    let response = match &a.response {
        Some(p) => Response::from_http1(&read(p)?)?,
        None => Response::ok(),
    };
    let mut plugin = a.plugin.builder(&host)?.build()?;
    let mut outcome = plugin.run_for(&a.plugin.root_id, &request, &response)?;
    // Configure-time logs belong to the root context; show them too.
    let mut logs: Vec<_> = plugin.logs().to_vec();
    logs.retain(|l| !outcome.logs.contains(l));
    logs.extend(std::mem::take(&mut outcome.logs));
    outcome.logs = logs;
    let mut json = serde_json::to_value(&outcome).map_err(|e| Error::Misuse(e.to_string()))?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert("memory_bytes".into(), plugin.memory_bytes().into());
        obj.insert("stats".into(), serde_json::to_value(plugin.stats()).unwrap_or_default());
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_all_flags() {
        let a = parse_args(&s(&[
            "--filter",
            "f.wasm",
            "--config",
            "c.json",
            "--request",
            "r.http",
            "--property",
            "source.address=1.2.3.4:5",
            "--property",
            "x=1",
            "--root-id",
            "r",
            "--upstream",
            "auth=a.http",
            "--log-level",
            "debug",
        ]))
        .unwrap();
        assert_eq!(a.plugin.filter, PathBuf::from("f.wasm"));
        assert_eq!(a.plugin.properties.len(), 2);
        assert_eq!(a.plugin.root_id, "r");
        assert_eq!(a.plugin.log_level, Some(1));
        assert_eq!(a.plugin.clusters, vec![("auth".to_string(), PathBuf::from("a.http"))]);
        assert_eq!(a.request, PathBuf::from("r.http"));
    }

    #[test]
    fn rejects_missing_and_unknown() {
        assert!(matches!(parse_args(&s(&["--filter", "f"])), Err(Error::Usage(_))));
        assert!(matches!(parse_args(&s(&["--bogus"])), Err(Error::Usage(_))));
        assert!(matches!(parse_args(&s(&["--filter"])), Err(Error::Usage(_))));
        assert!(matches!(
            parse_args(&s(&["--filter", "f", "--request", "r", "--property", "novalue"])),
            Err(Error::Usage(_))
        ));
    }
}
