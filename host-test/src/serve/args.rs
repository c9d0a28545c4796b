//! `meshward-host serve` on the command line: its flags, and running the server until it has
//! served `--max-requests` (or forever).

use super::{Server, ServerConfig};
use crate::error::Error;
use crate::plugin::Host;
use crate::plugin_args::PluginArgs;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

/// Parsed `serve` arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeArgs {
    /// The filter and its plugin settings (`--cluster CLUSTER=RESP.http` gives the clusters).
    pub plugin: PluginArgs,
    /// `--listen` (default 127.0.0.1:0, any free port).
    pub listen: SocketAddr,
    /// `--upstream HOST:PORT`, resolved.
    pub upstream: SocketAddr,
    /// `--max-requests N`: exit after N requests.
    pub max_requests: Option<u64>,
}

/// Usage text of the `serve` command.
pub const USAGE: &str = "usage: meshward-host serve --upstream HOST:PORT --filter F.wasm [--listen 127.0.0.1:PORT] \
[--config C.json] [--vm-config V] [--root-id ID] [--property k=v]... [--cluster CLUSTER=RESP.http]... \
[--log-level LEVEL] [--max-requests N]

Runs the filter in host-test (Envoy 1.40's behaviour) as an HTTP/1.1 proxy in front of the upstream:
every request goes through the filter, what it lets through goes to the upstream, the answer comes
back through the filter. Prints the bound address (127.0.0.1:PORT) on one line when ready; the
filter's log lines go to stderr. One VM serves one stream at a time.

  --listen ADDR          where to listen (default 127.0.0.1:0: any free port)
  --upstream HOST:PORT   where requests go
  --filter F.wasm        the proxy-wasm filter (wasm32-wasip1 or wasm32-unknown-unknown)
  --config FILE          its plugin configuration (a rejected one: exit status 1)
  --vm-config FILE       its VM configuration
  --root-id ID           root_id (and plugin name) of its root context
  --property k=v         a property every stream sees (e.g. xds.route_name=r)
  --cluster NAME=FILE    a cluster for proxy_http_call, answering with a raw HTTP/1.1 response file
  --log-level LEVEL      trace|debug|info|warn|error|critical (default info)
  --max-requests N       exit after N requests (answered or refused)

Envoy's own answers: 400 (malformed request), 431 (head over 60 KiB or over 100 headers),
426 (not HTTP/1.1), 501 (transfer coding other than chunked); serve's bound: 413 (body over 16 MiB).";

/// Parses the arguments after `serve`.
pub fn parse_args(args: &[String]) -> Result<ServeArgs, Error> {
    let mut plugin = PluginArgs::default();
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut upstream = None;
    let mut max_requests = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| Error::Usage(format!("{flag} needs a value\n{USAGE}")))
        };
        if plugin.take(flag, &mut value)? {
            continue;
        }
        match flag.as_str() {
            "--listen" => listen = address(flag, &value()?)?,
            "--upstream" => upstream = Some(address(flag, &value()?)?),
            "--cluster" => plugin.add_cluster(flag, &value()?)?,
            "--max-requests" => {
                let v = value()?;
                let n = v
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| Error::Usage(format!("--max-requests wants a positive number, got {v:?}")))?;
                max_requests = Some(n);
            }
            other => return Err(Error::Usage(format!("unknown argument {other:?}\n{USAGE}"))),
        }
    }
    plugin.require_filter(USAGE)?;
    let upstream = upstream.ok_or_else(|| Error::Usage(format!("--upstream is required\n{USAGE}")))?;
    Ok(ServeArgs {
        plugin,
        listen,
        upstream,
        max_requests,
    })
}

/// `HOST:PORT` resolved to its first address.
fn address(flag: &str, v: &str) -> Result<SocketAddr, Error> {
    v.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| Error::Usage(format!("{flag} wants HOST:PORT, got {v:?}")))
}

/// Starts the server, calls `ready` with its address, and serves until `--max-requests` were
/// served (or forever); the filter's log lines go to `log`.
pub fn run(
    args: &ServeArgs,
    ready: impl FnOnce(SocketAddr),
    log: impl Fn(&crate::LogEntry) + Send + Sync + 'static,
) -> Result<(), Error> {
    let host = Host::new()?;
    let config = ServerConfig {
        listen: args.listen,
        root_id: args.plugin.root_id.clone(),
        max_requests: args.max_requests,
        log_sink: Some(Arc::new(log)),
        ..ServerConfig::new(args.upstream)
    };
    let server = Server::start(config, args.plugin.builder(&host)?)?;
    ready(server.addr());
    server.wait();
    server.stop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_its_flags_and_the_shared_ones() {
        let a = parse_args(&s(&[
            "--filter",
            "f.wasm",
            "--upstream",
            "127.0.0.1:8080",
            "--listen",
            "127.0.0.1:9000",
            "--property",
            "x=1",
            "--cluster",
            "auth=a.http",
            "--max-requests",
            "3",
        ]))
        .unwrap();
        assert_eq!(a.plugin.filter, std::path::PathBuf::from("f.wasm"));
        assert_eq!(a.upstream, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(a.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(a.plugin.properties.len(), 1);
        assert_eq!(a.plugin.clusters.len(), 1);
        assert_eq!(a.max_requests, Some(3));
        let defaults = parse_args(&s(&["--filter", "f", "--upstream", "localhost:80"])).unwrap();
        assert_eq!(defaults.listen.port(), 0);
        assert!(defaults.listen.ip().is_loopback());
        assert_eq!(defaults.max_requests, None);
    }

    #[test]
    fn rejects_missing_and_bad_values() {
        for bad in [
            &["--filter", "f"][..],
            &["--upstream", "127.0.0.1:1"],
            &["--filter", "f", "--upstream", "no-port"],
            &["--filter", "f", "--upstream", "127.0.0.1:1", "--max-requests", "0"],
            &["--filter", "f", "--upstream", "127.0.0.1:1", "--max-requests", "x"],
            &["--filter", "f", "--upstream", "127.0.0.1:1", "--request", "r.http"],
            &["--filter", "f", "--upstream"],
        ] {
            assert!(matches!(parse_args(&s(bad)), Err(Error::Usage(_))), "{bad:?}");
        }
    }
}
