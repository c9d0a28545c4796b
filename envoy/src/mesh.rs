//! A two-sidecar mTLS mesh on 127.0.0.1 for end-to-end tests: a test CA that issues SPIFFE
//! identities (X.509 SVIDs with a URI SAN), and bootstraps for a client sidecar (plain HTTP in,
//! mTLS out) and a server sidecar (mTLS in, plain HTTP to the app).
//!
//! ```no_run
//! use meshward_envoy::mesh::{InboundTls, MeshCa, PathHandling, Sidecar};
//! use meshward_envoy::{Envoy, Upstream};
//! use std::time::Duration;
//! let ca = MeshCa::new("cluster.local")?;
//! let server_id = ca.issue("spiffe://cluster.local/ns/backend/sa/api")?;
//! let client_id = ca.issue("spiffe://cluster.local/ns/web/sa/frontend")?;
//! let app = Upstream::start()?;
//! let tls = InboundTls { identity: &server_id, trusted: &[&ca], optional_client_cert: false };
//! let server = Sidecar::new()
//!     .inbound("inbound", &tls, Vec::new(), PathHandling::EnvoyDefault, "app")
//!     .plain_cluster("app", app.addr());
//! let server = Envoy::start_bootstrap(&server.bootstrap(), "info", Duration::from_secs(20))?;
//! let client = Sidecar::new()
//!     .outbound("outbound", Vec::new(), &[("*", "backend")])
//!     .mtls_cluster("backend", server.addr(), Some(&client_id), &ca, &server_id.spiffe_id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::client::{self, Request, Response};
use crate::{Envoy, HarnessError, Upstream};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// Failures of the mesh test fixtures.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// rcgen refused to build a key or certificate.
    #[error("generating the certificate for {subject}: {source}")]
    Certificate {
        /// The certificate's subject (a trust domain or a SPIFFE ID).
        subject: String,
        /// rcgen's error.
        #[source]
        source: rcgen::Error,
    },
    /// Starting Envoy or an upstream failed.
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// A SPIFFE ID that is not `spiffe://<trust domain>/<path>`.
    #[error("{id:?} is not a SPIFFE ID (spiffe://<trust domain>/<path>)")]
    NotSpiffe {
        /// The ID as given.
        id: String,
    },
}

/// A test certificate authority for one SPIFFE trust domain.
pub struct MeshCa {
    /// The trust domain the CA issues identities in (e.g. `cluster.local`).
    pub trust_domain: String,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl MeshCa {
    /// A fresh self-signed CA (ECDSA P-256) for `trust_domain`.
    pub fn new(trust_domain: &str) -> Result<MeshCa, MeshError> {
        let fail = |source| MeshError::Certificate {
            subject: format!("CA of {trust_domain}"),
            source,
        };
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("meshward test CA {trust_domain}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().map_err(fail)?;
        let issuer = CertifiedIssuer::self_signed(params, key).map_err(fail)?;
        Ok(MeshCa {
            trust_domain: trust_domain.to_string(),
            issuer,
        })
    }

    /// The CA certificate (PEM), what peers put in their trusted CA bundle.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Issues an identity document for `spiffe_id`, usable as TLS client and server certificate.
    /// The ID may belong to another trust domain than the CA's (to test federation mistakes).
    pub fn issue(&self, spiffe_id: &str) -> Result<Svid, MeshError> {
        let trust_domain =
            spiffe_trust_domain(spiffe_id).ok_or_else(|| MeshError::NotSpiffe { id: spiffe_id.into() })?;
        let fail = |source| MeshError::Certificate {
            subject: spiffe_id.to_string(),
            source,
        };
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::OrganizationName, trust_domain);
        let uri = spiffe_id.to_string().try_into().map_err(fail)?;
        params.subject_alt_names = vec![SanType::URI(uri)];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(fail)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(fail)?;
        Ok(Svid {
            spiffe_id: spiffe_id.to_string(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The trust domain of a SPIFFE ID (`spiffe://td/path` → `td`).
pub fn spiffe_trust_domain(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("spiffe://")?;
    let (domain, path) = rest.split_once('/')?;
    (!domain.is_empty() && !path.is_empty()).then_some(domain)
}

/// A workload identity: its SPIFFE ID, certificate and private key (PEM).
#[derive(Clone, Debug)]
pub struct Svid {
    /// The identity, `spiffe://<trust domain>/<path>`.
    pub spiffe_id: String,
    /// Its certificate, signed by its trust domain's CA (PEM).
    pub cert_pem: String,
    /// Its private key (PEM).
    pub key_pem: String,
}

impl Svid {
    /// The certificate and key inline in the bootstrap (`inline_string` data sources): Envoy's
    /// scratch directory already holds the bootstrap, so no separate PEM files are needed.
    fn tls_certificate(&self) -> Value {
        json!({ "certificate_chain": { "inline_string": self.cert_pem }, "private_key": { "inline_string": self.key_pem } })
    }
}

fn trusted_ca(cas: &[&MeshCa]) -> Value {
    let bundle: String = cas.iter().map(|ca| ca.cert_pem()).collect::<Vec<_>>().join("\n");
    json!({ "inline_string": bundle })
}

/// How the HTTP connection manager treats request paths before filters see them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathHandling {
    /// Envoy's defaults: no normalization, slashes kept, encoded slashes unchanged.
    EnvoyDefault,
    /// Envoy's safest settings: `normalize_path`, `merge_slashes` and
    /// `path_with_escaped_slashes_action: REJECT_REQUEST`.
    Safest,
}

impl PathHandling {
    /// A short name for tables and messages.
    pub fn label(self) -> &'static str {
        match self {
            PathHandling::EnvoyDefault => "Envoy defaults",
            PathHandling::Safest => "normalize_path + merge_slashes + reject escaped slashes",
        }
    }

    fn apply(self, hcm: &mut Value) {
        if self == PathHandling::Safest {
            hcm["normalize_path"] = json!(true);
            hcm["merge_slashes"] = json!(true);
            hcm["path_with_escaped_slashes_action"] = json!("REJECT_REQUEST");
        }
    }
}

/// An `envoy.filters.http.wasm` filter entry running `wasm` with plugin configuration `configuration`.
pub fn wasm_http_filter(name: &str, wasm: &Path, configuration: &str) -> Value {
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": name,
                "root_id": format!("{name}_root"),
                "configuration": { "@type": "type.googleapis.com/google.protobuf.StringValue", "value": configuration },
                "vm_config": {
                    "vm_id": format!("{name}_vm"),
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": { "local": { "filename": wasm.to_string_lossy() } },
                }
            }
        }
    })
}

/// An `envoy.filters.http.rbac` filter entry with `rules` (an `envoy.config.rbac.v3.RBAC` object).
pub fn rbac_http_filter(rules: Value) -> Value {
    json!({
        "name": "envoy.filters.http.rbac",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC", "rules": rules }
    })
}

/// The TLS side of an inbound listener.
#[derive(Clone, Copy)]
pub struct InboundTls<'a> {
    /// The certificate the listener presents.
    pub identity: &'a Svid,
    /// The CAs client certificates are verified against.
    pub trusted: &'a [&'a MeshCa],
    /// Let callers without a client certificate in (to test unauthenticated callers).
    pub optional_client_cert: bool,
}

/// The bootstrap of one sidecar Envoy: named listeners and clusters, admin on a free port.
#[derive(Clone, Debug, Default)]
pub struct Sidecar {
    listeners: Vec<Value>,
    clusters: Vec<Value>,
}

/// Route timeout of every sidecar route.
const ROUTE_TIMEOUT: Duration = Duration::from_secs(10);

impl Sidecar {
    /// A sidecar with no listeners or clusters yet.
    pub fn new() -> Sidecar {
        Sidecar::default()
    }

    /// An inbound listener `name` (`traffic_direction: INBOUND`): TLS as `tls` says, then
    /// `http_filters` and the router to `cluster`.
    pub fn inbound(
        mut self,
        name: &str,
        tls: &InboundTls,
        http_filters: Vec<Value>,
        paths: PathHandling,
        cluster: &str,
    ) -> Sidecar {
        let mut listener = http_listener(name, http_filters, paths, &[("*", cluster)]);
        listener["traffic_direction"] = json!("INBOUND");
        listener["filter_chains"][0]["transport_socket"] = json!({
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
                "require_client_certificate": !tls.optional_client_cert,
                "common_tls_context": {
                    "tls_certificates": [tls.identity.tls_certificate()],
                    "validation_context": { "trusted_ca": trusted_ca(tls.trusted) }
                }
            }
        });
        self.listeners.push(listener);
        self
    }

    /// An outbound (plain HTTP, `traffic_direction: OUTBOUND`) listener `name`: `http_filters`, then the router choosing a cluster
    /// by `Host` (`routes`: a domain pattern and its cluster; Envoy prefers exact, then suffix, then `*`).
    pub fn outbound(mut self, name: &str, http_filters: Vec<Value>, routes: &[(&str, &str)]) -> Sidecar {
        let mut listener = http_listener(name, http_filters, PathHandling::EnvoyDefault, routes);
        listener["traffic_direction"] = json!("OUTBOUND");
        self.listeners.push(listener);
        self
    }

    /// A plain HTTP/1.1 cluster `name` with one endpoint.
    pub fn plain_cluster(mut self, name: &str, addr: SocketAddr) -> Sidecar {
        self.clusters.push(cluster(name, addr));
        self
    }

    /// A cluster `name` reached over mTLS: presents `identity` (none: TLS without a client
    /// certificate), verifies the server's certificate against `ca` and requires its URI SAN to
    /// be `server_id`.
    pub fn mtls_cluster(
        mut self,
        name: &str,
        addr: SocketAddr,
        identity: Option<&Svid>,
        ca: &MeshCa,
        server_id: &str,
    ) -> Sidecar {
        let mut c = cluster(name, addr);
        let certificates: Vec<Value> = identity.map(Svid::tls_certificate).into_iter().collect();
        c["transport_socket"] = json!({
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "common_tls_context": {
                    "tls_certificates": certificates,
                    "validation_context": {
                        "trusted_ca": trusted_ca(&[ca]),
                        "match_typed_subject_alt_names": [{ "san_type": "URI", "matcher": { "exact": server_id } }]
                    }
                }
            }
        });
        self.clusters.push(c);
        self
    }

    /// The bootstrap document (JSON is valid YAML for Envoy).
    pub fn bootstrap(&self) -> Value {
        json!({
            "admin": { "address": socket(SocketAddr::from(([127, 0, 0, 1], 0))) },
            "static_resources": { "listeners": self.listeners, "clusters": self.clusters },
        })
    }
}

fn http_listener(name: &str, http_filters: Vec<Value>, paths: PathHandling, routes: &[(&str, &str)]) -> Value {
    let mut filters = http_filters;
    filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
    }));
    let timeout = format!("{}s", ROUTE_TIMEOUT.as_secs());
    let virtual_hosts: Vec<Value> = routes
        .iter()
        .enumerate()
        .map(|(i, (domain, cluster))| {
            json!({
                "name": format!("vh{i}"),
                "domains": [domain],
                "routes": [{ "match": { "prefix": "/" }, "route": { "cluster": cluster, "timeout": timeout } }]
            })
        })
        .collect();
    let mut hcm = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": name,
        "route_config": { "name": format!("{name}_routes"), "virtual_hosts": virtual_hosts },
        "http_filters": filters,
    });
    paths.apply(&mut hcm);
    json!({
        "name": name,
        "address": socket(SocketAddr::from(([127, 0, 0, 1], 0))),
        "filter_chains": [{ "filters": [{ "name": "envoy.filters.network.http_connection_manager", "typed_config": hcm }] }]
    })
}

fn socket(addr: SocketAddr) -> Value {
    json!({ "socket_address": { "address": addr.ip().to_string(), "port_value": addr.port() } })
}

fn cluster(name: &str, addr: SocketAddr) -> Value {
    json!({
        "name": name,
        "connect_timeout": "2s",
        "type": "STATIC",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": socket(addr) } }] }]
        }
    })
}

/// The test mesh's identities: the `cluster.local` CA and a foreign trust domain's CA (both
/// trusted by the server sidecar, as in a federation), the server and three callers.
pub struct Identities {
    /// The mesh's own CA (`cluster.local`).
    pub ca: MeshCa,
    /// A federated trust domain's CA (`other.example`).
    pub foreign_ca: MeshCa,
    /// `spiffe://cluster.local/ns/backend/sa/api`, the server sidecar.
    pub server: Svid,
    /// `spiffe://cluster.local/ns/web/sa/frontend`.
    pub frontend: Svid,
    /// `spiffe://cluster.local/ns/evil/sa/intruder`.
    pub intruder: Svid,
    /// `spiffe://other.example/ns/web/sa/frontend`: same namespace and account, other trust domain.
    pub foreign: Svid,
}

impl Identities {
    /// Generates both CAs and the four identities.
    pub fn generate() -> Result<Identities, MeshError> {
        let ca = MeshCa::new("cluster.local")?;
        let foreign_ca = MeshCa::new("other.example")?;
        Ok(Identities {
            server: ca.issue("spiffe://cluster.local/ns/backend/sa/api")?,
            frontend: ca.issue("spiffe://cluster.local/ns/web/sa/frontend")?,
            intruder: ca.issue("spiffe://cluster.local/ns/evil/sa/intruder")?,
            foreign: foreign_ca.issue("spiffe://other.example/ns/web/sa/frontend")?,
            ca,
            foreign_ca,
        })
    }
}

/// Which workload a request through the client sidecar comes from (each has its own listener).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// [`Identities::frontend`].
    Frontend,
    /// [`Identities::intruder`].
    Intruder,
    /// [`Identities::foreign`].
    Foreign,
    /// TLS without a client certificate (refused unless [`MeshSpec::optional_client_cert`]).
    Anonymous,
}

impl Caller {
    /// Every caller that has an identity.
    pub const ALL: [Caller; 3] = [Caller::Frontend, Caller::Intruder, Caller::Foreign];

    /// The client sidecar listener that sends as this caller.
    pub fn listener(self) -> &'static str {
        match self {
            Caller::Frontend => "as-frontend",
            Caller::Intruder => "as-intruder",
            Caller::Foreign => "as-foreign",
            Caller::Anonymous => "as-anonymous",
        }
    }

    /// This caller's identity (none for [`Caller::Anonymous`]).
    pub fn svid(self, ids: &Identities) -> Option<&Svid> {
        match self {
            Caller::Frontend => Some(&ids.frontend),
            Caller::Intruder => Some(&ids.intruder),
            Caller::Foreign => Some(&ids.foreign),
            Caller::Anonymous => None,
        }
    }
}

/// The mesh domain the client sidecar sends over mTLS to the server sidecar; other hosts go
/// to the `internet` upstream in plain HTTP.
pub const MESH_DOMAIN_PATTERN: &str = "*.svc.cluster.local";

/// The server's host name inside the mesh.
pub const SERVER_HOST: &str = "api.backend.svc.cluster.local";

/// What to put in the two sidecars' filter chains.
#[derive(Clone, Debug)]
pub struct MeshSpec {
    /// HTTP filters of the server sidecar's inbound listener (before the router).
    pub server_filters: Vec<Value>,
    /// Path handling of the inbound listener.
    pub server_paths: PathHandling,
    /// HTTP filters of each client sidecar outbound listener (egress policy).
    pub client_filters: Vec<Value>,
    /// Let callers without a client certificate in (TLS still required), to test unauthenticated callers.
    pub optional_client_cert: bool,
    /// Send every host (not only the mesh domain) from the client sidecar to the server sidecar,
    /// for policies about arbitrary `Host` values.
    pub all_hosts_to_server: bool,
    /// Envoy's `-l` level for both.
    pub log_level: String,
}

impl MeshSpec {
    /// No filters, Envoy's default path handling, `info` logs.
    pub fn new() -> MeshSpec {
        MeshSpec {
            server_filters: Vec::new(),
            server_paths: PathHandling::EnvoyDefault,
            client_filters: Vec::new(),
            optional_client_cert: false,
            all_hosts_to_server: false,
            log_level: "info".into(),
        }
    }
}

impl Default for MeshSpec {
    fn default() -> Self {
        MeshSpec::new()
    }
}

/// Two running sidecars and their upstreams: callers → client sidecar → (mTLS) → server
/// sidecar → `app`; hosts outside the mesh domain go from the client sidecar to `internet`.
pub struct Mesh {
    /// The application behind the server sidecar.
    pub app: Upstream,
    /// Stands for every destination outside the mesh.
    pub internet: Upstream,
    /// The server sidecar: terminates mTLS, runs the server filters, routes to `app`.
    pub server: Envoy,
    /// The client sidecar: one listener per caller, runs the client filters, mTLS to `server`.
    pub client: Envoy,
}

impl Mesh {
    /// Starts the upstreams, the server sidecar, then the client sidecar (one listener per caller,
    /// [`Caller::Anonymous`] included).
    pub fn start(ids: &Identities, spec: &MeshSpec) -> Result<Mesh, MeshError> {
        let ready = Duration::from_secs(30);
        let app = Upstream::start()?;
        let internet = Upstream::start()?;
        let tls = InboundTls {
            identity: &ids.server,
            trusted: &[&ids.ca, &ids.foreign_ca],
            optional_client_cert: spec.optional_client_cert,
        };
        let server = Sidecar::new()
            .inbound("inbound", &tls, spec.server_filters.clone(), spec.server_paths, "app")
            .plain_cluster("app", app.addr());
        let server = Envoy::start_bootstrap(&server.bootstrap(), &spec.log_level, ready)?;
        let mut client = Sidecar::new().plain_cluster("internet", internet.addr());
        for caller in [Caller::Frontend, Caller::Intruder, Caller::Foreign, Caller::Anonymous] {
            let cluster = format!("mesh-{}", caller.listener());
            let other_hosts = if spec.all_hosts_to_server {
                cluster.as_str()
            } else {
                "internet"
            };
            client = client
                .outbound(
                    caller.listener(),
                    spec.client_filters.clone(),
                    &[(MESH_DOMAIN_PATTERN, &cluster), ("*", other_hosts)],
                )
                .mtls_cluster(
                    &cluster,
                    server.addr(),
                    caller.svid(ids),
                    &ids.ca,
                    &ids.server.spiffe_id,
                );
        }
        let client = Envoy::start_bootstrap(&client.bootstrap(), &spec.log_level, ready)?;
        Ok(Mesh {
            app,
            internet,
            server,
            client,
        })
    }

    /// Sends `request` from `caller` through the client sidecar.
    pub fn send(&self, caller: Caller, request: &Request) -> Result<Response, HarnessError> {
        client::send(self.client.listener(caller.listener())?, request)
    }

    /// Sends exactly `bytes` from `caller` through the client sidecar.
    pub fn send_raw(&self, caller: Caller, bytes: &[u8]) -> Result<Response, HarnessError> {
        client::send_raw(
            self.client.listener(caller.listener())?,
            bytes,
            false,
            client::DEFAULT_TIMEOUT,
        )
    }
}

/// Prefix of the netpolicy filter's decision-event log lines.
pub const EVENT_PREFIX: &str = meshward_vocab::Filter::Policy.event_prefix();

/// The netpolicy filter's decision events in `envoy`'s log, in order.
pub fn policy_events(envoy: &Envoy) -> Vec<Value> {
    envoy
        .wasm_logs()
        .iter()
        .filter_map(|l| l.message.strip_prefix(EVENT_PREFIX))
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect()
}

/// Waits until `envoy` logged at least `n` decision events (or `timeout`); returns them all.
pub fn wait_policy_events(envoy: &Envoy, n: usize, timeout: Duration) -> Vec<Value> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let events = policy_events(envoy);
        if events.len() >= n || std::time::Instant::now() >= deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

static ONE_MESH: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held while a test runs a mesh, so one test process runs at most one mesh (two Envoys) at a time.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    ONE_MESH.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_domain_of_spiffe_ids() {
        assert_eq!(
            spiffe_trust_domain("spiffe://cluster.local/ns/web/sa/frontend"),
            Some("cluster.local")
        );
        assert_eq!(spiffe_trust_domain("spiffe://cluster.local"), None);
        assert_eq!(spiffe_trust_domain("https://cluster.local/ns/web"), None);
    }

    #[test]
    fn issued_identity_is_pem_and_rejects_non_spiffe_ids() {
        let ca = MeshCa::new("cluster.local").expect("CA");
        let svid = ca.issue("spiffe://cluster.local/ns/web/sa/frontend").expect("SVID");
        assert!(svid.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(svid.key_pem.contains("PRIVATE KEY"));
        assert_ne!(svid.cert_pem, ca.cert_pem());
        assert!(matches!(ca.issue("web/frontend"), Err(MeshError::NotSpiffe { .. })));
    }

    #[test]
    fn safest_path_handling_sets_the_three_options() {
        let sidecar = Sidecar::new().outbound("out", Vec::new(), &[("*", "c")]);
        let mut hcm = json!({});
        PathHandling::Safest.apply(&mut hcm);
        assert_eq!(hcm["path_with_escaped_slashes_action"], "REJECT_REQUEST");
        let doc = sidecar.bootstrap();
        let out = &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"];
        assert!(out.get("normalize_path").is_none(), "outbound keeps Envoy's defaults");
    }
}
