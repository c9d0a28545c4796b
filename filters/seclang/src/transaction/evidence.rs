//! What a transaction reports: the intervention it decided and the rules that matched.

use crate::phase::Phase;
use crate::rule::Rule;

/// The disruptive action behind an intervention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterventionAction {
    /// `deny`: refuse with `status`.
    Deny,
    /// `drop`: close the connection.
    Drop,
    /// `redirect`: answer with `status` and `url`.
    Redirect,
    /// A body exceeded its limit with `Reject` configured.
    BodyLimit,
}

/// A decision to interrupt the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervention {
    /// HTTP status to answer with.
    pub status: u16,
    /// Redirect target, for `redirect`.
    pub url: Option<String>,
    /// What caused it.
    pub action: InterventionAction,
    /// The rule that decided (0 for body limits).
    pub rule_id: u64,
    /// Phase in which it was decided.
    pub phase: Phase,
    /// The rule's expanded `msg` (or the limit that was exceeded).
    pub log: String,
}

/// A rule whose whole chain matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRule {
    /// Rule id.
    pub id: u64,
    /// Phase it ran in.
    pub phase: Phase,
    /// Expanded `msg`.
    pub msg: String,
    /// Expanded `logdata`.
    pub logdata: String,
    /// Severity 0-7, when set.
    pub severity: Option<u8>,
    /// Tags.
    pub tags: Vec<String>,
    /// `ver`.
    pub ver: Option<String>,
    /// `rev`.
    pub rev: Option<String>,
    /// `maturity`.
    pub maturity: Option<u8>,
    /// `accuracy`.
    pub accuracy: Option<u8>,
    /// Name of the variable that matched in the chain starter (e.g. `ARGS:q`).
    pub variable: String,
    /// The transformed value that matched in the chain starter.
    pub value: Vec<u8>,
    /// Every (variable, transformed value) that matched, across all chain links.
    pub matches: Vec<(String, Vec<u8>)>,
    /// The effective disruptive action name (`pass`, `deny`, `block`...).
    pub disruptive: &'static str,
    /// False for `nolog` rules: ModSecurity would not write them to its error log.
    pub logged: bool,
}

impl MatchedRule {
    /// The evidence of `record`, a match of `rule`, with the rule's metadata.
    pub(crate) fn new(rule: &Rule, record: &MatchRecord) -> MatchedRule {
        let a = &rule.actions;
        let (variable, value) = record.matches.first().cloned().unwrap_or_default();
        MatchedRule {
            id: rule.id,
            phase: record.phase,
            msg: record.msg.clone(),
            logdata: record.logdata.clone(),
            severity: a.severity,
            tags: a.tags.clone(),
            ver: a.ver.clone(),
            rev: a.rev.clone(),
            maturity: a.maturity,
            accuracy: a.accuracy,
            variable,
            value,
            matches: record.matches.clone(),
            disruptive: rule.disruptive.name(),
            logged: rule.log,
        }
    }
}

/// A rule whose chain matched, as recorded during evaluation (turned into a [`MatchedRule`]
/// only when asked for, so matching copies no metadata).
#[derive(Debug, Clone)]
pub(crate) struct MatchRecord {
    /// Phase and position of the rule in the rule set's phase list.
    pub(crate) phase: Phase,
    pub(crate) index: usize,
    /// Expanded `msg` and `logdata`.
    pub(crate) msg: String,
    pub(crate) logdata: String,
    /// Every (variable, transformed value) matched across the chain.
    pub(crate) matches: Vec<(String, Vec<u8>)>,
}
