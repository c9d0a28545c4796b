//! Validation of a document and its compilation into clauses and field indexes.
//!
//! A rule `from: [F1, F2], to: [T1]` becomes the clauses F1∧T1 and F2∧T1 (each with the rule's
//! `when`), numbered in policy then rule order. Indexes over host, path, method, port, principal
//! and namespace pick the candidate clauses; candidates are then checked in full.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;
use meshward_vocab::Mode;
use regex::Regex;

use crate::error::{Location, PolicyError};
use crate::index::FieldIndex;
use crate::jwt::{self, PrincipalPattern};
use crate::model::{self, Action, Direction, HeaderMatch, PolicyDocument, PortValue};
use crate::pattern::{parse_block, regex_literal_prefix, HostPattern, PathPattern, StrPattern};

/// Upper bound on clauses (from × to products) in one document.
pub const MAX_CLAUSES: usize = 200_000;

/// A validated policy.
#[derive(Debug)]
pub struct CompiledPolicy {
    /// Name.
    pub name: String,
    /// Action.
    pub action: Action,
    /// Effective mode (own or the document's).
    pub mode: Mode,
}

/// One conjunction: a source, an operation and the rule's conditions.
#[derive(Debug)]
pub struct Clause {
    /// Policy index.
    pub policy: usize,
    /// Rule index in the policy.
    pub rule: usize,
    /// Index into `sources`.
    pub source: Option<usize>,
    /// Index into `operations`.
    pub operation: Option<usize>,
    /// Index into `conditions` (the rule's `when`).
    pub when: usize,
    /// Multi-value quantifier: every value must match (ALLOW) or any (DENY/AUDIT).
    pub all_values: bool,
}

type Pats = Option<Vec<StrPattern>>;

/// A compiled `from` entry.
#[derive(Debug, Default)]
pub struct CSource {
    /// Principals the caller must have one of (`spiffe://` stripped).
    pub principals: Pats,
    /// Principals the caller must have none of.
    pub not_principals: Pats,
    /// Namespaces the caller must be in one of.
    pub namespaces: Pats,
    /// Namespaces the caller must be in none of.
    pub not_namespaces: Pats,
    /// `ns/sa` service accounts the caller must be one of.
    pub service_accounts: Pats,
    /// Service accounts the caller must be none of.
    pub not_service_accounts: Pats,
    /// Trust domains the caller must belong to one of.
    pub trust_domains: Pats,
    /// Trust domains the caller must belong to none of.
    pub not_trust_domains: Pats,
    /// JWT request principals the verified token must match one of.
    pub request_principals: Option<Vec<PrincipalPattern>>,
    /// JWT request principals the verified token must match none of.
    pub not_request_principals: Option<Vec<PrincipalPattern>>,
    /// Blocks the direct peer address must be in one of.
    pub ip_blocks: Option<Vec<IpNet>>,
    /// Blocks the direct peer address must be in none of.
    pub not_ip_blocks: Option<Vec<IpNet>>,
    /// Blocks the client (X-Forwarded-For) address must be in one of.
    pub remote_ip_blocks: Option<Vec<IpNet>>,
    /// Blocks the client address must be in none of.
    pub not_remote_ip_blocks: Option<Vec<IpNet>>,
}

/// A compiled header matcher.
#[derive(Debug)]
pub enum HeaderMatcher {
    /// Value equals.
    Exact(String),
    /// Value starts with.
    Prefix(String),
    /// Value ends with.
    Suffix(String),
    /// Value contains.
    Contains(String),
    /// Value matches the regex (search).
    Regex(Regex),
    /// Header present (true) or absent (false).
    Present(bool),
}

impl HeaderMatcher {
    /// Whether one value matches (presence matchers are handled by the caller).
    pub fn matches_value(&self, v: &str) -> bool {
        match self {
            HeaderMatcher::Exact(s) => v == s,
            HeaderMatcher::Prefix(s) => v.starts_with(s.as_str()),
            HeaderMatcher::Suffix(s) => v.ends_with(s.as_str()),
            HeaderMatcher::Contains(s) => v.contains(s.as_str()),
            HeaderMatcher::Regex(r) => r.is_match(v),
            HeaderMatcher::Present(_) => true,
        }
    }
}

/// A compiled `to` entry.
#[derive(Debug, Default)]
pub struct COperation {
    /// Hosts (authority) the request must name one of.
    pub hosts: Option<Vec<HostPattern>>,
    /// Hosts the request must name none of.
    pub not_hosts: Option<Vec<HostPattern>>,
    /// Destination ports, one of which must match.
    pub ports: Option<Vec<u16>>,
    /// Destination ports that must not match.
    pub not_ports: Option<Vec<u16>>,
    /// Methods (uppercased), one of which must match.
    pub methods: Option<Vec<String>>,
    /// Methods that must not match.
    pub not_methods: Option<Vec<String>>,
    /// Path patterns, one of which must match the normalized path.
    pub paths: Option<Vec<PathPattern>>,
    /// Path patterns that must not match.
    pub not_paths: Option<Vec<PathPattern>>,
    /// Path regexes (search), one of which must match.
    pub path_regex: Option<Vec<Regex>>,
    /// Path regexes that must not match.
    pub not_path_regex: Option<Vec<Regex>>,
    /// Header matchers by lowercased name, all of which must hold.
    pub headers: Vec<(String, HeaderMatcher)>,
    /// Header matchers by lowercased name, none of which may hold.
    pub not_headers: Vec<(String, HeaderMatcher)>,
    /// TLS SNI values, one of which must match.
    pub sni: Option<Vec<HostPattern>>,
    /// SNI values that must not match.
    pub not_sni: Option<Vec<HostPattern>>,
    /// Listener direction the operation applies to.
    pub direction: Option<Direction>,
    /// Whether the destination must be outside the mesh (true) or inside (false).
    pub internet: Option<bool>,
}

/// The property a `when` condition reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondKey {
    /// `request.headers[name]`, name lowercased.
    Header(String),
    /// `request.method`.
    Method,
    /// `request.host`.
    Host,
    /// `request.path`.
    Path,
    /// `source.ip`: the direct peer address.
    SourceIp,
    /// `remote.ip`: the client address from X-Forwarded-For.
    RemoteIp,
    /// `destination.ip`.
    DestinationIp,
    /// `destination.port`.
    DestinationPort,
    /// `source.principal`.
    Principal,
    /// `source.namespace`.
    Namespace,
    /// `source.serviceAccount`.
    ServiceAccount,
    /// `source.trustDomain`.
    TrustDomain,
    /// `connection.sni`.
    Sni,
    /// `connection.mtls`: `"true"` or `"false"`.
    Mtls,
    /// `xds.route_name`.
    RouteName,
    /// `xds.cluster_name`.
    ClusterName,
    /// `request.auth.principal`: `<iss>/<sub>` of the verified JWT.
    RequestPrincipal,
    /// `request.auth.audiences`: the verified JWT's `aud` claim.
    Audiences,
    /// `request.auth.presenter`: the verified JWT's `azp` claim.
    Presenter,
    /// `request.auth.claims[a][b]...`: a claim of the verified JWT, by path.
    Claim(Vec<String>),
}

impl CondKey {
    fn parse(key: &str) -> Option<CondKey> {
        if let Some(name) = key.strip_prefix("request.headers[").and_then(|r| r.strip_suffix(']')) {
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return None;
            }
            return Some(CondKey::Header(name.to_ascii_lowercase()));
        }
        if key.starts_with("request.auth.claims") {
            return jwt::parse_claim_key(key).map(CondKey::Claim);
        }
        Some(match key {
            "request.method" => CondKey::Method,
            "request.host" => CondKey::Host,
            "request.path" => CondKey::Path,
            "source.ip" => CondKey::SourceIp,
            "remote.ip" => CondKey::RemoteIp,
            "destination.ip" => CondKey::DestinationIp,
            "destination.port" => CondKey::DestinationPort,
            "source.principal" => CondKey::Principal,
            "source.namespace" => CondKey::Namespace,
            "source.serviceAccount" => CondKey::ServiceAccount,
            "source.trustDomain" => CondKey::TrustDomain,
            "connection.sni" => CondKey::Sni,
            "connection.mtls" => CondKey::Mtls,
            "xds.route_name" => CondKey::RouteName,
            "xds.cluster_name" => CondKey::ClusterName,
            "request.auth.principal" => CondKey::RequestPrincipal,
            "request.auth.audiences" => CondKey::Audiences,
            "request.auth.presenter" => CondKey::Presenter,
            _ => return None,
        })
    }

    fn is_ip(&self) -> bool {
        matches!(self, CondKey::SourceIp | CondKey::RemoteIp | CondKey::DestinationIp)
    }

    /// Whether the key reads the verified JWT.
    pub fn is_jwt(&self) -> bool {
        matches!(
            self,
            CondKey::RequestPrincipal | CondKey::Audiences | CondKey::Presenter | CondKey::Claim(_)
        )
    }
}

/// Values of a condition: string patterns or IP blocks.
#[derive(Debug)]
pub enum CondValues {
    /// Patterns for string-valued keys.
    Strings(Vec<StrPattern>),
    /// Address blocks for IP-valued keys.
    Blocks(Vec<IpNet>),
    /// `<iss>/<sub>` patterns for `request.auth.principal`.
    Principals(Vec<PrincipalPattern>),
}

/// A compiled `when` entry.
#[derive(Debug)]
pub struct CCondition {
    /// The property read.
    pub key: CondKey,
    /// The property must match one of these.
    pub values: Option<CondValues>,
    /// The property must match none of these.
    pub not_values: Option<CondValues>,
}

/// Mesh boundary for Internet classification.
#[derive(Debug, Default)]
pub struct CMesh {
    /// Mesh address ranges.
    pub cidrs: Vec<IpNet>,
    /// Suffixes (from `.x` or `*.x`), matched as `name == x || name.ends_with(".x")`.
    pub suffixes: Vec<String>,
    /// Exact mesh names (lowercased, no trailing dot).
    pub exact: Vec<String>,
}

impl CMesh {
    /// Whether a destination name is inside (single-label names resolve in-cluster).
    pub fn name_inside(&self, name: &str) -> bool {
        !name.contains('.')
            || self.exact.iter().any(|e| e == name)
            || self
                .suffixes
                .iter()
                .any(|s| name == &s[1..] || name.ends_with(s.as_str()))
    }
}

/// Everything the engine evaluates, built once at configure time.
#[derive(Debug)]
pub struct Compiled {
    /// The document's default mode.
    pub doc_mode: Mode,
    /// Decision when no ALLOW policy applies.
    pub posture: model::Posture,
    /// Listener direction when Envoy does not say.
    pub direction: Option<Direction>,
    /// Trusted proxies appending to X-Forwarded-For.
    pub trusted_proxy_hops: u32,
    /// Path normalization settings.
    pub normalization: model::Normalization,
    /// Mesh boundary, when the document has one.
    pub mesh: Option<CMesh>,
    /// Whether any clause reads the verified JWT (so the caller fetches it only then).
    pub uses_jwt: bool,
    /// Policies in document order (indexed by `Clause::policy`).
    pub policies: Vec<CompiledPolicy>,
    /// Every from×to clause, in policy then rule order.
    pub clauses: Vec<Clause>,
    /// Compiled `from` entries (indexed by `Clause::source`).
    pub sources: Vec<CSource>,
    /// Compiled `to` entries (indexed by `Clause::operation`).
    pub operations: Vec<COperation>,
    /// Each rule's `when` (indexed by `Clause::when`).
    pub conditions: Vec<Vec<CCondition>>,
    /// Some ALLOW policy is in `enforce` mode.
    pub has_allow_enforce: bool,
    /// Some ALLOW policy is in `detect` mode.
    pub has_allow_detect: bool,
    /// Candidate clauses by host.
    pub host_index: FieldIndex,
    /// Candidate clauses by normalized path.
    pub path_index: FieldIndex,
    /// Candidate clauses by method.
    pub method_index: FieldIndex,
    /// Candidate clauses by destination port.
    pub port_index: FieldIndex,
    /// Candidate clauses by caller principal.
    pub principal_index: FieldIndex,
    /// Candidate clauses by caller namespace.
    pub namespace_index: FieldIndex,
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Builds validation errors with the current policy/rule/field.
struct Ctx<'a> {
    policy: Option<&'a str>,
    rule: Option<usize>,
}

impl Ctx<'_> {
    fn err(&self, field: impl Into<String>, reason: impl Into<String>) -> PolicyError {
        PolicyError::invalid(
            Location {
                policy: self.policy.map(str::to_string),
                rule: self.rule,
                field: field.into(),
                line: None,
            },
            reason,
        )
    }

    fn list<'v, T>(&self, field: &str, values: &'v Option<Vec<T>>) -> Result<Option<&'v [T]>, PolicyError> {
        match values {
            None => Ok(None),
            Some(v) if v.is_empty() => Err(self.err(field, "empty list: omit the field instead")),
            Some(v) => Ok(Some(v)),
        }
    }

    fn strs(
        &self,
        field: &str,
        values: &Option<Vec<String>>,
        map: impl Fn(&str) -> String,
    ) -> Result<Pats, PolicyError> {
        self.parsed(field, values, |v| StrPattern::parse(&map(v)))
    }

    fn blocks(&self, field: &str, values: &Option<Vec<String>>) -> Result<Option<Vec<IpNet>>, PolicyError> {
        let Some(list) = self.list(field, values)? else {
            return Ok(None);
        };
        list.iter()
            .enumerate()
            .map(|(i, v)| parse_block(v).map_err(|e| self.err(format!("{field}[{i}]"), e)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn hosts(
        &self,
        field: &str,
        values: &Option<Vec<String>>,
        allow_port: bool,
    ) -> Result<Option<Vec<HostPattern>>, PolicyError> {
        let Some(list) = self.list(field, values)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for (i, v) in list.iter().enumerate() {
            let h = HostPattern::parse(v).map_err(|e| self.err(format!("{field}[{i}]"), e))?;
            if h.port.is_some() && !allow_port {
                return Err(self.err(format!("{field}[{i}]"), format!("`{v}`: no port allowed here")));
            }
            out.push(h);
        }
        Ok(Some(out))
    }

    fn ports(&self, field: &str, values: &Option<Vec<PortValue>>) -> Result<Option<Vec<u16>>, PolicyError> {
        let Some(list) = self.list(field, values)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for (i, v) in list.iter().enumerate() {
            let n = match v {
                PortValue::Number(n) => Some(*n),
                PortValue::Text(t) => t.parse::<u64>().ok(),
            };
            match n {
                Some(n @ 1..=65535) => out.push(n as u16),
                _ => return Err(self.err(format!("{field}[{i}]"), "a port is a number in 1..=65535")),
            }
        }
        Ok(Some(out))
    }

    fn methods(&self, field: &str, values: &Option<Vec<String>>) -> Result<Option<Vec<String>>, PolicyError> {
        let Some(list) = self.list(field, values)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for (i, v) in list.iter().enumerate() {
            if v.is_empty() || !v.bytes().all(is_token_byte) || v.contains('*') {
                return Err(self.err(format!("{field}[{i}]"), format!("`{v}` is not an HTTP method")));
            }
            out.push(v.to_ascii_uppercase());
        }
        Ok(Some(out))
    }

    /// Each value of a list parsed by `parse`; an error names the value's index.
    fn parsed<T>(
        &self,
        field: &str,
        values: &Option<Vec<String>>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<Vec<T>>, PolicyError> {
        let Some(list) = self.list(field, values)? else {
            return Ok(None);
        };
        list.iter()
            .enumerate()
            .map(|(i, v)| parse(v).map_err(|e| self.err(format!("{field}[{i}]"), e)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn paths(&self, field: &str, values: &Option<Vec<String>>) -> Result<Option<Vec<PathPattern>>, PolicyError> {
        self.parsed(field, values, PathPattern::parse)
    }

    fn regexes(&self, field: &str, values: &Option<Vec<String>>) -> Result<Option<Vec<Regex>>, PolicyError> {
        let Some(list) = self.list(field, values)? else {
            return Ok(None);
        };
        list.iter()
            .enumerate()
            .map(|(i, v)| Regex::new(v).map_err(|e| self.err(format!("{field}[{i}]"), format!("invalid regex: {e}"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn headers(
        &self,
        field: &str,
        values: &Option<BTreeMap<String, HeaderMatch>>,
    ) -> Result<Vec<(String, HeaderMatcher)>, PolicyError> {
        let Some(map) = values else { return Ok(Vec::new()) };
        if map.is_empty() {
            return Err(self.err(field, "empty map: omit the field instead"));
        }
        let mut out = Vec::new();
        for (name, m) in map {
            let f = format!("{field}.{name}");
            if name.is_empty() || !name.bytes().all(|b| is_token_byte(b) || b == b':') {
                return Err(self.err(&f, "invalid header name"));
            }
            let set = [
                m.exact.is_some(),
                m.prefix.is_some(),
                m.suffix.is_some(),
                m.contains.is_some(),
                m.regex.is_some(),
                m.present.is_some(),
            ];
            if set.iter().filter(|s| **s).count() != 1 {
                return Err(self.err(&f, "exactly one of exact, prefix, suffix, contains, regex, present"));
            }
            let matcher = if let Some(v) = &m.exact {
                HeaderMatcher::Exact(v.clone())
            } else if let Some(v) = &m.prefix {
                HeaderMatcher::Prefix(v.clone())
            } else if let Some(v) = &m.suffix {
                HeaderMatcher::Suffix(v.clone())
            } else if let Some(v) = &m.contains {
                HeaderMatcher::Contains(v.clone())
            } else if let Some(v) = &m.regex {
                HeaderMatcher::Regex(Regex::new(v).map_err(|e| self.err(&f, format!("invalid regex: {e}")))?)
            } else {
                HeaderMatcher::Present(m.present.unwrap_or(true))
            };
            out.push((name.to_ascii_lowercase(), matcher));
        }
        Ok(out)
    }

    fn principal_patterns(
        &self,
        field: &str,
        values: &Option<Vec<String>>,
    ) -> Result<Option<Vec<PrincipalPattern>>, PolicyError> {
        self.parsed(field, values, PrincipalPattern::parse)
    }

    fn cond_values(
        &self,
        field: &str,
        key: &CondKey,
        values: &Option<Vec<String>>,
    ) -> Result<Option<CondValues>, PolicyError> {
        let Some(list) = self.list(field, values)? else {
            return Ok(None);
        };
        if key.is_ip() {
            let b = self.blocks(field, values)?.unwrap_or_default();
            return Ok(Some(CondValues::Blocks(b)));
        }
        if *key == CondKey::RequestPrincipal {
            let p = self.principal_patterns(field, values)?.unwrap_or_default();
            return Ok(Some(CondValues::Principals(p)));
        }
        if *key == CondKey::Mtls && list.iter().any(|v| v != "true" && v != "false") {
            return Err(self.err(field, "connection.mtls values are \"true\" or \"false\""));
        }
        let map = |v: &str| match key {
            CondKey::Principal => strip_spiffe(v).to_string(),
            CondKey::Host | CondKey::Sni => v.to_ascii_lowercase(),
            CondKey::Method => v.to_ascii_uppercase(),
            _ => v.to_string(),
        };
        Ok(Some(CondValues::Strings(
            self.strs(field, values, map)?.unwrap_or_default(),
        )))
    }
}

/// Principals may be written with or without `spiffe://`.
pub fn strip_spiffe(p: &str) -> &str {
    p.strip_prefix("spiffe://").unwrap_or(p)
}

fn compile_source(c: &Ctx, field: &str, s: &model::Source) -> Result<CSource, PolicyError> {
    let f = |n: &str| format!("{field}.{n}");
    let out = CSource {
        principals: c.strs(&f("principals"), &s.principals, |v| strip_spiffe(v).to_string())?,
        not_principals: c.strs(&f("notPrincipals"), &s.not_principals, |v| strip_spiffe(v).to_string())?,
        namespaces: c.strs(&f("namespaces"), &s.namespaces, str::to_string)?,
        not_namespaces: c.strs(&f("notNamespaces"), &s.not_namespaces, str::to_string)?,
        service_accounts: c.strs(&f("serviceAccounts"), &s.service_accounts, str::to_string)?,
        not_service_accounts: c.strs(&f("notServiceAccounts"), &s.not_service_accounts, str::to_string)?,
        trust_domains: c.strs(&f("trustDomains"), &s.trust_domains, str::to_string)?,
        not_trust_domains: c.strs(&f("notTrustDomains"), &s.not_trust_domains, str::to_string)?,
        request_principals: c.principal_patterns(&f("requestPrincipals"), &s.request_principals)?,
        not_request_principals: c.principal_patterns(&f("notRequestPrincipals"), &s.not_request_principals)?,
        ip_blocks: c.blocks(&f("ipBlocks"), &s.ip_blocks)?,
        not_ip_blocks: c.blocks(&f("notIpBlocks"), &s.not_ip_blocks)?,
        remote_ip_blocks: c.blocks(&f("remoteIpBlocks"), &s.remote_ip_blocks)?,
        not_remote_ip_blocks: c.blocks(&f("notRemoteIpBlocks"), &s.not_remote_ip_blocks)?,
    };
    for (name, list) in [
        ("serviceAccounts", &s.service_accounts),
        ("notServiceAccounts", &s.not_service_accounts),
    ] {
        for (i, v) in list.iter().flatten().enumerate() {
            if v != "*" && !v.contains('/') {
                return Err(c.err(
                    format!("{field}.{name}[{i}]"),
                    format!("`{v}`: write `<namespace>/<service account>`"),
                ));
            }
        }
    }
    if *s == model::Source::default() {
        return Err(c.err(field, "empty source: omit `from` to match any source"));
    }
    Ok(out)
}

fn compile_operation(c: &Ctx, field: &str, o: &model::Operation, has_mesh: bool) -> Result<COperation, PolicyError> {
    let f = |n: &str| format!("{field}.{n}");
    if *o == model::Operation::default() {
        return Err(c.err(field, "empty operation: omit `to` to match any operation"));
    }
    if o.internet.is_some() && !has_mesh {
        return Err(c.err(f("internet"), "needs a `mesh` section with cidrs or domains"));
    }
    Ok(COperation {
        hosts: c.hosts(&f("hosts"), &o.hosts, true)?,
        not_hosts: c.hosts(&f("notHosts"), &o.not_hosts, true)?,
        ports: c.ports(&f("ports"), &o.ports)?,
        not_ports: c.ports(&f("notPorts"), &o.not_ports)?,
        methods: c.methods(&f("methods"), &o.methods)?,
        not_methods: c.methods(&f("notMethods"), &o.not_methods)?,
        paths: c.paths(&f("paths"), &o.paths)?,
        not_paths: c.paths(&f("notPaths"), &o.not_paths)?,
        path_regex: c.regexes(&f("pathRegex"), &o.path_regex)?,
        not_path_regex: c.regexes(&f("notPathRegex"), &o.not_path_regex)?,
        headers: c.headers(&f("headers"), &o.headers)?,
        not_headers: c.headers(&f("notHeaders"), &o.not_headers)?,
        sni: c.hosts(&f("sni"), &o.sni, false)?,
        not_sni: c.hosts(&f("notSni"), &o.not_sni, false)?,
        direction: o.direction,
        internet: o.internet,
    })
}

fn compile_conditions(c: &Ctx, when: &[model::Condition]) -> Result<Vec<CCondition>, PolicyError> {
    let mut out = Vec::new();
    for (i, w) in when.iter().enumerate() {
        let field = format!("when[{i}]");
        let key =
            CondKey::parse(&w.key).ok_or_else(|| c.err(format!("{field}.key"), format!("unknown key `{}`", w.key)))?;
        if w.values.is_none() && w.not_values.is_none() {
            return Err(c.err(&field, "needs `values` or `notValues`"));
        }
        let values = c.cond_values(&format!("{field}.values"), &key, &w.values)?;
        let not_values = c.cond_values(&format!("{field}.notValues"), &key, &w.not_values)?;
        out.push(CCondition {
            key,
            values,
            not_values,
        });
    }
    Ok(out)
}

fn compile_mesh(m: &model::Mesh) -> Result<CMesh, PolicyError> {
    let c = Ctx {
        policy: None,
        rule: None,
    };
    let mut out = CMesh::default();
    for (i, cidr) in m.cidrs.iter().enumerate() {
        out.cidrs
            .push(parse_block(cidr).map_err(|e| c.err(format!("mesh.cidrs[{i}]"), e))?);
    }
    for (i, d) in m.domains.iter().enumerate() {
        let d = d.to_ascii_lowercase();
        let d = d.strip_suffix('.').unwrap_or(&d);
        let body = d.trim_start_matches('*');
        if body.is_empty()
            || body == "."
            || !body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(c.err(format!("mesh.domains[{i}]"), format!("`{d}` is not a domain")));
        }
        if body.starts_with('.') {
            out.suffixes.push(body.to_string());
        } else {
            out.exact.push(body.to_string());
        }
    }
    for (i, td) in m.trust_domains.iter().enumerate() {
        if td.is_empty() || td.contains('/') {
            return Err(c.err(
                format!("mesh.trust_domains[{i}]"),
                format!("`{td}` is not a trust domain"),
            ));
        }
    }
    if out.cidrs.is_empty() && out.suffixes.is_empty() && out.exact.is_empty() {
        return Err(c.err("mesh", "needs cidrs or domains"));
    }
    Ok(out)
}

fn valid_policy_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Validates and compiles a document.
pub fn compile(doc: &PolicyDocument) -> Result<Compiled, PolicyError> {
    let mesh = doc.mesh.as_ref().map(compile_mesh).transpose()?;
    let mut policies = Vec::new();
    let mut clauses = Vec::new();
    let mut sources = Vec::new();
    let mut operations = Vec::new();
    let mut conditions = Vec::new();
    let mut names = HashSet::new();
    for (pi, p) in doc.policies.iter().enumerate() {
        let c = Ctx {
            policy: Some(&p.name),
            rule: None,
        };
        if !valid_policy_name(&p.name) {
            return Err(c.err(
                format!("policies[{pi}].name"),
                "a name is 1-64 characters of A-Z a-z 0-9 _ . -",
            ));
        }
        if !names.insert(p.name.as_str()) {
            return Err(c.err("name", "duplicate policy name"));
        }
        let mode = p.mode.unwrap_or(doc.mode).mode();
        policies.push(CompiledPolicy {
            name: p.name.clone(),
            action: p.action,
            mode,
        });
        for (ri, r) in p.rules.iter().enumerate() {
            let c = Ctx {
                policy: Some(&p.name),
                rule: Some(ri),
            };
            let src: Vec<Option<usize>> = if r.from.is_empty() {
                vec![None]
            } else {
                let mut v = Vec::new();
                for (i, s) in r.from.iter().enumerate() {
                    sources.push(compile_source(&c, &format!("from[{i}]"), s)?);
                    v.push(Some(sources.len() - 1));
                }
                v
            };
            let ops: Vec<Option<usize>> = if r.to.is_empty() {
                vec![None]
            } else {
                let mut v = Vec::new();
                for (i, o) in r.to.iter().enumerate() {
                    operations.push(compile_operation(&c, &format!("to[{i}]"), o, mesh.is_some())?);
                    v.push(Some(operations.len() - 1));
                }
                v
            };
            conditions.push(compile_conditions(&c, &r.when)?);
            let when = conditions.len() - 1;
            for s in &src {
                for o in &ops {
                    clauses.push(Clause {
                        policy: pi,
                        rule: ri,
                        source: *s,
                        operation: *o,
                        when,
                        all_values: p.action == Action::Allow,
                    });
                }
            }
            if clauses.len() > MAX_CLAUSES {
                return Err(c.err(
                    "from/to",
                    format!("more than {MAX_CLAUSES} from×to combinations in the document"),
                ));
            }
        }
    }
    let n = clauses.len();
    let mut host_index = FieldIndex::new(n);
    let mut path_index = FieldIndex::new(n);
    let mut method_index = FieldIndex::new(n);
    let mut port_index = FieldIndex::new(n);
    let mut principal_index = FieldIndex::new(n);
    let mut namespace_index = FieldIndex::new(n);
    for (i, cl) in clauses.iter().enumerate() {
        let op = cl.operation.map(|o| &operations[o]);
        match op.and_then(|o| o.hosts.as_ref()) {
            Some(hosts) => hosts.iter().for_each(|h| host_index.add_pattern(i, &h.name)),
            None => host_index.add_unconstrained(i),
        }
        match (
            op.and_then(|o| o.paths.as_ref()),
            op.and_then(|o| o.path_regex.as_ref()),
        ) {
            (Some(paths), _) => {
                for p in paths {
                    match p {
                        PathPattern::Str(s) => path_index.add_pattern(i, s),
                        // The longer literal end narrows best; the regex is checked afterwards.
                        PathPattern::Template { prefix, suffix, .. } if suffix.len() > prefix.len() => {
                            path_index.add_pattern(i, &StrPattern::Suffix(suffix.clone()))
                        }
                        PathPattern::Template { prefix, .. } => {
                            path_index.add_pattern(i, &StrPattern::Prefix(prefix.clone()))
                        }
                    }
                }
            }
            (None, Some(res)) => {
                for r in res {
                    match regex_literal_prefix(r.as_str()) {
                        Some(p) => path_index.add_pattern(i, &StrPattern::Prefix(p.into())),
                        None => path_index.add_regex(i, r.as_str()),
                    }
                }
            }
            (None, None) => path_index.add_unconstrained(i),
        }
        match op.and_then(|o| o.methods.as_ref()) {
            Some(ms) => ms
                .iter()
                .for_each(|m| method_index.add_pattern(i, &StrPattern::Exact(m.as_str().into()))),
            None => method_index.add_unconstrained(i),
        }
        match op.and_then(|o| o.ports.as_ref()) {
            Some(ps) => ps
                .iter()
                .for_each(|p| port_index.add_pattern(i, &StrPattern::Exact(p.to_string().into()))),
            None => port_index.add_unconstrained(i),
        }
        let src = cl.source.map(|s| &sources[s]);
        match src.and_then(|s| s.principals.as_ref()) {
            Some(ps) => ps.iter().for_each(|p| principal_index.add_pattern(i, p)),
            None => principal_index.add_unconstrained(i),
        }
        match src.and_then(|s| s.namespaces.as_ref()) {
            Some(ns) => ns.iter().for_each(|p| namespace_index.add_pattern(i, p)),
            None => namespace_index.add_unconstrained(i),
        }
    }
    for ix in [
        &mut host_index,
        &mut path_index,
        &mut method_index,
        &mut port_index,
        &mut principal_index,
        &mut namespace_index,
    ] {
        ix.finish().map_err(|e| {
            Ctx {
                policy: None,
                rule: None,
            }
            .err("paths", format!("regex set: {e}"))
        })?;
    }
    let has = |mode| {
        policies
            .iter()
            .any(|p: &CompiledPolicy| p.action == Action::Allow && p.mode == mode)
    };
    let uses_jwt = sources
        .iter()
        .any(|s| s.request_principals.is_some() || s.not_request_principals.is_some())
        || conditions.iter().flatten().any(|w| w.key.is_jwt());
    Ok(Compiled {
        uses_jwt,
        doc_mode: doc.mode.mode(),
        posture: doc.default,
        direction: doc.direction,
        trusted_proxy_hops: doc.trusted_proxy_hops,
        normalization: doc.normalization,
        mesh,
        has_allow_enforce: has(Mode::Enforce),
        has_allow_detect: has(Mode::Detect),
        policies,
        clauses,
        sources,
        operations,
        conditions,
        host_index,
        path_index,
        method_index,
        port_index,
        principal_index,
        namespace_index,
    })
}

/// Whether `ip` is inside the mesh CIDRs.
pub fn ip_inside(mesh: &CMesh, ip: IpAddr) -> bool {
    crate::pattern::in_blocks(&mesh.cidrs, ip)
}
