//! One HTTP exchange evaluated against a rule set, driven in libmodsecurity's order:
//! connection, URI, request headers (phase 1), request body (phase 2), response headers
//! (phase 3), response body (phase 4), logging (phase 5).

mod body;
mod eval;
mod evidence;
mod head;
mod resolver;
mod state;
mod transform_cache;
mod value_table;
mod vars;

use crate::action::EngineMode;
use crate::body::urlencoded;
use crate::clock;
use crate::collection::Collection;
use crate::config::LimitAction;
use crate::phase::Phase;
use crate::transform::{self, PercentDecoding};

pub use evidence::{Intervention, InterventionAction, MatchedRule};
pub use state::{RequestBodyState, Transaction};

impl Transaction {
    /// Records the connection's addresses (REMOTE_ADDR/PORT, SERVER_ADDR/PORT).
    pub fn process_connection(&mut self, client_ip: &str, client_port: u16, server_ip: &str, server_port: u16) {
        self.remote_addr = client_ip.to_string();
        self.remote_port = client_port;
        self.server_addr = server_ip.to_string();
        self.server_port = server_port;
    }

    /// Records the request line and parses the query string into ARGS_GET.
    /// `http_version` is `1.1` (or `HTTP/1.1`).
    pub fn process_uri(&mut self, uri: &[u8], method: &str, http_version: &str) {
        self.method = method.as_bytes().to_vec();
        self.uri_raw = uri.to_vec();
        self.protocol = if http_version.to_ascii_uppercase().starts_with("HTTP/") {
            http_version.as_bytes().to_vec()
        } else {
            format!("HTTP/{http_version}").into_bytes()
        };
        let mut line = self.method.clone();
        line.push(b' ');
        line.extend_from_slice(uri);
        line.push(b' ');
        line.extend_from_slice(&self.protocol);
        self.request_line = line;

        // The fragment never reaches the server; ModSecurity drops it from the query string.
        let without_fragment = match uri.iter().position(|&b| b == b'#') {
            Some(p) => &uri[..p],
            None => uri,
        };
        let (path, query) = match without_fragment.iter().position(|&b| b == b'?') {
            Some(p) => (&without_fragment[..p], Some(&without_fragment[p + 1..])),
            None => (without_fragment, None),
        };
        self.query_string = query.map(<[u8]>::to_vec).unwrap_or_default();
        // As libmodsecurity v3: REQUEST_URI is the decoded URI without fragment (absolute
        // form reduced to its path); REQUEST_FILENAME the decoded path as sent; the basename
        // follows the last `/` or `\\` and is empty when there is none.
        let decoded_uri = percent_decode(without_fragment);
        self.request_uri = strip_scheme_and_host(&decoded_uri).to_vec();
        self.filename = percent_decode(path);
        self.basename = match self.filename.iter().rposition(|&b| b == b'/' || b == b'\\') {
            Some(p) => self.filename[p + 1..].to_vec(),
            None => Vec::new(),
        };
        if let Some(q) = query {
            let limit = self.rules.config.arguments_limit.unwrap_or(usize::MAX);
            let parsed = urlencoded::parse_limited(q, self.rules.config.argument_separator, limit);
            if parsed.invalid_encoding {
                self.urlencoded_error = true;
            }
            for (k, v) in parsed.args {
                self.args_get.add_owned(k, v);
            }
        }
    }

    /// Adds one request header; repeated headers are kept as separate values.
    pub fn add_request_header(&mut self, name: &[u8], value: &[u8]) {
        self.request_headers.add(name, value);
        if name.eq_ignore_ascii_case(b"cookie") {
            parse_cookies(value, &mut self.request_cookies);
        }
    }

    /// Runs phase 1 (request headers).
    pub fn process_request_headers(&mut self) {
        self.run_phases_through(Phase::RequestHeaders);
    }

    /// Buffers a chunk of the request body, applying SecRequestBodyLimit and its action.
    pub fn append_request_body(&mut self, chunk: &[u8]) {
        if !self.request_body_access() {
            return;
        }
        let limit = self
            .overrides
            .request_body_limit
            .unwrap_or(self.rules.config.request_body_limit);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let room = limit.saturating_sub(self.request_body.len());
        if chunk.len() <= room {
            self.request_body.extend_from_slice(chunk);
            return;
        }
        self.request_body.extend_from_slice(&chunk[..room]);
        if self.inbound_data_error {
            return;
        }
        self.inbound_data_error = true;
        if self.rules.config.request_body_limit_action == LimitAction::Reject {
            self.body_limit_decision(
                413,
                Phase::RequestBody,
                format!("Request body is larger than the configured limit ({limit} bytes)"),
            );
        }
    }

    /// Runs the body processor, then phase 2 (request body).
    pub fn process_request_body(&mut self) {
        self.run_phases_through(Phase::RequestHeaders);
        if !self.ran(Phase::RequestBody) && self.request_body_access() {
            self.process_body();
        }
        self.run_phases_through(Phase::RequestBody);
    }

    /// Runs phase 2 with no request body: body access off for this transaction, so no body
    /// processor runs (an empty body is not a parse error) and the request-body rules see the
    /// head's variables only. For deciding on a head before its body arrives, in a copy
    /// ([`Transaction::fork_before_body`]); [`Transaction::decide_on_head`] does it in place.
    pub fn process_request_without_body(&mut self) {
        self.overrides.request_body_access = Some(false);
        self.process_request_body();
    }

    /// A copy of this transaction as it stands after phase 1, for evaluating one more request
    /// body on its own (one message of a stream): the copy has the head's variables, scores and
    /// matches, and no body. `None` once the request body was buffered or phase 2 ran, since a
    /// copy would then count that body again.
    pub fn fork_before_body(&self) -> Option<Transaction> {
        if self.ran(Phase::RequestBody) || !self.request_body.is_empty() || self.inbound_data_error {
            return None;
        }
        Some(Transaction {
            rules: self.rules.clone(),
            engine: self.engine,
            started: self.started,
            unique_id: self.unique_id.clone(),
            remote_addr: self.remote_addr.clone(),
            remote_port: self.remote_port,
            server_addr: self.server_addr.clone(),
            server_port: self.server_port,
            method: self.method.clone(),
            uri_raw: self.uri_raw.clone(),
            request_uri: self.request_uri.clone(),
            filename: self.filename.clone(),
            basename: self.basename.clone(),
            query_string: self.query_string.clone(),
            protocol: self.protocol.clone(),
            request_line: self.request_line.clone(),
            args_get: self.args_get.clone(),
            request_headers: self.request_headers.clone(),
            request_cookies: self.request_cookies.clone(),
            request_body: Vec::new(),
            body: RequestBodyState::default(),
            inbound_data_error: false,
            outbound_data_error: self.outbound_data_error,
            urlencoded_error: self.urlencoded_error,
            response_status: self.response_status,
            response_protocol: self.response_protocol.clone(),
            response_headers: self.response_headers.clone(),
            response_body: self.response_body.clone(),
            tx: self.tx.clone(),
            persistent: self.persistent.clone(),
            env: self.env.clone(),
            matched_vars: self.matched_vars.clone(),
            highest_severity: self.highest_severity,
            overrides: self.overrides.clone(),
            last_phase: self.last_phase,
            allow: self.allow,
            intervention: self.intervention.clone(),
            decision: self.decision.clone(),
            matches: self.matches.clone(),
            matched_rules: std::cell::OnceCell::new(),
            // Persisted once, by whichever of the two runs phase 5 (a copy that replaces the
            // original, or the original).
            persisted: self.persisted,
            // The cache is keyed by value addresses, which are the original's.
            transform_cache: std::cell::RefCell::new(transform_cache::TransformCache::take()),
        })
    }

    /// How many (value, transformation chain) pairs this transaction transformed and cached
    /// so far: each is computed once, so a second evaluation of the same values adds none.
    pub fn cached_transformations(&self) -> u64 {
        self.transform_cache.borrow().transformed()
    }

    /// Adds one response header.
    pub fn add_response_header(&mut self, name: &[u8], value: &[u8]) {
        self.response_headers.add(name, value);
    }

    /// Records the response status and runs phase 3 (response headers).
    pub fn process_response_headers(&mut self, status: u16, protocol: &str) {
        self.run_phases_through(Phase::RequestBody);
        self.response_status = status;
        self.response_protocol = protocol.as_bytes().to_vec();
        self.run_phases_through(Phase::ResponseHeaders);
    }

    /// Buffers a chunk of the response body when SecResponseBodyAccess and the MIME type allow it.
    pub fn append_response_body(&mut self, chunk: &[u8]) {
        if !self.response_body_wanted() {
            return;
        }
        let limit = usize::try_from(self.rules.config.response_body_limit).unwrap_or(usize::MAX);
        let room = limit.saturating_sub(self.response_body.len());
        if chunk.len() <= room {
            self.response_body.extend_from_slice(chunk);
            return;
        }
        self.response_body.extend_from_slice(&chunk[..room]);
        if self.outbound_data_error {
            return;
        }
        self.outbound_data_error = true;
        if self.rules.config.response_body_limit_action == LimitAction::Reject {
            self.body_limit_decision(
                500,
                Phase::ResponseBody,
                format!("Response body is larger than the configured limit ({limit} bytes)"),
            );
        }
    }

    /// Runs phase 4 (response body).
    pub fn process_response_body(&mut self) {
        self.run_phases_through(Phase::ResponseBody);
    }

    /// Runs phase 4 again with `window` as the response body: a stretch of the body past the
    /// inspection limit, scanned for leaks as it streams. Its matches join the transaction's
    /// (scores accumulate, a disruptive rule decides). Nothing happens before phase 4 ran,
    /// after a decision or after phase 5.
    pub fn rescan_response_body(&mut self, window: &[u8]) {
        if self.intervention.is_some() || !self.ran(Phase::ResponseBody) || self.ran(Phase::Logging) {
            return;
        }
        self.response_body.clear();
        self.response_body.extend_from_slice(window);
        let before = self.matches.len();
        self.run_phase(Phase::ResponseBody);
        // A `nolog` match of a window is bookkeeping no one reads once the window is gone
        // (CRS's 951100, `!@pmFromFile sql-errors.data`, matches every clean window), yet its
        // record holds the window: kept, a 100 MB response scanned in 64 KiB windows grew a VM
        // by 300 MiB. Logged matches stay (they end the scan and are the evidence).
        if self.matches.len() > before {
            let rules = std::sync::Arc::clone(&self.rules);
            let added = self.matches.split_off(before);
            self.matches.extend(
                added
                    .into_iter()
                    .filter(|m| rules.rules(m.phase).get(m.index).is_some_and(|r| r.log)),
            );
            self.matched_rules.take();
        }
    }

    /// Runs phase 5 (logging) and stores persistent collections.
    pub fn process_logging(&mut self) {
        self.run_phases_through(Phase::Logging);
        self.persist();
    }

    /// The enforced intervention, if any (never set in DetectionOnly or Off mode).
    pub fn intervention(&self) -> Option<&Intervention> {
        self.intervention.as_ref()
    }

    /// The first disruptive decision the rules made, enforced or not (DetectionOnly records it here).
    pub fn decision(&self) -> Option<&Intervention> {
        self.decision.as_ref()
    }

    /// Rules whose whole chain matched, in evaluation order (`nolog` rules have `logged == false`).
    pub fn matched_rules(&self) -> &[MatchedRule] {
        self.matched_rules.get_or_init(|| {
            self.matches
                .iter()
                .filter_map(|m| Some(MatchedRule::new(self.rules.rules(m.phase).get(m.index)?, m)))
                .collect()
        })
    }

    /// True when a rule that is logged (not `nolog`) matched. Unlike [`Self::matched_rules`]
    /// this builds nothing, so clean traffic (where only CRS's `nolog` bookkeeping rules
    /// match) can skip the evidence entirely.
    pub fn has_logged_match(&self) -> bool {
        self.logged_match_count() > 0
    }

    /// How many matched rules are logged (not `nolog`); the count of
    /// `matched_rules().iter().filter(|r| r.logged)` without building the rules.
    pub fn logged_match_count(&self) -> usize {
        self.matches
            .iter()
            .filter(|m| self.rules.rules(m.phase).get(m.index).is_some_and(|r| r.log))
            .count()
    }

    /// A collection by name: `tx`, `ip`, `global`, `session`, `user`, `resource`, `env`,
    /// `args_get`, `request_headers`, `request_cookies`, `response_headers`.
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        match name.to_ascii_lowercase().as_str() {
            "tx" => Some(&self.tx),
            "env" => Some(&self.env),
            "args_get" => Some(&self.args_get),
            "args_post" => Some(&self.body.args_post),
            "request_headers" => Some(&self.request_headers),
            "request_cookies" => Some(&self.request_cookies),
            "response_headers" => Some(&self.response_headers),
            other => self.persistent.get(other).map(|b| &b.record.values),
        }
    }

    /// A TX variable as text (e.g. `blocking_inbound_anomaly_score`).
    pub fn tx_var(&self, name: &str) -> Option<String> {
        self.tx
            .get(name.as_bytes())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The inbound anomaly score CRS computed (`tx.blocking_inbound_anomaly_score`, 0 if unset).
    pub fn inbound_anomaly_score(&self) -> i64 {
        self.tx_var("blocking_inbound_anomaly_score")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The outbound anomaly score CRS computed (`tx.blocking_outbound_anomaly_score`, 0 if unset).
    pub fn outbound_anomaly_score(&self) -> i64 {
        self.tx_var("blocking_outbound_anomaly_score")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The engine mode in effect (after any `ctl:ruleEngine`).
    pub fn engine_mode(&self) -> EngineMode {
        self.engine
    }

    /// UNIQUE_ID of this transaction.
    pub fn unique_id(&self) -> &str {
        &self.unique_id
    }

    /// The request body processor that ran, if any, with its error message.
    pub fn request_body_state(&self) -> &RequestBodyState {
        &self.body
    }

    /// `ctl:auditEngine` / `ctl:auditLogParts` values set by rules, for the embedding logger.
    pub fn audit_overrides(&self) -> (Option<&str>, Option<&str>) {
        (
            self.overrides.audit_engine.as_deref(),
            self.overrides.audit_log_parts.as_deref(),
        )
    }

    pub(crate) fn request_body_access(&self) -> bool {
        self.overrides
            .request_body_access
            .unwrap_or(self.rules.config.request_body_access)
    }

    fn response_body_wanted(&self) -> bool {
        if !self
            .overrides
            .response_body_access
            .unwrap_or(self.rules.config.response_body_access)
        {
            return false;
        }
        let ct = self.response_headers.get(b"content-type").unwrap_or(b"");
        let mime = ct.split(|&b| b == b';').next().unwrap_or(b"");
        let mime = String::from_utf8_lossy(mime).trim().to_ascii_lowercase();
        self.rules.config.response_body_mime_types.contains(&mime)
    }

    fn body_limit_decision(&mut self, status: u16, phase: Phase, log: String) {
        let iv = Intervention {
            status,
            url: None,
            action: InterventionAction::BodyLimit,
            rule_id: 0,
            phase,
            log,
        };
        if self.decision.is_none() {
            self.decision = Some(iv.clone());
        }
        if self.engine == EngineMode::On && self.intervention.is_none() {
            self.intervention = Some(iv);
        }
    }

    /// True once `phase` ran (or began running).
    fn ran(&self, phase: Phase) -> bool {
        self.last_phase.is_some_and(|last| last >= phase)
    }

    /// Runs every phase not yet run up to `last`, in order.
    fn run_phases_through(&mut self, last: Phase) {
        for phase in Phase::ALL.into_iter().take_while(|&p| p <= last) {
            if self.ran(phase) {
                continue;
            }
            self.last_phase = Some(phase);
            if phase == Phase::RequestBody && !self.body.processed && self.request_body_access() {
                self.process_body();
            }
            self.run_phase(phase);
        }
    }

    fn persist(&mut self) {
        if self.persisted {
            return;
        }
        self.persisted = true;
        let timeout = self.rules.config.collection_timeout;
        let now = clock::now_unix();
        let Ok(mut store) = self.rules.store.lock() else {
            return;
        };
        for (name, bound) in &self.persistent {
            // Collections written without `initcol` have no key and are not stored.
            if bound.key.is_empty() {
                continue;
            }
            let mut record = bound.record.clone();
            record.expires_at = now.saturating_add(timeout);
            store.store(name, &bound.key, record);
        }
    }
}

/// Decodes valid `%HH` sequences (not `+`), keeping invalid ones, as ModSecurity's uri_decode.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    transform::percent_decode(input, PercentDecoding::URI).0.into_owned()
}

/// For absolute-form URIs (`http://host/path`), keeps the path part as ModSecurity does.
fn strip_scheme_and_host(uri: &[u8]) -> &[u8] {
    if uri.is_empty() || uri.first() == Some(&b'/') {
        return uri;
    }
    // `scheme://netloc/path`: the first `:` must be followed directly by `//`.
    let Some(colon) = uri.iter().position(|&b| b == b':') else {
        return uri;
    };
    if uri.get(colon + 1..colon + 3) != Some(b"//") {
        return uri;
    }
    let netloc = colon + 3;
    match uri.get(netloc..).and_then(|rest| rest.iter().position(|&b| b == b'/')) {
        Some(p) => &uri[netloc + p..],
        None => uri,
    }
}

/// Splits a Cookie header as ModSecurity v3 does: `;`-separated, leading blanks trimmed,
/// name and value split on the first `=`, no decoding.
fn parse_cookies(header: &[u8], out: &mut Collection) {
    for piece in header.split(|&b| b == b';') {
        let start = piece
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(piece.len());
        let piece = &piece[start..];
        if piece.is_empty() {
            continue;
        }
        match piece.iter().position(|&b| b == b'=') {
            Some(eq) => out.add(&piece[..eq], &piece[eq + 1..]),
            None => out.add(piece, b""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decode_keeps_invalid() {
        assert_eq!(percent_decode(b"/a%20b%zz%4"), b"/a b%zz%4");
        assert_eq!(percent_decode(b"a+b"), b"a+b");
    }

    #[test]
    fn absolute_uri_keeps_path() {
        assert_eq!(strip_scheme_and_host(b"http://h.example/p?q"), b"/p?q");
        assert_eq!(strip_scheme_and_host(b"/p"), b"/p");
    }

    #[test]
    fn cookies_split_like_modsecurity() {
        let mut c = Collection::new();
        parse_cookies(b"a=1; b=x=y;c;  d=", &mut c);
        let got: Vec<(Vec<u8>, Vec<u8>)> = c.iter().map(|e| (e.key.clone(), e.value.clone())).collect();
        assert_eq!(
            got,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"x=y".to_vec()),
                (b"c".to_vec(), b"".to_vec()),
                (b"d".to_vec(), b"".to_vec())
            ]
        );
    }
}
