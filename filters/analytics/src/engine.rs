//! The engine: per request, load each entity's record, bring it up to date, run the detectors
//! that watch that kind, and store it back with compare-and-swap.

use std::cell::Cell;

use crate::alert::{round3, Alert, Enforcement};
use crate::config::{Common, Config, ConfigError, Mode};
use crate::detectors::{
    brute_force, crawling, first_seen_endpoint, new_caller, new_egress, probing, rate_spike, response_size, Detector,
    Finding, DETECTORS,
};
use crate::entity::{item_hash, Entity};
use crate::observation::Observation;
use crate::placement::{candidates, choose, Judge, Occupant};
use crate::record::{Head, Record, RECORD_LEN};
use crate::store::{Store, StoreError};
use crate::time::{rfc3339, secs};

/// Hash domain of paths in the distinct-path sketches.
const PATH_DOMAIN: u8 = 1;
/// Hash domain of egress hosts.
const HOST_DOMAIN: u8 = 2;

/// Counters of the table's upkeep (for the filter's metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records created for a new entity in a free or expired slot.
    pub created: u64,
    /// Records that replaced another entity's live record (both candidate slots were taken).
    pub evictions: u64,
    /// Compare-and-swap conflicts (each retried).
    pub conflicts: u64,
    /// Updates given up (retries exhausted or the store refused).
    pub dropped: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Idle records cleared by the sweep or replaced by a new entity.
    pub expired: u64,
}

/// The analytics engine (configuration and counters; the state lives in a [`Store`]).
#[derive(Debug)]
pub struct Analytics {
    config: Config,
    key: [u64; 2],
    enforcing: [bool; DETECTORS],
    stats: Cell<Stats>,
    cursor: Cell<u32>,
}

/// Everything about one observation that several entities share, hashed once.
struct Facts<'a> {
    obs: &'a Observation<'a>,
    now: u64,
    now_s: u32,
    path: u64,
    endpoint: u64,
    source: Option<u64>,
    username: Option<u64>,
}

impl Analytics {
    /// An engine for `config` (validated here, at configure time).
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        config.validate()?;
        let key = config.parse_key()?;
        let mut enforcing = [false; DETECTORS];
        for (e, d) in enforcing.iter_mut().zip(Detector::ALL) {
            let c = common(&config, d);
            *e = c.enabled && c.mode == Mode::Enforce;
        }
        Ok(Self {
            config,
            key,
            enforcing,
            stats: Cell::new(Stats::default()),
            cursor: Cell::new(0),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.stats.get()
    }

    /// The two slots an entity's record may live in (first looked up first; equal only in a
    /// one-slot table).
    pub fn candidates(&self, entity: &Entity<'_>) -> [u32; 2] {
        candidates(entity.fingerprint(self.key), self.config.slots)
    }

    /// Folds one finished request into its entities' records; the alerts it raised.
    pub fn observe<S: Store>(&self, obs: &Observation<'_>, now: u64, store: &mut S) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let cfg = &self.config;
        let template = obs.template();
        let client = obs.client_ip.map(Entity::Client);
        let principal = obs.principal.map(Entity::Principal);
        let source_entity = client.or(principal);
        let auth_failure =
            cfg.brute_force.common.enabled && brute_force::is_failure(&cfg.brute_force, template, obs.status);
        let facts = Facts {
            obs,
            now,
            now_s: secs(now),
            path: item_hash(self.key, PATH_DOMAIN, obs.path),
            endpoint: Entity::Endpoint {
                method: obs.method,
                template,
            }
            .fingerprint(self.key),
            source: source_entity.map(|e| e.fingerprint(self.key)),
            username: obs
                .username
                .filter(|_| auth_failure)
                .map(|u| Entity::Username(u).fingerprint(self.key)),
        };
        for actor in [principal, client, obs.user.map(Entity::User)].into_iter().flatten() {
            let is_source = Some(actor) == source_entity;
            self.update(actor, &facts, store, &mut alerts, |me, rec, out| {
                me.actor(rec, &actor, is_source, &facts, out)
            });
        }
        if let (Some(name), Some(source)) = (obs.username.filter(|_| auth_failure), facts.source) {
            let entity = Entity::Username(name);
            self.update(entity, &facts, store, &mut alerts, |me, rec, out| {
                let f = brute_force::observe_username(&mut rec.auth, source, &me.config.brute_force);
                // Built only when it fires: the request path stays allocation-free.
                let subject = f.and(source_entity).map(|e| e.display(source));
                me.fire(Detector::BruteForce, rec, &entity, f, subject, &facts, out);
            });
        }
        if cfg.response_size.common.enabled && obs.status > 0 && obs.status < 400 {
            let entity = Entity::Endpoint {
                method: obs.method,
                template,
            };
            self.update(entity, &facts, store, &mut alerts, |me, rec, out| {
                let f = response_size::observe(&mut rec.size, obs.response_bytes, &me.config.response_size);
                let subject = f.and(obs.principal.or(obs.user).or(obs.client_ip)).map(str::to_string);
                me.fire(Detector::ResponseSize, rec, &entity, f, subject, &facts, out);
            });
        }
        if let Some(workload) = obs.workload {
            let entity = Entity::Workload(workload);
            match (obs.destination_host, obs.principal) {
                (Some(host), _) if cfg.new_egress.common.enabled => {
                    let item = item_hash(self.key, HOST_DOMAIN, host);
                    self.update(entity, &facts, store, &mut alerts, |me, rec, out| {
                        let f = new_egress::observe(&mut rec.egress, item, rec.first_seen, now, &me.config.new_egress);
                        me.fire(
                            Detector::NewEgress,
                            rec,
                            &entity,
                            f,
                            f.map(|_| host.to_string()),
                            &facts,
                            out,
                        );
                    });
                }
                (None, Some(caller)) if cfg.new_caller.common.enabled => {
                    let item = Entity::Principal(caller).fingerprint(self.key);
                    self.update(entity, &facts, store, &mut alerts, |me, rec, out| {
                        let f = new_caller::observe(&mut rec.seen, item, rec.first_seen, now, &me.config.new_caller);
                        me.fire(
                            Detector::NewCaller,
                            rec,
                            &entity,
                            f,
                            f.map(|_| caller.to_string()),
                            &facts,
                            out,
                        );
                    });
                }
                _ => {}
            }
        }
        alerts
    }

    /// The detectors that watch an actor (principal, client, user).
    fn actor(&self, rec: &mut Record, actor: &Entity<'_>, is_source: bool, facts: &Facts<'_>, out: &mut Vec<Alert>) {
        let cfg = &self.config;
        let obs = facts.obs;
        if cfg.probing.common.enabled {
            let f = probing::observe(&mut rec.probe, obs.status, facts.path, &cfg.probing);
            self.fire(Detector::Probing, rec, actor, f, None, facts, out);
        }
        // Crawling watches clients and users: the distinct paths a service calls follow the
        // data it handles (ids, keys), so on principals it would alert on ordinary mesh traffic.
        if cfg.crawling.common.enabled && !matches!(actor, Entity::Principal(_)) {
            let f = crawling::observe(&mut rec.crawl, facts.path, &cfg.crawling);
            self.fire(Detector::Crawling, rec, actor, f, None, facts, out);
        }
        if cfg.rate_spike.common.enabled {
            let f = rate_spike::observe(&mut rec.rate, &cfg.rate_spike);
            self.fire(Detector::RateSpike, rec, actor, f, None, facts, out);
        }
        if let (true, Some(username)) = (is_source, facts.username) {
            let f = brute_force::observe_source(&mut rec.auth, username, &cfg.brute_force);
            self.fire(Detector::BruteForce, rec, actor, f, None, facts, out);
        }
        if cfg.first_seen_endpoint.common.enabled && matches!(actor, Entity::Principal(_) | Entity::User(_)) {
            let f = first_seen_endpoint::observe(
                &mut rec.seen,
                facts.endpoint,
                rec.first_seen,
                facts.now,
                &cfg.first_seen_endpoint,
            );
            let subject = f.map(|_| format!("{} {}", obs.method, obs.template()));
            self.fire(Detector::FirstSeenEndpoint, rec, actor, f, subject, facts, out);
        }
    }

    /// Turns a finding into an alert: once per episode (until the block or quiet period ends),
    /// every time for a novelty; in enforce mode the entity is blocked until then.
    #[allow(clippy::too_many_arguments)] // one call shape for every detector
    fn fire(
        &self,
        detector: Detector,
        rec: &mut Record,
        entity: &Entity<'_>,
        finding: Option<Finding>,
        subject: Option<String>,
        facts: &Facts<'_>,
        out: &mut Vec<Alert>,
    ) {
        let Some(f) = finding else { return };
        let Some(until) = rec.until.get_mut(detector.index()) else {
            return;
        };
        if !f.novelty && *until > facts.now_s {
            return;
        }
        let c = common(&self.config, detector);
        *until = facts.now_s.saturating_add(c.action.duration_secs);
        let enforced = c.mode == Mode::Enforce;
        out.push(Alert {
            v: 1,
            event_type: "alert",
            time: rfc3339(facts.now),
            detector,
            entity_kind: entity.kind(),
            entity: entity.display(rec.fingerprint),
            subject,
            mode: c.mode,
            enforced,
            status: enforced.then_some(c.action.status),
            blocked_until: Some(rfc3339(u64::from(*until) * 1000)),
            baseline: f.baseline.map(round3),
            observed: f.observed.map(round3),
            threshold: f.threshold.map(round3),
            window_secs: f.window_secs,
            first_seen: rfc3339(rec.first_seen),
            last_seen: rfc3339(rec.last_seen),
        });
    }

    /// Find the entity's record in one of its two slots (or place a new one), bring it up to
    /// date, apply, store with compare-and-swap; a conflict retries the whole decision.
    fn update<S: Store>(
        &self,
        entity: Entity<'_>,
        facts: &Facts<'_>,
        store: &mut S,
        alerts: &mut Vec<Alert>,
        mut apply: impl FnMut(&Self, &mut Record, &mut Vec<Alert>),
    ) {
        let fp = entity.fingerprint(self.key);
        let [first, second] = candidates(fp, self.config.slots);
        let judge = self.judge(facts.now);
        let mut buf = [0u8; RECORD_LEN];
        let mut stats = self.stats.get();
        for _ in 0..self.config.max_retries.max(1) {
            let a = judge.load(store, first, fp, &mut buf);
            let (target, found) = if a.occupant == Occupant::Mine {
                (a, Record::from_bytes(&buf))
            } else if second == first {
                (a, None)
            } else {
                let b = judge.load(store, second, fp, &mut buf);
                if b.occupant == Occupant::Mine {
                    (b, Record::from_bytes(&buf))
                } else {
                    (choose(a, b), None)
                }
            };
            let mut rec = found.unwrap_or_else(|| Record::new(entity.kind(), fp, facts.now));
            self.refresh(&mut rec, facts.now_s);
            rec.last_seen = rec.last_seen.max(facts.now);
            let mark = alerts.len();
            apply(self, &mut rec, alerts);
            match store.store(target.slot, &rec.to_bytes(), target.cas) {
                Ok(()) => {
                    match target.occupant {
                        Occupant::Mine => {}
                        Occupant::Free => stats.created += 1,
                        Occupant::Expired => {
                            stats.created += 1;
                            stats.expired += 1;
                        }
                        Occupant::Taken { .. } => stats.evictions += 1,
                    }
                    stats.alerts += (alerts.len() - mark) as u64;
                    self.stats.set(stats);
                    return;
                }
                Err(StoreError::Conflict { .. }) => {
                    alerts.truncate(mark);
                    stats.conflicts += 1;
                }
                Err(StoreError::Rejected { .. }) => {
                    alerts.truncate(mark);
                    break;
                }
            }
        }
        stats.dropped += 1;
        self.stats.set(stats);
    }

    /// The rules placement judges slots by, at `now`.
    fn judge(&self, now: u64) -> Judge<'_> {
        Judge {
            now,
            now_s: secs(now),
            idle_ms: u64::from(self.config.idle_secs) * 1000,
            enforcing: &self.enforcing,
        }
    }

    /// Brings every detector's time-based state up to `now_s` (lazy decay).
    fn refresh(&self, rec: &mut Record, now_s: u32) {
        let cfg = &self.config;
        probing::decay(&mut rec.probe, now_s, &cfg.probing);
        crawling::decay(&mut rec.crawl, now_s, &cfg.crawling);
        brute_force::decay(&mut rec.auth, now_s, &cfg.brute_force);
        rate_spike::decay(&mut rec.rate, now_s, &cfg.rate_spike);
    }

    /// At request start: the first enforce-mode block still running on one of `entities`.
    pub fn verdict<S: Store>(&self, entities: &[Entity<'_>], now: u64, store: &mut S) -> Option<Enforcement> {
        if !self.enforcing.contains(&true) {
            return None;
        }
        let now_s = secs(now);
        let mut buf = [0u8; RECORD_LEN];
        for entity in entities {
            let fp = entity.fingerprint(self.key);
            let [first, second] = candidates(fp, self.config.slots);
            // The first slot, then the second only when the first does not hold its record.
            let Some(head) = owned_head(store, first, fp, &mut buf).or_else(|| {
                (second != first)
                    .then(|| owned_head(store, second, fp, &mut buf))
                    .flatten()
            }) else {
                continue;
            };
            for ((d, &until), &on) in Detector::ALL.into_iter().zip(&head.until).zip(&self.enforcing) {
                if on && until > now_s {
                    let status = common(&self.config, d).action.status;
                    return Some(Enforcement {
                        detector: d,
                        entity_kind: entity.kind(),
                        status,
                        until_ms: u64::from(until) * 1000,
                    });
                }
            }
        }
        None
    }

    /// The tick's sweep over the next `budget` slots: decays each record to `now` and clears the
    /// ones idle for `idle_secs` with no block running (keys cannot be deleted: an empty value).
    /// Returns the slots visited.
    pub fn decay<S: Store>(&self, now: u64, store: &mut S, budget: u32) -> u32 {
        let slots = self.config.slots;
        let now_s = secs(now);
        let idle_ms = u64::from(self.config.idle_secs) * 1000;
        let mut buf = [0u8; RECORD_LEN];
        let mut stats = self.stats.get();
        let visits = budget.min(slots);
        for _ in 0..visits {
            let slot = self.cursor.get();
            self.cursor.set(if slot + 1 >= slots { 0 } else { slot + 1 });
            let Some((len, cas)) = store.load_into(slot, &mut buf) else {
                continue;
            };
            let Some(mut rec) = (len == RECORD_LEN).then(|| Record::from_bytes(&buf)).flatten() else {
                // Garbage or an old layout: clear it so it stops costing a decode.
                if len != 0 {
                    let _ = store.store(slot, &[], Some(cas));
                }
                continue;
            };
            let blocked = rec.until.iter().any(|&u| u > now_s);
            if now.saturating_sub(rec.last_seen) >= idle_ms && !blocked {
                // A conflict means the entity came back meanwhile: leave it.
                if store.store(slot, &[], Some(cas)).is_ok() {
                    stats.expired += 1;
                }
                continue;
            }
            let before = rec;
            self.refresh(&mut rec, now_s);
            if rec != before {
                let _ = store.store(slot, &rec.to_bytes(), Some(cas));
            }
        }
        self.stats.set(stats);
        visits
    }
}

/// The head of `slot`'s record when it is the entity `fp`'s (someone else's is not decoded).
fn owned_head<S: Store>(store: &mut S, slot: u32, fp: u64, buf: &mut [u8; RECORD_LEN]) -> Option<Head> {
    match store.load_into(slot, buf) {
        Some((RECORD_LEN, _)) if Record::owner(buf) == Some(fp) => Record::head(buf),
        _ => None,
    }
}

fn common(cfg: &Config, d: Detector) -> &Common {
    match d {
        Detector::Probing => &cfg.probing.common,
        Detector::BruteForce => &cfg.brute_force.common,
        Detector::Crawling => &cfg.crawling.common,
        Detector::RateSpike => &cfg.rate_spike.common,
        Detector::FirstSeenEndpoint => &cfg.first_seen_endpoint.common,
        Detector::ResponseSize => &cfg.response_size.common,
        Detector::NewCaller => &cfg.new_caller.common,
        Detector::NewEgress => &cfg.new_egress.common,
    }
}

/// Every kind an observation may update, for callers building a verdict's entity list.
pub fn request_entities<'a>(obs: &Observation<'a>) -> impl Iterator<Item = Entity<'a>> {
    [
        obs.principal.map(Entity::Principal),
        obs.client_ip.map(Entity::Client),
        obs.user.map(Entity::User),
    ]
    .into_iter()
    .flatten()
}
