//! Behaviour analytics in the filter, apart from the host calls: which entities a request names
//! (read once, at request headers), the observation the end of the stream hands the engine, the
//! alert lines and counters, the enforcement reply, and the shared-data names of the table.
//!
//! The table lives in Envoy shared data, one key per slot (`meshward.analytics.<slot>`), so
//! every VM of the proxy (one per worker) sees the same records. Every VM must fingerprint
//! entities with the same key, or one entity would land in different slots per VM: the key is
//! the configured one, else one random key per proxy kept in shared data under [`KEY_NAME`]
//! (see [`shared_key`]).

// The request path: a panic here traps the VM and fails every request it serves.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use meshward_abi::LogLevel;
use meshward_policy::analytics::{Alert, Detector, Enforcement, Entity, Observation};
use meshward_policy::model::Analytics as Settings;
use meshward_policy::Ruling;
use meshward_vocab::{EvidenceLevel, Filter};

use crate::plan::metric;

/// Shared-data name of the proxy's fingerprint key (when the document sets none).
pub const KEY_NAME: &str = "meshward.analytics.key";
/// Prefix of a table slot's shared-data name.
pub const SLOT_PREFIX: &str = "meshward.analytics.";
/// Prefix of an alert log line.
pub const ALERT_PREFIX: &str = "meshward.policy.alert ";
/// Alerts raised (all detectors); `alerts.<detector>` per detector.
pub const ALERTS: &str = "alerts";
/// Requests refused because an enforce-mode detector blocks one of their entities.
pub const ANALYTICS_BLOCKED: &str = "analytics_blocked";
/// Body of the 429 reply.
pub const THROTTLED_BODY: &str = "too many requests\n";

/// The shared-data name of table slot `slot`.
pub fn slot_key(slot: u32) -> String {
    format!("{SLOT_PREFIX}{slot}")
}

/// The counter names analytics adds (empty when it is off).
pub fn metric_names(settings: &Settings) -> Vec<String> {
    if !settings.enabled {
        return Vec::new();
    }
    let per_detector = Detector::ALL.map(|d| format!("{ALERTS}.{}", d.name()));
    [ALERTS.to_string(), ANALYTICS_BLOCKED.to_string()]
        .into_iter()
        .chain(per_detector)
        .map(|n| metric(&n))
        .collect()
}

/// A key (32 hex digits) from 128 random bits; all zeros (which the engine refuses) never
/// comes out.
pub fn key_from_entropy(bits: [u64; 2]) -> String {
    let [hi, lo] = bits;
    let lo = if hi == 0 && lo == 0 { 1 } else { lo };
    format!("{hi:016x}{lo:016x}")
}

/// What the VM does about the proxy's key when the document sets none: the stored one when a
/// VM already made it, else it stores its own and then reads back whichever key won.
///
/// Why read back: Envoy's shared data has no "set if absent" (a CAS of 0 sets
/// unconditionally), so two VMs configuring at the same instant may both write; the last write
/// stays and reading it back makes each VM adopt it. Only a VM that read back before a later
/// writer could keep another key; VMs configure one after another on the main thread in Envoy,
/// so in practice the first writer's key is the proxy's.
pub fn shared_key(
    mut load: impl FnMut() -> Option<Vec<u8>>,
    mut store: impl FnMut(&[u8]) -> bool,
    fresh: impl FnOnce() -> String,
) -> Option<String> {
    let valid = |b: Vec<u8>| String::from_utf8(b).ok().filter(|k| k.len() == 32);
    if let Some(k) = load().and_then(valid) {
        return Some(k);
    }
    let mine = fresh();
    if !store(mine.as_bytes()) {
        return None;
    }
    load().and_then(valid).or(Some(mine))
}

/// The request-side facts analytics needs, owned from request headers to the end of the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// Peer SPIFFE ID.
    pub principal: Option<String>,
    /// Client IP (per `trusted_proxy_hops`), else the peer's.
    pub client_ip: Option<String>,
    /// End user: verified JWT `sub`, else `user_header`, else `user_cookie`.
    pub user: Option<String>,
    /// The username a login attempt names (on `brute_force.endpoints` only).
    pub username: Option<String>,
    /// Uppercased method.
    pub method: String,
    /// Normalized, redacted path without query; `None` when normalization refused it.
    pub path: Option<String>,
    /// The host called, on egress.
    pub destination_host: Option<String>,
}

impl Seen {
    /// Reads the entities of a decided request. `headers` are the request headers (names
    /// lowercased); `jwt_sub` the verified token's `sub`, when a policy verified one.
    pub fn read(r: &Ruling<'_>, settings: &Settings, headers: &[(String, String)], jwt_sub: Option<&str>) -> Seen {
        let f = &r.facts;
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let user = jwt_sub
            .map(str::to_string)
            .or_else(|| settings.user_header.as_deref().and_then(header).map(str::to_string))
            .or_else(|| {
                let name = settings.user_cookie.as_deref()?;
                cookie(header("cookie")?, name).map(str::to_string)
            })
            .filter(|u| !u.is_empty());
        let path = f.path_normalized.as_deref().map(|p| r.redactor.text(p).into_owned());
        let on_login = path
            .as_deref()
            .is_some_and(|p| settings.engine.brute_force.endpoints.iter().any(|e| e == p));
        let username = match (on_login, &settings.username_header) {
            (false, _) => None,
            (true, Some(name)) => header(name).map(str::to_string),
            (true, None) => header("authorization").and_then(basic_auth_user),
        }
        .filter(|u| !u.is_empty());
        let source_ip = f.source.and_then(|s| meshward_policy::identity::split_address(s).0);
        let client_ip = f.remote_ip.or(source_ip);
        // A peer with a principal is that workload's own address (a pod IP): tracking it as a
        // client too would double every alert on the principal. A client behind trusted
        // proxies (an ingress gateway's principal) is someone else and stays.
        let client_ip = client_ip.filter(|ip| f.principal.is_none() || Some(*ip) != source_ip);
        Seen {
            principal: f.principal.map(str::to_string),
            client_ip: client_ip.map(|ip| ip.to_string()),
            user,
            username,
            method: f.method.clone(),
            path,
            destination_host: (f.direction == Some("egress"))
                .then(|| f.host.as_ref().map(|h| h.host.clone()))
                .flatten(),
        }
    }

    /// The entities a verdict checks (principal, client, user).
    pub fn entities(&self) -> Vec<Entity<'_>> {
        [
            self.principal.as_deref().map(Entity::Principal),
            self.client_ip.as_deref().map(Entity::Client),
            self.user.as_deref().map(Entity::User),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The finished request for the engine; `None` without a path (refused requests teach it
    /// nothing about endpoints).
    pub fn observation<'a>(
        &'a self,
        status: Option<u16>,
        response_bytes: u64,
        workload: Option<&'a str>,
    ) -> Option<Observation<'a>> {
        Some(Observation {
            principal: self.principal.as_deref(),
            client_ip: self.client_ip.as_deref(),
            user: self.user.as_deref(),
            username: self.username.as_deref(),
            method: &self.method,
            path: self.path.as_deref()?,
            path_template: None,
            status: status.unwrap_or(0),
            response_bytes,
            destination_host: self.destination_host.as_deref(),
            workload,
        })
    }
}

/// The value of cookie `name` in a `cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The user of an HTTP Basic `authorization` value (`Basic base64(user:password)`); the
/// password is never kept.
pub fn basic_auth_user(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(token.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, _password) = text.split_once(':')?;
    Some(user.to_string())
}

/// Standard base64 (padding optional); `None` on any other character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.trim_end_matches('=').bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The log lines and counters of the alerts one request raised (lines at the evidence level).
pub fn alert_output(alerts: &[Alert], evidence: EvidenceLevel) -> (Vec<(LogLevel, String)>, Vec<String>) {
    let level = evidence.log_level();
    let lines = alerts
        .iter()
        .map(|a| (level, format!("{ALERT_PREFIX}{}", a.to_json())))
        .collect();
    let counters = alerts
        .iter()
        .flat_map(|a| [metric(ALERTS), metric(&format!("{ALERTS}.{}", a.detector.name()))])
        .collect();
    (lines, counters)
}

/// The local reply of an enforcement: 429 or 403 (the detector's `action.status`).
pub fn enforcement_reply(e: &Enforcement) -> (u16, &'static str) {
    match e.status {
        429 => (429, THROTTLED_BODY),
        s => (s, crate::plan::DENY_BODY),
    }
}

/// The line logged when an enforcement refuses a request (the alert already told why).
pub fn enforcement_line(e: &Enforcement) -> String {
    Filter::Policy.message(format_args!(
        "analytics: {} blocks this {} until {} (status {})",
        e.detector.name(),
        e.entity_kind.name(),
        meshward_policy::analytics::time::rfc3339(e.until_ms),
        e.status
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meshward_policy::{Engine, Request};

    #[test]
    fn basic_auth_and_cookies_are_read_and_garbage_is_none() {
        // "alice:secret"
        assert_eq!(basic_auth_user("Basic YWxpY2U6c2VjcmV0").as_deref(), Some("alice"));
        assert_eq!(basic_auth_user("basic YWxpY2U6c2VjcmV0").as_deref(), Some("alice"));
        assert_eq!(basic_auth_user("Bearer YWxpY2U6c2VjcmV0"), None);
        assert_eq!(basic_auth_user("Basic !!!"), None);
        assert_eq!(basic_auth_user("Basic YWxpY2U="), None, "no colon");
        assert_eq!(cookie("a=1; user=bob; c=3", "user"), Some("bob"));
        assert_eq!(cookie("a=1", "user"), None);
    }

    #[test]
    fn keys_are_hex_and_never_zero_and_the_stored_one_wins() {
        assert_eq!(key_from_entropy([1, 2]), "00000000000000010000000000000002");
        assert_eq!(key_from_entropy([0, 0]), "00000000000000000000000000000001");
        let stored = "ffffffffffffffffffffffffffffffff".to_string();
        let got = shared_key(
            || Some(stored.clone().into_bytes()),
            |_| panic!("no write"),
            || "x".into(),
        );
        assert_eq!(got.as_deref(), Some(stored.as_str()));
        // Absent: written, then the stored value (another VM's, here) is adopted.
        let mut cell: Option<Vec<u8>> = None;
        let mut writes = 0;
        let other = "0123456789abcdef0123456789abcdef";
        let got = shared_key(
            || cell.clone(),
            |_| {
                writes += 1;
                true
            },
            || other.to_string(),
        );
        assert_eq!((got.as_deref(), writes), (Some(other), 1));
        cell = None;
        assert_eq!(shared_key(|| cell.clone(), |_| false, || other.to_string()), None);
    }

    #[test]
    fn a_request_names_its_entities() {
        let doc = "analytics: {user_header: x-user}\n";
        let e = Engine::from_text(doc).unwrap();
        let headers = vec![
            ("x-user".to_string(), "carol".to_string()),
            ("authorization".to_string(), "Basic YWxpY2U6c2VjcmV0".to_string()),
        ];
        let req = |path| Request {
            method: "POST",
            path,
            authority: "shop.example",
            headers: &headers,
            source_address: Some("192.0.2.7:4000"),
            ..Request::default()
        };
        let r = e.decide(&req("/login?next=/"));
        let seen = Seen::read(&r, e.analytics(), &headers, None);
        assert_eq!(seen.client_ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(seen.user.as_deref(), Some("carol"));
        assert_eq!(seen.username.as_deref(), Some("alice"), "Basic auth on /login");
        assert_eq!(seen.path.as_deref(), Some("/login"));
        assert_eq!(seen.entities(), [Entity::Client("192.0.2.7"), Entity::User("carol")]);
        let obs = seen.observation(Some(401), 10, Some("shop")).unwrap();
        assert_eq!((obs.status, obs.method, obs.workload), (401, "POST", Some("shop")));
        let r = e.decide(&req("/other"));
        let seen = Seen::read(&r, e.analytics(), &headers, Some("sub-1"));
        assert_eq!(seen.username, None, "not an auth endpoint");
        assert_eq!(seen.user.as_deref(), Some("sub-1"), "a verified sub wins");
    }

    #[test]
    fn a_peer_with_a_principal_is_not_also_a_client_unless_behind_trusted_proxies() {
        let headers = vec![("x-forwarded-for".to_string(), "203.0.113.9".to_string())];
        let req = Request {
            method: "GET",
            path: "/products/1",
            authority: "shop.example",
            headers: &headers,
            source_address: Some("10.0.0.7:4000"),
            mtls: true,
            peer_uri_san: Some("spiffe://cluster.local/ns/web/sa/frontend"),
            ..Request::default()
        };
        let direct = Engine::from_text("analytics: {}\n").unwrap();
        let seen = Seen::read(&direct.decide(&req), direct.analytics(), &headers, None);
        assert_eq!(
            seen.entities(),
            [Entity::Principal("spiffe://cluster.local/ns/web/sa/frontend")]
        );
        let gateway = Engine::from_text("trusted_proxy_hops: 1\nanalytics: {}\n").unwrap();
        let seen = Seen::read(&gateway.decide(&req), gateway.analytics(), &headers, None);
        assert_eq!(
            seen.entities(),
            [
                Entity::Principal("spiffe://cluster.local/ns/web/sa/frontend"),
                Entity::Client("203.0.113.9")
            ]
        );
    }
}
