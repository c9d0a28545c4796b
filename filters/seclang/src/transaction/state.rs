//! The state of one exchange: what the proxy passed in, what the rules set, what was decided.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::action::{AllowScope, BodyProcessor, EngineMode, IdRange};
use crate::body::{multipart, xml};
use crate::clock;
use crate::collection::Collection;
use crate::compiled::CompiledRules;
use crate::persist::StoredRecord;
use crate::phase::Phase;
use crate::variable::Exclusion;

use super::evidence::{Intervention, MatchRecord, MatchedRule};
use super::transform_cache::TransformCache;

static UNIQUE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Room reserved in TX up front, so setting CRS's variables does not regrow it repeatedly.
const TX_CAPACITY: usize = 128;

/// Per-rule state changes made by `ctl` during this transaction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) removed_ids: Vec<IdRange>,
    pub(crate) removed_tags: Vec<String>,
    pub(crate) target_by_id: Vec<(Vec<IdRange>, Vec<Exclusion>)>,
    pub(crate) target_by_tag: Vec<(String, Vec<Exclusion>)>,
    pub(crate) body_processor: Option<BodyProcessor>,
    pub(crate) force_request_body_variable: bool,
    pub(crate) request_body_access: Option<bool>,
    pub(crate) response_body_access: Option<bool>,
    pub(crate) request_body_limit: Option<u64>,
    pub(crate) audit_engine: Option<String>,
    pub(crate) audit_log_parts: Option<String>,
}

/// A persistent collection bound by `initcol`.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub(crate) key: Vec<u8>,
    pub(crate) record: StoredRecord,
}

/// What the request body processor produced (ARGS_POST, FILES*, MULTIPART_*, XML, REQBODY_*).
#[derive(Debug, Default)]
pub struct RequestBodyState {
    /// The processor that ran (REQBODY_PROCESSOR).
    pub processor: Option<BodyProcessor>,
    /// True once the body was processed.
    pub processed: bool,
    /// The error message (REQBODY_ERROR_MSG); REQBODY_ERROR is 1 when set.
    pub error: Option<String>,
    /// Arguments from the body (ARGS_POST).
    pub(crate) args_post: Collection,
    /// Uploaded files (FILES, FILES_NAMES, FILES_SIZES, FILES_TMP_CONTENT).
    pub(crate) files: Vec<multipart::UploadedFile>,
    /// MULTIPART_PART_HEADERS: (part name, header line).
    pub(crate) part_headers: Collection,
    /// MULTIPART_NAME values.
    pub(crate) multipart_names: Vec<Vec<u8>>,
    /// MULTIPART_FILENAME values.
    pub(crate) multipart_filenames: Vec<Vec<u8>>,
    /// Multipart strictness flags.
    pub(crate) multipart_flags: Option<multipart::MultipartFlags>,
    /// The parsed XML document.
    pub(crate) xml: Option<xml::XmlDocument>,
    /// Parts of the body the processor could not inspect (`grpc_compressed_message`...), for the
    /// evidence event's `limits`.
    pub uninspected: Vec<&'static str>,
}

/// One request/response exchange evaluated against a rule set (`RuleSet::transaction` starts
/// one): feed it the request and response in order and read the decision after each phase.
pub struct Transaction {
    pub(crate) rules: Arc<CompiledRules>,
    pub(crate) engine: EngineMode,
    /// Start time since the epoch, from [`clock::now`] (DURATION is measured against it).
    pub(crate) started: Duration,
    pub(crate) unique_id: String,

    pub(crate) remote_addr: String,
    pub(crate) remote_port: u16,
    pub(crate) server_addr: String,
    pub(crate) server_port: u16,

    pub(crate) method: Vec<u8>,
    pub(crate) uri_raw: Vec<u8>,
    pub(crate) request_uri: Vec<u8>,
    pub(crate) filename: Vec<u8>,
    pub(crate) basename: Vec<u8>,
    pub(crate) query_string: Vec<u8>,
    pub(crate) protocol: Vec<u8>,
    pub(crate) request_line: Vec<u8>,
    pub(crate) args_get: Collection,
    pub(crate) request_headers: Collection,
    pub(crate) request_cookies: Collection,
    pub(crate) request_body: Vec<u8>,
    pub(crate) body: RequestBodyState,
    pub(crate) inbound_data_error: bool,
    pub(crate) outbound_data_error: bool,
    pub(crate) urlencoded_error: bool,

    pub(crate) response_status: u16,
    pub(crate) response_protocol: Vec<u8>,
    pub(crate) response_headers: Collection,
    pub(crate) response_body: Vec<u8>,

    pub(crate) tx: Collection,
    pub(crate) persistent: HashMap<String, Bound>,
    pub(crate) env: Collection,
    pub(crate) matched_vars: Vec<(String, Vec<u8>)>,
    pub(crate) highest_severity: u8,

    pub(crate) overrides: Overrides,
    /// The last phase run, `None` before phase 1.
    pub(crate) last_phase: Option<Phase>,
    pub(crate) allow: Option<AllowScope>,
    pub(crate) intervention: Option<Intervention>,
    pub(crate) decision: Option<Intervention>,
    /// Full matches as recorded during evaluation (cheap: no metadata copies).
    pub(crate) matches: Vec<MatchRecord>,
    /// `matches` turned into evidence on first request; reset when a rule matches again.
    pub(crate) matched_rules: OnceCell<Vec<MatchedRule>>,
    pub(crate) persisted: bool,
    /// Transformed values of request data, keyed by (value address, length, chain id).
    pub(crate) transform_cache: RefCell<TransformCache>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("unique_id", &self.unique_id)
            .field("phases_done", &self.last_phase.map_or(0, Phase::number))
            .field("intervention", &self.intervention)
            .finish_non_exhaustive()
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        std::mem::take(self.transform_cache.get_mut()).release();
    }
}

impl Transaction {
    /// A transaction over `rules` that has seen nothing yet.
    pub(crate) fn new(rules: Arc<CompiledRules>) -> Transaction {
        let started = clock::now();
        let started_unix = started.as_secs();
        let n = UNIQUE_COUNTER.fetch_add(1, Ordering::Relaxed);
        let engine = rules.config.rule_engine;
        Transaction {
            rules,
            engine,
            started,
            unique_id: format!("{started_unix}.{n:08}"),
            remote_addr: String::new(),
            remote_port: 0,
            server_addr: String::new(),
            server_port: 0,
            method: Vec::new(),
            uri_raw: Vec::new(),
            request_uri: Vec::new(),
            filename: Vec::new(),
            basename: Vec::new(),
            query_string: Vec::new(),
            protocol: Vec::new(),
            request_line: Vec::new(),
            args_get: Collection::new(),
            request_headers: Collection::new(),
            request_cookies: Collection::new(),
            request_body: Vec::new(),
            body: RequestBodyState::default(),
            inbound_data_error: false,
            outbound_data_error: false,
            urlencoded_error: false,
            response_status: 0,
            response_protocol: Vec::new(),
            response_headers: Collection::new(),
            response_body: Vec::new(),
            // CRS sets about a hundred TX variables on every request.
            tx: Collection::with_capacity(TX_CAPACITY),
            persistent: HashMap::new(),
            env: Collection::new(),
            matched_vars: Vec::new(),
            highest_severity: 255,
            overrides: Overrides::default(),
            last_phase: None,
            allow: None,
            intervention: None,
            decision: None,
            matches: Vec::new(),
            matched_rules: OnceCell::new(),
            persisted: false,
            transform_cache: RefCell::new(TransformCache::take()),
        }
    }
}
