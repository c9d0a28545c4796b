//! Evaluation: Istio's order (DENY, then ALLOW, then the default posture), twice — with the
//! enforce-mode policies only and with every policy (detect-mode ones too) — over the clauses
//! the indexes select.

use std::borrow::Cow;
use std::net::IpAddr;

use meshward_redact::Redactor;
use meshward_vocab::{Decision, EvidenceLevel, Mode};

use crate::compile::{self, CCondition, COperation, CSource, Clause, Compiled, CondKey, CondValues, HeaderMatcher};
use crate::deprecated::{self, Deprecated};
use crate::error::{Location, PolicyError};
use crate::identity::{self, Peer};
use crate::index::BitSet;
use crate::jwt::PrincipalPattern;
use crate::model::{Action, Analytics, Backend, Observe, PolicyDocument, Posture};
use crate::normalize::{normalize_authority, normalize_path, HostPort};
use crate::pattern::{in_blocks, StrPattern};
use crate::reading::{self, Reading};
use crate::request::Request;
use crate::ruling::{Facts, Matched, Outcome, Ruling};

/// Status of a blocked request.
pub const DENY_STATUS: u16 = 403;
/// Status of a request refused by normalization.
pub const INVALID_STATUS: u16 = 400;

/// The verified JWT claims.
type JwtPayload = serde_json::Map<String, serde_json::Value>;

/// A compiled policy document, ready to decide requests.
#[derive(Debug)]
pub struct Engine {
    c: Compiled,
    /// The document as a case-insensitive backend applies it (path patterns lowercased, path
    /// regexes case-insensitive), for the readings that fold case; `None` with `backend: strict`
    /// or when folding leaves the document as it is.
    folded: Option<Compiled>,
    deprecated: Vec<Deprecated>,
    evidence_level: EvidenceLevel,
    redactor: Redactor,
    observe: Observe,
    analytics: Analytics,
}

/// Derived, normalized request facts the matchers read.
struct Ctx<'r, 'a> {
    req: &'r Request<'a>,
    method: String,
    path: String,
    host: Option<HostPort>,
    /// Port of the authority, else of the destination address.
    effective_port: Option<u16>,
    port_text: Option<String>,
    peer: Option<Peer<'a>>,
    source_ip: Option<IpAddr>,
    remote_ip: Option<IpAddr>,
    destination_ip: Option<IpAddr>,
    destination_port: Option<u16>,
    sni: Option<String>,
    internet: bool,
    /// The verified JWT payload.
    jwt: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// A loose reading of the path that fares worse than the canonical path.
enum Loosest {
    /// The reading normalizes to `path`, on which the walk found `found`.
    Walked {
        reading: Reading,
        path: String,
        found: Found,
    },
    /// The reading (`raw`) cannot be normalized.
    Refused {
        reading: Reading,
        raw: String,
        error: crate::normalize::PathError,
    },
}

/// First match per evaluation group while walking candidates.
#[derive(Default)]
struct Found {
    deny_enforce: Option<usize>,
    deny_detect: Option<usize>,
    allow_enforce: Option<usize>,
    allow_detect: Option<usize>,
    audits: Vec<usize>,
}

impl Engine {
    /// Parses (YAML or JSON) and compiles a policy document.
    pub fn from_text(text: &str) -> Result<Engine, PolicyError> {
        let doc = parse_document(text)?;
        let mut engine = Engine::compile(&doc).map_err(|e| with_policy_line(e, text))?;
        for d in &mut engine.deprecated {
            d.location.locate_in(text);
        }
        Ok(engine)
    }

    /// Compiles a parsed document.
    pub fn compile(doc: &PolicyDocument) -> Result<Engine, PolicyError> {
        if let Some(i) = doc.evidence.redact.iter().position(String::is_empty) {
            return Err(PolicyError::invalid(
                Location {
                    field: format!("evidence.redact[{i}]"),
                    ..Location::default()
                },
                "must not be empty",
            ));
        }
        validate_observe(&doc.observe)?;
        validate_analytics(&doc.analytics)?;
        // Only a document with capitals in its path patterns needs a folded copy: otherwise
        // folding changes nothing and the engine's own compilation serves the folded readings.
        let folded = match doc.normalization.backend {
            Backend::Common => {
                let f = reading::case_folded(doc);
                if f == *doc {
                    None
                } else {
                    Some(compile::compile(&f)?)
                }
            }
            Backend::Strict => None,
        };
        Ok(Engine {
            c: compile::compile(doc)?,
            folded,
            deprecated: deprecated::find(doc),
            evidence_level: doc.evidence.log_level,
            redactor: Redactor::new(&doc.evidence.redact),
            observe: doc.observe,
            analytics: doc.analytics.clone(),
        })
    }

    /// The behaviour analytics settings (`analytics`), validated.
    pub fn analytics(&self) -> &Analytics {
        &self.analytics
    }

    /// The observation settings (`observe`).
    pub fn observe(&self) -> Observe {
        self.observe
    }

    /// The level decision events and the load line are logged at (`evidence.log_level`).
    pub fn evidence_level(&self) -> EvidenceLevel {
        self.evidence_level
    }

    /// The deprecated words the document used (read with their current meaning), for the
    /// caller to warn about.
    pub fn deprecations(&self) -> &[Deprecated] {
        &self.deprecated
    }

    /// Number of policies.
    pub fn policy_count(&self) -> usize {
        self.c.policies.len()
    }

    /// Names of the policies, in document order.
    pub fn policy_names(&self) -> impl Iterator<Item = &str> {
        self.c.policies.iter().map(|p| p.name.as_str())
    }

    /// Number of compiled clauses (from × to combinations).
    pub fn clause_count(&self) -> usize {
        self.c.clauses.len()
    }

    /// Whether a policy reads the verified JWT: the caller need only fetch the payload then.
    pub fn uses_jwt(&self) -> bool {
        self.c.uses_jwt
    }

    /// The document's filter-wide mode.
    pub fn mode(&self) -> Mode {
        self.c.doc_mode
    }

    fn matched(&self, clause: usize) -> Matched<'_> {
        let cl = &self.c.clauses[clause];
        let p = &self.c.policies[cl.policy];
        Matched {
            policy: &p.name,
            rule: cl.rule,
            action: p.action,
            mode: p.mode,
        }
    }

    /// Decides one request.
    pub fn decide<'a>(&'a self, req: &Request<'a>) -> Ruling<'a> {
        let c = &self.c;
        let path = normalize_path(req.path, req.method, &c.normalization);
        let host = normalize_authority(req.authority);
        let (path, host) = match (path, host) {
            (Ok(p), Ok(h)) => (p, h),
            (Err(e), _) => return self.refusal(req, format!("path refused: {e}"), None),
            (_, Err(e)) => return self.refusal(req, format!("host refused: {e}"), None),
        };
        let direction = req.direction.or(c.direction);
        let (source_ip, _) = req.source_address.map(identity::split_address).unwrap_or_default();
        let remote_ip = identity::remote_ip(req.header_values("x-forwarded-for"), source_ip, c.trusted_proxy_hops);
        let peer = identity::peer_identity(req.mtls, req.peer_uri_san);
        let (destination_ip, destination_port) =
            req.destination_address.map(identity::split_address).unwrap_or_default();
        let effective_port = host.as_ref().and_then(|h| h.port).or(destination_port);
        let sni = req.sni.filter(|s| !s.is_empty()).map(|s| {
            let s = s.to_ascii_lowercase();
            s.strip_suffix('.').map(str::to_string).unwrap_or(s)
        });
        let internet = self.classify(sni.as_deref(), host.as_ref(), destination_ip);
        let mut ctx = Ctx {
            req,
            method: req.method.to_ascii_uppercase(),
            path,
            port_text: destination_port.map(|p| p.to_string()),
            host,
            effective_port,
            peer,
            source_ip,
            remote_ip,
            destination_ip,
            destination_port,
            sni,
            internet,
            jwt: req.jwt_payload,
        };
        let mut found = self.walk(c, &ctx, direction);
        let mut read = None;
        if c.normalization.backend == Backend::Common {
            match self.loosest_reading(req, &mut ctx, direction, &found) {
                Some(Loosest::Walked {
                    reading,
                    path,
                    found: f,
                }) => {
                    found = f;
                    read = Some((reading, path));
                }
                Some(Loosest::Refused { reading, raw, error }) => {
                    let reason = format!("path refused as {} reads it: {error}", reading.as_str());
                    return self.refusal(req, reason, Some((reading, raw)));
                }
                None => {}
            }
        }
        let (path_reading, path_read_as) = match read {
            Some((r, p)) => (Some(r.as_str()), Some(p)),
            None => (None, None),
        };
        let facts = Facts {
            principal: ctx.peer.and(req.peer_uri_san),
            namespace: ctx.peer.map(|p| p.namespace),
            request_principal: req.jwt_payload.and_then(crate::jwt::request_principal),
            source: req.source_address,
            remote_ip,
            destination: req.destination_address,
            host: ctx.host,
            method: ctx.method,
            path_normalized: Some(ctx.path),
            path_reading,
            path_read_as,
            direction: direction.map(|d| d.as_str()),
            internet: c.mesh.is_some().then_some(internet),
        };
        let mut ruling = self.conclude(found, facts);
        if let Some(r) = ruling.facts.path_reading {
            ruling.reason = Cow::Owned(format!("{} (path as {r} reads it)", ruling.reason));
        }
        ruling
    }

    /// The ruling on a request whose path or host cannot be normalized (or whose path, as a
    /// loose backend reads it, cannot): refused in enforce mode, `would_block` in detect mode.
    fn refusal<'a>(&'a self, req: &Request<'a>, reason: String, read: Option<(Reading, String)>) -> Ruling<'a> {
        let c = &self.c;
        let (source_ip, _) = req.source_address.map(identity::split_address).unwrap_or_default();
        let remote_ip = identity::remote_ip(req.header_values("x-forwarded-for"), source_ip, c.trusted_proxy_hops);
        let peer = identity::peer_identity(req.mtls, req.peer_uri_san);
        let enforce = c.doc_mode == Mode::Enforce;
        let (path_reading, path_read_as) = match read {
            Some((r, p)) => (Some(r.as_str()), Some(p)),
            None => (None, None),
        };
        let facts = Facts {
            principal: peer.and(req.peer_uri_san),
            namespace: peer.map(|p| p.namespace),
            request_principal: req.jwt_payload.and_then(crate::jwt::request_principal),
            source: req.source_address,
            remote_ip,
            destination: req.destination_address,
            host: None,
            method: req.method.to_ascii_uppercase(),
            path_normalized: None,
            path_reading,
            path_read_as,
            direction: req.direction.or(c.direction).map(|d| d.as_str()),
            internet: None,
        };
        Ruling {
            decision: if enforce {
                Decision::Refused
            } else {
                Decision::WouldBlock
            },
            status: enforce.then_some(INVALID_STATUS),
            effective: if enforce { Outcome::Block } else { Outcome::Allow },
            all_enforced: Outcome::Block,
            decided_by: None,
            reason: Cow::Owned(reason),
            audits: Vec::new(),
            allowed_by: None,
            facts,
            redactor: &self.redactor,
        }
    }

    /// The reading of the path (`reading`) under which the request fares worst, when that is
    /// worse than the canonical path's `found`: a backend of the `common` profile would route
    /// it to a path the policy stops, or its reading cannot be normalized.
    fn loosest_reading(
        &self,
        req: &Request<'_>,
        ctx: &mut Ctx<'_, '_>,
        direction: Option<crate::model::Direction>,
        found: &Found,
    ) -> Option<Loosest> {
        let raw = req
            .path
            .find(['?', '#'])
            .map_or(req.path, |end| req.path.get(..end).unwrap_or(req.path));
        // With capitals in the patterns, even a lowercase path reads differently when folded.
        let folds_patterns = self.folded.is_some();
        if ctx.path == "*" || !(folds_patterns || reading::may_differ(raw) || reading::may_differ(&ctx.path)) {
            return None;
        }
        // Each reading applies to the raw path (encoded tricks) and to the canonical one, whose
        // segments are as the normalizer split them (`\` read as `/`): so a raw path is stopped
        // whenever its canonical form would be.
        let canonical = ctx.path.clone();
        let sources: &[&str] = if canonical == raw {
            &[raw]
        } else {
            &[raw, canonical.as_str()]
        };
        let enforce = self.c.doc_mode == Mode::Enforce;
        let mut best = self.severity(found);
        let mut loosest = None;
        let mut seen: Vec<(String, bool)> = Vec::new();
        let readings = sources.iter().flat_map(|src| reading::COMMON.map(|r| (*src, r)));
        for (raw, r) in readings {
            let folded = match (&self.folded, r.folds_case()) {
                (Some(folded), true) => Some(folded),
                _ => None,
            };
            let read = r.apply(raw).or_else(|| folded.map(|_| raw.to_ascii_lowercase()));
            let Some(read) = read else { continue };
            match normalize_path(&read, req.method, &self.c.normalization) {
                Err(error) => {
                    // A refusal stops the request in enforce mode, and is a would-block in detect.
                    let severity = (enforce, true);
                    if severity > best {
                        best = severity;
                        loosest = Some(Loosest::Refused {
                            reading: r,
                            raw: read,
                            error,
                        });
                    }
                }
                Ok(path) => {
                    let key = (path, folded.is_some());
                    if (!key.1 && key.0 == ctx.path) || seen.contains(&key) {
                        continue;
                    }
                    let canonical = std::mem::replace(&mut ctx.path, key.0);
                    let f = self.walk(folded.unwrap_or(&self.c), ctx, direction);
                    let path = std::mem::replace(&mut ctx.path, canonical);
                    let severity = self.severity(&f);
                    if severity > best {
                        best = severity;
                        loosest = Some(Loosest::Walked {
                            reading: r,
                            path: path.clone(),
                            found: f,
                        });
                    }
                    seen.push((path, key.1));
                }
            }
            if best == (true, true) {
                break;
            }
        }
        loosest
    }

    /// How hard a request is stopped: (blocked by the enforced evaluation, blocked with every
    /// policy enforced); compared lexicographically.
    fn severity(&self, f: &Found) -> (bool, bool) {
        let (effective, _) = self.enforced_outcome(f);
        let (all_enforced, _) = self.all_enforced_outcome(f);
        (effective == Outcome::Block, all_enforced == Outcome::Block)
    }

    /// Internet unless every known destination indicator is inside the mesh.
    fn classify(&self, sni: Option<&str>, host: Option<&HostPort>, destination_ip: Option<IpAddr>) -> bool {
        let Some(mesh) = &self.c.mesh else { return false };
        let host_ip = host.and_then(|h| h.host.parse::<IpAddr>().ok());
        let name = sni.or(host.filter(|_| host_ip.is_none()).map(|h| h.host.as_str()));
        let has_domains = !mesh.suffixes.is_empty() || !mesh.exact.is_empty();
        let name_inside = name.filter(|_| has_domains).map(|n| mesh.name_inside(n));
        let has_cidrs = !mesh.cidrs.is_empty();
        let ips = [destination_ip, host_ip];
        let ip_inside: Vec<bool> = ips
            .iter()
            .flatten()
            .filter(|_| has_cidrs)
            .map(|ip| compile::ip_inside(mesh, *ip))
            .collect();
        if name_inside.is_none() && ip_inside.is_empty() {
            return true;
        }
        name_inside == Some(false) || ip_inside.contains(&false)
    }

    /// The first matching clause per evaluation group, with the document compiled as `c` (the
    /// engine's, or its case-folded copy for a case-folding reading).
    fn walk(&self, c: &Compiled, ctx: &Ctx<'_, '_>, direction: Option<crate::model::Direction>) -> Found {
        let n = c.clauses.len();
        let mut found = Found::default();
        if n == 0 {
            return found;
        }
        let mut cand = BitSet::new(n);
        let mut tmp = BitSet::new(n);
        c.path_index.candidates(Some(&ctx.path), &mut cand);
        let host = ctx.host.as_ref().map(|h| h.host.as_str());
        c.host_index.candidates(host, &mut tmp);
        cand.intersect_with(&tmp);
        c.method_index.candidates(Some(&ctx.method), &mut tmp);
        cand.intersect_with(&tmp);
        c.port_index.candidates(ctx.port_text.as_deref(), &mut tmp);
        cand.intersect_with(&tmp);
        c.principal_index
            .candidates(ctx.peer.as_ref().map(|p| p.principal), &mut tmp);
        cand.intersect_with(&tmp);
        c.namespace_index
            .candidates(ctx.peer.as_ref().map(|p| p.namespace), &mut tmp);
        cand.intersect_with(&tmp);
        for i in cand.iter() {
            let cl = &c.clauses[i];
            let p = &c.policies[cl.policy];
            let slot = match (p.action, p.mode) {
                (Action::Deny, Mode::Enforce) => &mut found.deny_enforce,
                (Action::Deny, Mode::Detect) => &mut found.deny_detect,
                (Action::Allow, Mode::Enforce) => &mut found.allow_enforce,
                (Action::Allow, Mode::Detect) => &mut found.allow_detect,
                (Action::Audit, _) => {
                    if found.audits.last().is_some_and(|a| c.clauses[*a].policy == cl.policy) {
                        continue;
                    }
                    if clause_matches(c, cl, ctx, direction) {
                        found.audits.push(i);
                    }
                    continue;
                }
            };
            if slot.is_none() && clause_matches(c, cl, ctx, direction) {
                *slot = Some(i);
            }
        }
        found
    }

    /// The enforced evaluation: enforce-mode policies; the posture counts only in enforce mode.
    fn enforced_outcome(&self, f: &Found) -> (Outcome, &'static str) {
        let c = &self.c;
        if f.deny_enforce.is_some() {
            (Outcome::Block, "DENY policy matched")
        } else if c.has_allow_enforce {
            if f.allow_enforce.is_some() {
                (Outcome::Allow, "ALLOW policy matched")
            } else {
                (Outcome::Block, "no ALLOW policy matched")
            }
        } else if c.posture == Posture::Deny && c.doc_mode == Mode::Enforce {
            (Outcome::Block, "default deny")
        } else {
            (Outcome::Allow, "default allow")
        }
    }

    /// The all-enforced evaluation: every policy as if enforced.
    fn all_enforced_outcome(&self, f: &Found) -> (Outcome, &'static str) {
        let c = &self.c;
        if f.deny_enforce.or(f.deny_detect).is_some() {
            (Outcome::Block, "DENY policy matched (detect)")
        } else if c.has_allow_enforce || c.has_allow_detect {
            if f.allow_enforce.or(f.allow_detect).is_some() {
                (Outcome::Allow, "ALLOW policy matched")
            } else {
                (Outcome::Block, "no ALLOW policy matched (detect)")
            }
        } else if c.posture == Posture::Deny {
            (Outcome::Block, "default deny (detect)")
        } else {
            (Outcome::Allow, "default allow")
        }
    }

    fn conclude<'a>(&'a self, f: Found, facts: Facts<'a>) -> Ruling<'a> {
        let (effective, eff_reason) = self.enforced_outcome(&f);
        let (all_enforced, detect_reason) = self.all_enforced_outcome(&f);
        let deny_any = f.deny_enforce.or(f.deny_detect);
        let allow_any = f.allow_enforce.or(f.allow_detect);
        let (decision, decided_by, reason) = match (effective, all_enforced) {
            (Outcome::Block, _) => (Decision::Block, f.deny_enforce, eff_reason),
            (Outcome::Allow, Outcome::Block) => (Decision::WouldBlock, deny_any, detect_reason),
            (Outcome::Allow, Outcome::Allow) => (Decision::Allow, f.allow_enforce.or(f.allow_detect), eff_reason),
        };
        Ruling {
            decision,
            status: (decision == Decision::Block).then_some(DENY_STATUS),
            effective,
            all_enforced,
            decided_by: decided_by.map(|i| self.matched(i)),
            reason: Cow::Borrowed(reason),
            audits: f.audits.iter().map(|i| self.matched(*i)).collect(),
            allowed_by: allow_any
                .filter(|_| effective == Outcome::Allow)
                .map(|i| self.matched(i)),
            facts,
            redactor: &self.redactor,
        }
    }
}

/// Whether a candidate clause holds for the request, with the document compiled as `c`.
fn clause_matches(c: &Compiled, cl: &Clause, ctx: &Ctx<'_, '_>, direction: Option<crate::model::Direction>) -> bool {
    if let Some(s) = cl.source {
        if !source_matches(&c.sources[s], ctx) {
            return false;
        }
    }
    if let Some(o) = cl.operation {
        if !operation_matches(&c.operations[o], ctx, direction, cl.all_values) {
            return false;
        }
    }
    c.conditions[cl.when]
        .iter()
        .all(|w| condition_holds(w, ctx, cl.all_values))
}

/// Parses a document (YAML or JSON) with the parser's line on error.
/// An empty text is the zero-config document (detect, allow, no policies).
pub fn parse_document(text: &str) -> Result<PolicyDocument, PolicyError> {
    if text.trim().is_empty() {
        return Ok(PolicyDocument::default());
    }
    // JSON is what Istio's WasmPlugin and Envoy's typed config hand the filter. It goes to a
    // JSON parser: the YAML one reads YAML 1.1, where a raw U+2028 or U+2029 in a string is a
    // line break that folds the spaces after it, so a JSON string would not arrive as written.
    // Text that only looks like JSON (a YAML flow mapping such as `{mode: enforce}`) is YAML.
    if text.trim_start().starts_with('{') {
        match serde_json::from_str::<PolicyDocument>(text) {
            Ok(doc) => return Ok(doc),
            Err(e) if e.classify() != serde_json::error::Category::Syntax => {
                return Err(PolicyError::Syntax {
                    line: Some(e.line()),
                    message: e.to_string(),
                })
            }
            Err(_) => {}
        }
    }
    serde_yaml_ng::from_str::<PolicyDocument>(text).map_err(|e| PolicyError::Syntax {
        line: e.location().map(|l| l.line()),
        message: e.to_string(),
    })
}

/// `observe`: a window of at least a second and at most a day; a bounded, non-empty table.
fn validate_observe(o: &Observe) -> Result<(), PolicyError> {
    let at = |field: &str| Location {
        field: format!("observe.{field}"),
        ..Location::default()
    };
    if !(1..=Observe::MAX_INTERVAL_SECONDS).contains(&o.interval_seconds) {
        let reason = format!(
            "must be 1..={}, not {}",
            Observe::MAX_INTERVAL_SECONDS,
            o.interval_seconds
        );
        return Err(PolicyError::invalid(at("interval_seconds"), reason));
    }
    if !(1..=Observe::MAX_KEYS).contains(&o.max_keys) {
        let reason = format!("must be 1..={}, not {}", Observe::MAX_KEYS, o.max_keys);
        return Err(PolicyError::invalid(at("max_keys"), reason));
    }
    Ok(())
}

/// `analytics`: the engine accepts its configuration (an empty `key` stands for the one the
/// filter makes at configure time, so it is checked with a stand-in); header and cookie names
/// are not empty; the sweep is bounded.
fn validate_analytics(a: &Analytics) -> Result<(), PolicyError> {
    let at = |field: String| Location {
        field: format!("analytics.{field}"),
        ..Location::default()
    };
    let names = [
        ("user_header", &a.user_header),
        ("user_cookie", &a.user_cookie),
        ("username_header", &a.username_header),
        ("workload", &a.workload),
    ];
    for (field, v) in names {
        if v.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(PolicyError::invalid(at(field.into()), "must not be empty"));
        }
    }
    if !(1..=Analytics::MAX_SWEEP_SLOTS).contains(&a.sweep_slots) {
        let reason = format!("must be 1..={}, not {}", Analytics::MAX_SWEEP_SLOTS, a.sweep_slots);
        return Err(PolicyError::invalid(at("sweep_slots".into()), reason));
    }
    let mut engine = a.engine.clone();
    if engine.key.is_empty() {
        engine.key = ANALYTICS_STAND_IN_KEY.into();
    }
    engine.validate().map_err(|e| {
        // The engine names the setting (`probing.capacity: ...`); the section is ours.
        let text = e.to_string();
        let (field, reason) = text.split_once(": ").unwrap_or(("", text.as_str()));
        // The engine names an action `probing.action.status`; the document nests it in `common`.
        let field = field.replace(".action.", ".common.action.");
        PolicyError::invalid(at(format!("engine.{field}")), reason.to_string())
    })
}

/// A valid key that stands for the one made at configure time, in validation only.
const ANALYTICS_STAND_IN_KEY: &str = "0123456789abcdef0123456789abcdef";

/// Adds the line of the offending policy's `name:` (or of the `observe:` or `analytics:`
/// section) to a validation error.
fn with_policy_line(err: PolicyError, text: &str) -> PolicyError {
    match err {
        PolicyError::Invalid { mut location, reason } => {
            if location.policy.is_some()
                || location.field.starts_with("observe.")
                || location.field.starts_with("analytics.")
            {
                location.locate_in(text);
            }
            PolicyError::Invalid { location, reason }
        }
        other => other,
    }
}

fn pos(pats: &Option<Vec<StrPattern>>, v: Option<&str>) -> bool {
    match pats {
        None => true,
        Some(p) => v.is_some_and(|v| p.iter().any(|x| x.matches(v))),
    }
}

fn neg(pats: &Option<Vec<StrPattern>>, v: Option<&str>) -> bool {
    match pats {
        None => true,
        Some(p) => !v.is_some_and(|v| p.iter().any(|x| x.matches(v))),
    }
}

fn ip_pos(blocks: &Option<Vec<ipnet::IpNet>>, ip: Option<IpAddr>) -> bool {
    match blocks {
        None => true,
        Some(b) => ip.is_some_and(|ip| in_blocks(b, ip)),
    }
}

fn ip_neg(blocks: &Option<Vec<ipnet::IpNet>>, ip: Option<IpAddr>) -> bool {
    match blocks {
        None => true,
        Some(b) => !ip.is_some_and(|ip| in_blocks(b, ip)),
    }
}

/// Request principals: `pos` one must match the verified payload; `!pos` none may. No verified
/// token matches no pattern.
fn request_principals_hold(pats: &Option<Vec<PrincipalPattern>>, jwt: Option<&JwtPayload>, pos: bool) -> bool {
    match pats {
        None => true,
        Some(p) => jwt.is_some_and(|j| p.iter().any(|x| x.matches(j))) == pos,
    }
}

fn source_matches(s: &CSource, ctx: &Ctx<'_, '_>) -> bool {
    let p = ctx.peer.as_ref();
    request_principals_hold(&s.request_principals, ctx.jwt, true)
        && request_principals_hold(&s.not_request_principals, ctx.jwt, false)
        && pos(&s.principals, p.map(|p| p.principal))
        && neg(&s.not_principals, p.map(|p| p.principal))
        && pos(&s.namespaces, p.map(|p| p.namespace))
        && neg(&s.not_namespaces, p.map(|p| p.namespace))
        && service_accounts_match(s, p)
        && pos(&s.trust_domains, p.map(|p| p.trust_domain))
        && neg(&s.not_trust_domains, p.map(|p| p.trust_domain))
        && ip_pos(&s.ip_blocks, ctx.source_ip)
        && ip_neg(&s.not_ip_blocks, ctx.source_ip)
        && ip_pos(&s.remote_ip_blocks, ctx.remote_ip)
        && ip_neg(&s.not_remote_ip_blocks, ctx.remote_ip)
}

/// `serviceAccounts` / `notServiceAccounts` on `<ns>/<sa>` (built only when a clause uses them).
fn service_accounts_match(s: &CSource, p: Option<&Peer<'_>>) -> bool {
    if s.service_accounts.is_none() && s.not_service_accounts.is_none() {
        return true;
    }
    let ns_sa = p.map(|p| p.ns_sa());
    pos(&s.service_accounts, ns_sa.as_deref()) && neg(&s.not_service_accounts, ns_sa.as_deref())
}

/// A header matcher over every value of the header: ANY value (`all` false) or EVERY value.
fn header_holds(m: &HeaderMatcher, values: &[&str], all: bool) -> bool {
    match m {
        HeaderMatcher::Present(want) => values.is_empty() != *want,
        _ if values.is_empty() => false,
        _ if all => values.iter().all(|v| m.matches_value(v)),
        _ => values.iter().any(|v| m.matches_value(v)),
    }
}

fn values_of<'a>(ctx: &Ctx<'_, 'a>, name: &str) -> Vec<&'a str> {
    ctx.req.header_values(name).collect()
}

fn operation_matches(o: &COperation, ctx: &Ctx<'_, '_>, direction: Option<crate::model::Direction>, all: bool) -> bool {
    if let Some(d) = o.direction {
        if direction != Some(d) {
            return false;
        }
    }
    if let Some(i) = o.internet {
        if ctx.internet != i {
            return false;
        }
    }
    let host = ctx.host.as_ref().map(|h| h.host.as_str());
    let host_match = |hs: &Vec<crate::pattern::HostPattern>| {
        host.is_some_and(|h| hs.iter().any(|p| p.matches(h, ctx.effective_port)))
    };
    if o.hosts.as_ref().is_some_and(|hs| !host_match(hs)) || o.not_hosts.as_ref().is_some_and(host_match) {
        return false;
    }
    let port = ctx.destination_port;
    if o.ports
        .as_ref()
        .is_some_and(|ps| !port.is_some_and(|p| ps.contains(&p)))
        || o.not_ports
            .as_ref()
            .is_some_and(|ps| port.is_some_and(|p| ps.contains(&p)))
    {
        return false;
    }
    if o.methods.as_ref().is_some_and(|ms| !ms.contains(&ctx.method))
        || o.not_methods.as_ref().is_some_and(|ms| ms.contains(&ctx.method))
    {
        return false;
    }
    let path = ctx.path.as_str();
    if o.paths.as_ref().is_some_and(|ps| !ps.iter().any(|p| p.matches(path)))
        || o.not_paths
            .as_ref()
            .is_some_and(|ps| ps.iter().any(|p| p.matches(path)))
        || o.path_regex
            .as_ref()
            .is_some_and(|rs| !rs.iter().any(|r| r.is_match(path)))
        || o.not_path_regex
            .as_ref()
            .is_some_and(|rs| rs.iter().any(|r| r.is_match(path)))
    {
        return false;
    }
    let sni = ctx.sni.as_deref();
    let sni_match = |ss: &Vec<crate::pattern::HostPattern>| sni.is_some_and(|s| ss.iter().any(|p| p.name.matches(s)));
    if o.sni.as_ref().is_some_and(|ss| !sni_match(ss)) || o.not_sni.as_ref().is_some_and(sni_match) {
        return false;
    }
    o.headers
        .iter()
        .all(|(name, m)| header_holds(m, &values_of(ctx, name), all))
        && o.not_headers
            .iter()
            .all(|(name, m)| !header_holds(m, &values_of(ctx, name), !all))
}

fn str_values_hold(pats: &[StrPattern], values: &[&str], all: bool) -> bool {
    if values.is_empty() {
        return false;
    }
    let m = |v: &&str| pats.iter().any(|p| p.matches(v));
    if all {
        values.iter().all(m)
    } else {
        values.iter().any(m)
    }
}

fn condition_holds(w: &CCondition, ctx: &Ctx<'_, '_>, all: bool) -> bool {
    let ip = match w.key {
        CondKey::SourceIp => Some(ctx.source_ip),
        CondKey::RemoteIp => Some(ctx.remote_ip),
        CondKey::DestinationIp => Some(ctx.destination_ip),
        _ => None,
    };
    if let Some(ip) = ip {
        let holds = |v: &Option<CondValues>| match v {
            Some(CondValues::Blocks(b)) => Some(ip.is_some_and(|ip| in_blocks(b, ip))),
            _ => None,
        };
        return holds(&w.values).unwrap_or(true) && !holds(&w.not_values).unwrap_or(false);
    }
    if w.key.is_jwt() {
        return jwt_condition_holds(w, ctx.jwt);
    }
    let owned;
    let values: Vec<&str> = match &w.key {
        CondKey::Header(name) => values_of(ctx, name),
        key => {
            let p = ctx.peer.as_ref();
            let one: Option<&str> = match key {
                CondKey::Method => Some(ctx.method.as_str()),
                CondKey::Host => ctx.host.as_ref().map(|h| h.host.as_str()),
                CondKey::Path => Some(ctx.path.as_str()),
                CondKey::DestinationPort => ctx.port_text.as_deref(),
                CondKey::Principal => p.map(|p| p.principal),
                CondKey::Namespace => p.map(|p| p.namespace),
                CondKey::ServiceAccount => p.map(|p| p.service_account),
                CondKey::TrustDomain => p.map(|p| p.trust_domain),
                CondKey::Sni => ctx.sni.as_deref(),
                CondKey::Mtls => {
                    owned = ctx.req.mtls.to_string();
                    Some(owned.as_str())
                }
                CondKey::RouteName => ctx.req.route_name,
                CondKey::ClusterName => ctx.req.cluster_name,
                _ => None,
            };
            one.into_iter().collect()
        }
    };
    let holds = |v: &Option<CondValues>, all: bool| match v {
        Some(CondValues::Strings(p)) => Some(str_values_hold(p, &values, all)),
        _ => None,
    };
    holds(&w.values, all).unwrap_or(true) && !holds(&w.not_values, !all).unwrap_or(false)
}

/// A `when` on the verified JWT, as Istio's metadata matchers answer it: `values` holds when the
/// claim (a string, or any string element of a list) matches one of them; `notValues` when it
/// matches none. Without a verified token nothing matches, so `values` fails and `notValues` holds.
fn jwt_condition_holds(w: &CCondition, jwt: Option<&JwtPayload>) -> bool {
    let holds = |v: &Option<CondValues>| -> Option<bool> {
        let Some(j) = jwt else {
            return v.as_ref().map(|_| false);
        };
        let claim = |path: &[String]| crate::jwt::claim_strings(j, path);
        match (v, &w.key) {
            (Some(CondValues::Principals(p)), _) => Some(p.iter().any(|x| x.matches(j))),
            (Some(CondValues::Strings(p)), key) => {
                let values = match key {
                    CondKey::Audiences => claim(&["aud".to_string()]),
                    CondKey::Presenter => claim(&["azp".to_string()]),
                    CondKey::Claim(path) => claim(path),
                    _ => Vec::new(),
                };
                Some(values.iter().any(|v| p.iter().any(|x| crate::jwt::claim_matches(x, v))))
            }
            _ => None,
        }
    };
    holds(&w.values).unwrap_or(true) && !holds(&w.not_values).unwrap_or(false)
}
