//! The command-line flags `meshward-host replay` and `meshward-host serve` share: the filter and
//! how its plugin is configured, turned into a `PluginBuilder`.

use crate::error::Error;
use crate::plugin::{Host, PluginBuilder};
use crate::property::Value;
use crate::upstream::CallReply;
use meshward_abi::LogLevel;
use std::path::{Path, PathBuf};

/// The filter and its plugin settings, as given on the command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginArgs {
    /// The filter `.wasm` (`--filter`).
    pub filter: PathBuf,
    /// Plugin configuration file (`--config`).
    pub config: Option<PathBuf>,
    /// VM configuration file (`--vm-config`).
    pub vm_config: Option<PathBuf>,
    /// Root id of the plugin (`--root-id`); also its plugin name.
    pub root_id: String,
    /// `--property k=v` settings (values typed by `Value::guess`).
    pub properties: Vec<(String, String)>,
    /// Clusters for `proxy_http_call`, each answered with a raw HTTP/1.1 response file.
    pub clusters: Vec<(String, PathBuf)>,
    /// `--log-level trace|debug|info|warn|error|critical`, as its ABI code.
    pub log_level: Option<u32>,
}

impl PluginArgs {
    /// Takes `flag` if it is one of the shared flags, reading its value with `value`; returns
    /// false for any other flag (the command's own).
    pub fn take(&mut self, flag: &str, value: impl FnOnce() -> Result<String, Error>) -> Result<bool, Error> {
        match flag {
            "--filter" => self.filter = PathBuf::from(value()?),
            "--config" => self.config = Some(PathBuf::from(value()?)),
            "--vm-config" => self.vm_config = Some(PathBuf::from(value()?)),
            "--root-id" => self.root_id = value()?,
            "--property" => self.properties.push(key_value(flag, &value()?)?),
            "--log-level" => {
                let v = value()?;
                let level = LogLevel::ALL
                    .iter()
                    .find(|l| l.name() == v)
                    .ok_or_else(|| Error::Usage(format!("unknown log level {v:?}")))?;
                self.log_level = Some(level.code());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Adds a `proxy_http_call` cluster from a `CLUSTER=RESP.http` flag value.
    pub fn add_cluster(&mut self, flag: &str, v: &str) -> Result<(), Error> {
        let (cluster, path) = key_value(flag, v)?;
        self.clusters.push((cluster, PathBuf::from(path)));
        Ok(())
    }

    /// Fails with the usage text when `--filter` is missing.
    pub fn require_filter(&self, usage: &str) -> Result<(), Error> {
        if self.filter.as_os_str().is_empty() {
            return Err(Error::Usage(format!("--filter is required\n{usage}")));
        }
        Ok(())
    }

    /// Compiles the filter and configures a plugin of it as these flags say (not built yet).
    pub fn builder(&self, host: &Host) -> Result<PluginBuilder, Error> {
        let module = host.load(&self.filter)?;
        let config = match &self.config {
            Some(p) => read(p)?,
            None => Vec::new(),
        };
        let mut b = host.plugin(&module).root(&self.root_id, config).name(&self.root_id);
        if let Some(p) = &self.vm_config {
            b = b.vm_config(read(p)?);
        }
        if let Some(l) = self.log_level {
            b = b.log_level(l);
        }
        for (k, v) in &self.properties {
            b = b.property(k, Value::guess(v));
        }
        for (cluster, path) in &self.clusters {
            let m = crate::http1::parse_response(&read(path)?)?;
            let reply = CallReply::Response {
                headers: m.headers,
                body: m.body,
                trailers: m.trailers,
            };
            b = b.upstream(cluster, move |_| reply.clone());
        }
        Ok(b)
    }
}

/// Splits a `k=v` flag value.
fn key_value(flag: &str, v: &str) -> Result<(String, String), Error> {
    let (k, val) = v
        .split_once('=')
        .ok_or_else(|| Error::Usage(format!("{flag} wants NAME=VALUE, got {v:?}")))?;
    Ok((k.to_string(), val.to_string()))
}

/// Reads a file named on the command line.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take_all(args: &[&str]) -> Result<(PluginArgs, Vec<String>), Error> {
        let mut a = PluginArgs::default();
        let mut rest = Vec::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = || {
                it.next()
                    .map(|v| v.to_string())
                    .ok_or_else(|| Error::Usage(format!("{flag} needs a value")))
            };
            if !a.take(flag, value)? {
                rest.push(flag.to_string());
            }
        }
        Ok((a, rest))
    }

    #[test]
    fn shared_flags_are_taken_and_others_left() {
        let (a, rest) = take_all(&[
            "--filter",
            "f.wasm",
            "--property",
            "source.address=1.2.3.4:5",
            "--own",
            "--log-level",
            "debug",
            "--root-id",
            "r",
        ])
        .unwrap();
        assert_eq!(a.filter, PathBuf::from("f.wasm"));
        assert_eq!(
            a.properties,
            vec![("source.address".to_string(), "1.2.3.4:5".to_string())]
        );
        assert_eq!((a.log_level, a.root_id.as_str()), (Some(1), "r"));
        assert_eq!(rest, ["--own"]);
        assert!(a.require_filter("usage").is_ok());
        assert!(PluginArgs::default().require_filter("usage").is_err());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        assert!(matches!(take_all(&["--property", "novalue"]), Err(Error::Usage(_))));
        assert!(matches!(take_all(&["--log-level", "loud"]), Err(Error::Usage(_))));
        assert!(matches!(take_all(&["--config"]), Err(Error::Usage(_))));
        let mut a = PluginArgs::default();
        assert!(matches!(a.add_cluster("--cluster", "nofile"), Err(Error::Usage(_))));
        a.add_cluster("--cluster", "auth=a.http").unwrap();
        assert_eq!(a.clusters, vec![("auth".to_string(), PathBuf::from("a.http"))]);
    }
}
