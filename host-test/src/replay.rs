//! `meshward-host replay`: runs one raw HTTP/1.1 exchange through any proxy-wasm filter and
//! describes what the filter did as one JSON object.

use crate::error::Error;
use crate::exchange::{Request, Response};
use crate::plugin::Host;
use crate::property::Value;
use crate::upstream::CallReply;
use meshward_abi::LogLevel;
use std::path::PathBuf;

/// Parsed `replay` arguments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayArgs {
    /// The filter `.wasm`.
    pub filter: PathBuf,
    /// Plugin configuration file.
    pub config: Option<PathBuf>,
    /// VM configuration file.
    pub vm_config: Option<PathBuf>,
    /// Root id of the plugin.
    pub root_id: String,
    /// Raw HTTP/1.1 request file.
    pub request: PathBuf,
    /// Raw HTTP/1.1 response file (default: `200` with no body).
    pub response: Option<PathBuf>,
    /// `--property k=v` settings (values typed by `Value::guess`).
    pub properties: Vec<(String, String)>,
    /// `--upstream cluster=RESP.http`: clusters for `proxy_http_call`.
    pub upstreams: Vec<(String, PathBuf)>,
    /// `--log-level trace|debug|info|warn|error|critical`.
    pub log_level: Option<u32>,
}

/// Usage text of the CLI.
pub const USAGE: &str = "usage: meshward-host replay --filter F.wasm [--config C.json] [--vm-config V] \
[--root-id ID] --request REQ.http [--response RESP.http] [--property k=v]... \
[--upstream CLUSTER=RESP.http]... [--log-level LEVEL]";

/// Parses the arguments after `replay`.
pub fn parse_args(args: &[String]) -> Result<ReplayArgs, Error> {
    let mut a = ReplayArgs::default();
    let mut it = args.iter();
    let mut filter = None;
    let mut request = None;
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| Error::Usage(format!("{flag} needs a value\n{USAGE}")))
        };
        match flag.as_str() {
            "--filter" => filter = Some(PathBuf::from(value()?)),
            "--config" => a.config = Some(PathBuf::from(value()?)),
            "--vm-config" => a.vm_config = Some(PathBuf::from(value()?)),
            "--root-id" => a.root_id = value()?,
            "--request" => request = Some(PathBuf::from(value()?)),
            "--response" => a.response = Some(PathBuf::from(value()?)),
            "--property" => {
                let v = value()?;
                let (k, val) = v
                    .split_once('=')
                    .ok_or_else(|| Error::Usage(format!("--property wants k=v, got {v:?}")))?;
                a.properties.push((k.to_string(), val.to_string()));
            }
            "--upstream" => {
                let v = value()?;
                let (k, p) = v
                    .split_once('=')
                    .ok_or_else(|| Error::Usage(format!("--upstream wants CLUSTER=RESP.http, got {v:?}")))?;
                a.upstreams.push((k.to_string(), PathBuf::from(p)));
            }
            "--log-level" => {
                let v = value()?;
                let level = LogLevel::ALL
                    .iter()
                    .find(|l| l.name() == v)
                    .ok_or_else(|| Error::Usage(format!("unknown log level {v:?}")))?;
                a.log_level = Some(level.code());
            }
            other => return Err(Error::Usage(format!("unknown argument {other:?}\n{USAGE}"))),
        }
    }
    a.filter = filter.ok_or_else(|| Error::Usage(format!("--filter is required\n{USAGE}")))?;
    a.request = request.ok_or_else(|| Error::Usage(format!("--request is required\n{USAGE}")))?;
    Ok(a)
}

fn read(path: &PathBuf) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })
}

/// Runs the exchange and returns the JSON description.
pub fn replay(a: &ReplayArgs) -> Result<serde_json::Value, Error> {
    let host = Host::new()?;
    let module = host.load(&a.filter)?;
    let request = Request::from_http1(&read(&a.request)?)?;
    let response = match &a.response {
        Some(p) => Response::from_http1(&read(p)?)?,
        None => Response::ok(),
    };
    let config = match &a.config {
        Some(p) => read(p)?,
        None => Vec::new(),
    };
    let mut b = host.plugin(&module).root(&a.root_id, config).name(&a.root_id);
    if let Some(p) = &a.vm_config {
        b = b.vm_config(read(p)?);
    }
    if let Some(l) = a.log_level {
        b = b.log_level(l);
    }
    for (k, v) in &a.properties {
        b = b.property(k, Value::guess(v));
    }
    for (cluster, path) in &a.upstreams {
        let m = crate::http1::parse_response(&read(path)?)?;
        let reply = CallReply::Response {
            headers: m.headers,
            body: m.body,
            trailers: m.trailers,
        };
        b = b.upstream(cluster, move |_| reply.clone());
    }
    let mut plugin = b.build()?;
    let mut outcome = plugin.run_for(&a.root_id, &request, &response)?;
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
        assert_eq!(a.filter, PathBuf::from("f.wasm"));
        assert_eq!(a.properties.len(), 2);
        assert_eq!(a.root_id, "r");
        assert_eq!(a.log_level, Some(1));
        assert_eq!(a.upstreams, vec![("auth".to_string(), PathBuf::from("a.http"))]);
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
