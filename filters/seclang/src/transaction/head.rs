//! Deciding on a request's head before its body arrives, in the transaction itself.
//!
//! A proxy must refuse an attack in the query string, a cookie or a header when the head
//! arrives, so the request-body rules (phase 2) run once on the head alone. When they do not
//! decide, that run is undone and phase 2 runs again with the body. Running it in the
//! transaction (not in a copy) keeps the head values' transformations and prefilter scans in
//! the transformed-value cache: the head's buffers do not change, so the second run finds them
//! there instead of computing them again.

use std::cell::OnceCell;
use std::collections::HashMap;

use crate::action::{AllowScope, EngineMode};
use crate::collection::Collection;
use crate::phase::Phase;

use super::evidence::{Intervention, MatchRecord};
use super::state::{Bound, Overrides, Transaction};

/// What phase 2 run without a body can change in a transaction, saved so the run can be undone.
struct Rewind {
    engine: EngineMode,
    tx: Collection,
    persistent: HashMap<String, Bound>,
    env: Collection,
    matched_vars: Vec<(String, Vec<u8>)>,
    highest_severity: u8,
    overrides: Overrides,
    last_phase: Option<Phase>,
    allow: Option<AllowScope>,
    intervention: Option<Intervention>,
    decision: Option<Intervention>,
    matches: Vec<MatchRecord>,
}

impl Rewind {
    /// Saves `t`'s rule-writable state.
    fn save(t: &Transaction) -> Rewind {
        // Destructured in full so that a new field has to be placed here: saved, or left
        // alone because phase 2 without a body never changes it (no body processor runs, so
        // the request's variables stay as they are; responses and persistence come later).
        let Transaction {
            rules: _,
            engine,
            started: _,
            unique_id: _,
            remote_addr: _,
            remote_port: _,
            server_addr: _,
            server_port: _,
            method: _,
            uri_raw: _,
            request_uri: _,
            filename: _,
            basename: _,
            query_string: _,
            protocol: _,
            request_line: _,
            args_get: _,
            request_headers: _,
            request_cookies: _,
            request_body: _,
            body: _,
            inbound_data_error: _,
            outbound_data_error: _,
            urlencoded_error: _,
            response_status: _,
            response_protocol: _,
            response_headers: _,
            response_body: _,
            tx,
            persistent,
            env,
            matched_vars,
            highest_severity,
            overrides,
            last_phase,
            allow,
            intervention,
            decision,
            matches,
            // Derived from `matches`: reset on restore.
            matched_rules: _,
            persisted: _,
            // Kept on purpose: its entries are keyed by the head's unchanged buffers.
            transform_cache: _,
        } = t;
        Rewind {
            engine: *engine,
            tx: tx.clone(),
            persistent: persistent.clone(),
            env: env.clone(),
            matched_vars: matched_vars.clone(),
            highest_severity: *highest_severity,
            overrides: overrides.clone(),
            last_phase: *last_phase,
            allow: *allow,
            intervention: intervention.clone(),
            decision: decision.clone(),
            matches: matches.clone(),
        }
    }

    /// Puts `t` back as it was saved, keeping the cache's transformed values (the per-phase
    /// unions go: the body will add values to the variables).
    fn restore(self, t: &mut Transaction) {
        t.engine = self.engine;
        t.tx = self.tx;
        t.persistent = self.persistent;
        t.env = self.env;
        t.matched_vars = self.matched_vars;
        t.highest_severity = self.highest_severity;
        t.overrides = self.overrides;
        t.last_phase = self.last_phase;
        t.allow = self.allow;
        t.intervention = self.intervention;
        t.decision = self.decision;
        t.matches = self.matches;
        t.matched_rules = OnceCell::new();
        t.transform_cache.get_mut().clear_unions();
    }
}

impl Transaction {
    /// Runs the request-body rules (phase 2) on the head alone, before any body: the answer a
    /// proxy gives a request whose head is already an attack. When they intervene, the
    /// transaction stays as that run left it (phase 2 done, no body processed) and the
    /// intervention is returned. Otherwise the run is undone, only the head's transformed
    /// values kept, and the transaction takes its body as if the run never happened: the full
    /// phase 2 then decides and matches exactly as it would have. `None` too once a body was
    /// buffered or phase 2 ran (as [`Transaction::fork_before_body`]).
    pub fn decide_on_head(&mut self) -> Option<&Intervention> {
        if self.ran(Phase::RequestBody) || !self.request_body.is_empty() || self.inbound_data_error {
            return None;
        }
        let saved = Rewind::save(self);
        self.process_request_without_body();
        if self.intervention.is_none() {
            saved.restore(self);
        }
        self.intervention.as_ref()
    }
}
