//! The eight configurations compared, and the Envoy bootstrap of each (nginx's configuration is
//! in [`super::nginx`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use meshward_envoy::{EnvoyConfig, WasmFilter};
use serde_json::{json, Value};

use super::policy_doc;
use super::workload::GRPC_PATH;
use super::LoadError;

/// One proxy set-up under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Configuration {
    /// Envoy with only the router.
    EnvoyBare,
    /// Envoy + a wasm filter that does nothing (`meshward-fixture-empty`).
    EnvoyEmptyWasm,
    /// Envoy + meshward WAF, `{"mode":"detect"}`.
    WafDetect,
    /// Envoy + meshward WAF, `{"mode":"enforce"}`.
    WafEnforce,
    /// Envoy + meshward netpolicy with the 1,000-rule document (behaviour analytics on, the default).
    Policy1000,
    /// The same with `analytics: {enabled: false}`: what the analytics cost.
    Policy1000NoAnalytics,
    /// Envoy + native RBAC with the same 1,000 rules.
    Rbac1000,
    /// nginx + ModSecurity v3 + the same CRS at PL1, enforcing.
    ModSecurity,
}

impl Configuration {
    /// Every configuration, in table order.
    pub const ALL: [Configuration; 8] = [
        Configuration::EnvoyBare,
        Configuration::EnvoyEmptyWasm,
        Configuration::WafDetect,
        Configuration::WafEnforce,
        Configuration::Policy1000,
        Configuration::Policy1000NoAnalytics,
        Configuration::Rbac1000,
        Configuration::ModSecurity,
    ];

    /// Name in tables and the chart.
    pub fn label(self) -> &'static str {
        match self {
            Configuration::EnvoyBare => "Envoy",
            Configuration::EnvoyEmptyWasm => "Envoy + empty wasm",
            Configuration::WafDetect => "Envoy + WAF detect",
            Configuration::WafEnforce => "Envoy + WAF enforce",
            Configuration::Policy1000 => "Envoy + policy (1,000 rules)",
            Configuration::Policy1000NoAnalytics => "Envoy + policy, analytics off",
            Configuration::Rbac1000 => "Envoy + RBAC (1,000 rules)",
            Configuration::ModSecurity => "nginx + ModSecurity",
        }
    }

    /// True when the configuration refuses the SQLi request (403).
    pub fn blocks_attacks(self) -> bool {
        matches!(self, Configuration::WafEnforce | Configuration::ModSecurity)
    }

    /// True for the Envoy configurations.
    pub fn is_envoy(self) -> bool {
        self != Configuration::ModSecurity
    }

    /// True for the configurations running the meshward WAF.
    pub fn is_waf(self) -> bool {
        matches!(self, Configuration::WafDetect | Configuration::WafEnforce)
    }
}

/// The status the upstream's answer or the proxy's refusal has for `attack` requests.
pub fn expected_status(config: Configuration, attack: bool) -> u16 {
    if attack && config.blocks_attacks() {
        403
    } else {
        200
    }
}

/// The `.wasm` files the Envoy configurations load.
#[derive(Clone, Debug)]
pub struct WasmFiles {
    /// `meshward-fixture-empty`.
    pub empty: PathBuf,
    /// `meshward-waf`.
    pub waf: PathBuf,
    /// `meshward-netpolicy`.
    pub netpolicy: PathBuf,
}

impl WasmFiles {
    /// Finds the built filters (`cargo xtask wasm`).
    pub fn locate() -> Result<Self, LoadError> {
        let find = |name: &str| meshward_envoy::locate::wasm_file(name).map_err(|e| LoadError::Setup(format!("{e}")));
        Ok(WasmFiles {
            empty: find("meshward-fixture-empty")?,
            waf: find("meshward-waf")?,
            netpolicy: find("meshward-netpolicy")?,
        })
    }
}

/// Where the upstream listens: HTTP/1.1 and h2c (gRPC).
#[derive(Clone, Copy, Debug)]
pub struct UpstreamAddrs {
    /// HTTP/1.1.
    pub http1: SocketAddr,
    /// h2c with prior knowledge.
    pub h2c: SocketAddr,
}

/// The Envoy bootstrap of an Envoy configuration: one listener (HTTP/1.1 and h2c, Envoy's
/// automatic codec), gRPC routed to the upstream's h2c port, everything else to its HTTP/1.1
/// port. `None` for nginx.
pub fn envoy_bootstrap(
    config: Configuration,
    upstream: UpstreamAddrs,
    wasm: &WasmFiles,
) -> Result<Option<Value>, LoadError> {
    let base = EnvoyConfig::new(upstream.http1)
        .log_level("warning")
        .route("grpc", GRPC_PATH);
    let envoy = match config {
        Configuration::EnvoyBare => base,
        Configuration::EnvoyEmptyWasm => base.filter(wasm_filter(&wasm.empty, "")),
        Configuration::WafDetect => base.filter(wasm_filter(&wasm.waf, r#"{"mode":"detect"}"#)),
        Configuration::WafEnforce => base.filter(wasm_filter(&wasm.waf, r#"{"mode":"enforce"}"#)),
        Configuration::Policy1000 => base.filter(wasm_filter(&wasm.netpolicy, &policy_doc::document().to_string())),
        Configuration::Policy1000NoAnalytics => {
            let mut doc = policy_doc::document();
            doc["analytics"] = json!({ "enabled": false });
            base.filter(wasm_filter(&wasm.netpolicy, &doc.to_string()))
        }
        Configuration::Rbac1000 => meshward_envoy::rbac::translate(&policy_doc::document())?
            .into_iter()
            .fold(base, EnvoyConfig::native_filter),
        Configuration::ModSecurity => return Ok(None),
    };
    let mut doc = envoy.bootstrap();
    route_grpc_to_h2c(&mut doc, upstream.h2c)?;
    Ok(Some(doc))
}

fn wasm_filter(file: &Path, configuration: &str) -> WasmFilter {
    WasmFilter::new(file, configuration)
}

/// Points the route named `grpc` at a new HTTP/2 cluster `grpc` (the harness's bootstrap sends
/// every route to its HTTP/1.1 cluster).
pub fn route_grpc_to_h2c(doc: &mut Value, h2c: SocketAddr) -> Result<(), LoadError> {
    let missing = || LoadError::Setup("the Envoy bootstrap has no route named `grpc`".into());
    let hcm = &mut doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"];
    let routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
        .as_array_mut()
        .ok_or_else(missing)?;
    let route = routes.iter_mut().find(|r| r["name"] == "grpc").ok_or_else(missing)?;
    route["route"]["cluster"] = json!("grpc");
    let clusters = doc["static_resources"]["clusters"]
        .as_array_mut()
        .ok_or_else(|| LoadError::Setup("the Envoy bootstrap has no clusters".into()))?;
    clusters.push(json!({
        "name": "grpc",
        "connect_timeout": "1s",
        "type": "STATIC",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": { "http2_protocol_options": {} }
            }
        },
        "load_assignment": {
            "cluster_name": "grpc",
            "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": {
                "socket_address": { "address": h2c.ip().to_string(), "port_value": h2c.port() }
            } } }] }]
        }
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> WasmFiles {
        WasmFiles {
            empty: "/w/empty.wasm".into(),
            waf: "/w/waf.wasm".into(),
            netpolicy: "/w/netpolicy.wasm".into(),
        }
    }

    fn addrs() -> UpstreamAddrs {
        UpstreamAddrs {
            http1: "127.0.0.1:1001".parse().unwrap(),
            h2c: "127.0.0.1:1002".parse().unwrap(),
        }
    }

    fn filters(doc: &Value) -> Vec<String> {
        doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let wasm = &f["typed_config"]["config"];
                match wasm["vm_config"]["code"]["local"]["filename"].as_str() {
                    Some(file) => format!("{file} {}", wasm["configuration"]["value"].as_str().unwrap().len()),
                    None => f["name"].as_str().unwrap().to_string(),
                }
            })
            .collect()
    }

    fn bootstrap(config: Configuration) -> Value {
        envoy_bootstrap(config, addrs(), &files()).unwrap().unwrap()
    }

    #[test]
    fn each_envoy_configuration_has_its_filters_before_the_router() {
        assert_eq!(
            filters(&bootstrap(Configuration::EnvoyBare)),
            ["envoy.filters.http.router"]
        );
        assert_eq!(
            filters(&bootstrap(Configuration::EnvoyEmptyWasm)),
            ["/w/empty.wasm 0", "envoy.filters.http.router"]
        );
        for (config, mode) in [
            (Configuration::WafDetect, "detect"),
            (Configuration::WafEnforce, "enforce"),
        ] {
            let doc = bootstrap(config);
            let wasm = &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
                ["http_filters"][0]["typed_config"]["config"];
            assert_eq!(wasm["configuration"]["value"], format!(r#"{{"mode":"{mode}"}}"#));
            assert_eq!(wasm["vm_config"]["code"]["local"]["filename"], "/w/waf.wasm");
        }
        let policy = filters(&bootstrap(Configuration::Policy1000));
        assert_eq!(policy.len(), 2);
        assert!(policy[0].starts_with("/w/netpolicy.wasm "));
        let rbac = filters(&bootstrap(Configuration::Rbac1000));
        assert_eq!(rbac.last().map(String::as_str), Some("envoy.filters.http.router"));
        assert!(rbac[..rbac.len() - 1].iter().all(|f| f == "envoy.filters.http.rbac"));
        assert!(envoy_bootstrap(Configuration::ModSecurity, addrs(), &files())
            .unwrap()
            .is_none());
    }

    #[test]
    fn grpc_goes_to_the_h2c_cluster_and_the_rest_to_http1() {
        let doc = bootstrap(Configuration::EnvoyBare);
        let routes = &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
            ["route_config"]["virtual_hosts"][0]["routes"];
        assert_eq!(routes[0]["match"]["prefix"], GRPC_PATH);
        assert_eq!(routes[0]["route"]["cluster"], "grpc");
        assert_eq!(routes[1]["route"]["cluster"], "upstream");
        let clusters = doc["static_resources"]["clusters"].as_array().unwrap();
        let grpc = clusters.iter().find(|c| c["name"] == "grpc").unwrap();
        assert_eq!(
            grpc["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
                ["port_value"],
            1002
        );
        assert!(grpc["typed_extension_protocol_options"]
            .to_string()
            .contains("http2_protocol_options"));
    }

    #[test]
    fn only_enforcing_wafs_expect_a_refusal() {
        assert_eq!(expected_status(Configuration::WafEnforce, true), 403);
        assert_eq!(expected_status(Configuration::ModSecurity, true), 403);
        assert_eq!(expected_status(Configuration::WafDetect, true), 200);
        assert_eq!(expected_status(Configuration::ModSecurity, false), 200);
        assert_eq!(Configuration::ALL.iter().filter(|c| !c.is_envoy()).count(), 1);
    }
}
