//! Rule evaluation: phases, chains, skips, transformations, operators and actions.

use std::borrow::Cow;

use crate::action::{AllowScope, Ctl, Disruptive, EngineMode, RuntimeAction, SetVar, SetVarOp};
use crate::clock;
use crate::collection::Collection;
use crate::macros::MacroString;
use crate::operator::{Captures, Operator};
use crate::phase::Phase;
use crate::rule::{Rule, RuleKind};
use crate::transform::apply_chain;
use crate::variable::{Exclusion, Selector, Targets, Variable};

use super::evidence::{Intervention, InterventionAction, MatchRecord};
use super::resolver::Resolver;
use super::state::{Bound, Transaction};
use super::transform_cache::UnionKey;

/// One value that satisfied a rule link's operator.
struct Hit {
    name: String,
    value: Vec<u8>,
    captures: Option<Captures>,
}

/// What the phase loop does after a rule matched.
enum Flow {
    Continue,
    StopPhase,
}

/// Variables whose values live in buffers that are neither changed nor freed once the
/// request line and headers are known, so a value's address identifies it for the
/// transaction's lifetime (the transformed-value cache relies on this).
fn is_stable(variable: Variable) -> bool {
    use Variable as V;
    matches!(
        variable,
        V::Args
            | V::ArgsGet
            | V::ArgsPost
            | V::ArgsNames
            | V::ArgsGetNames
            | V::ArgsPostNames
            | V::RequestHeaders
            | V::RequestHeadersNames
            | V::RequestCookies
            | V::RequestCookiesNames
            | V::RequestFilename
            | V::RequestBasename
            | V::RequestUri
            | V::RequestUriRaw
            | V::RequestLine
            | V::QueryString
    )
}

/// Variables whose values rules cannot change, so they stay the same for a whole phase
/// (the prefilter's per-target unions are rebuilt at every phase).
fn is_phase_constant(variable: Variable) -> bool {
    use Variable as V;
    is_stable(variable)
        || matches!(
            variable,
            V::RequestBody
                | V::ResponseBody
                | V::ResponseHeaders
                | V::ResponseHeadersNames
                | V::RequestMethod
                | V::RequestProtocol
        )
}

/// The name MATCHED_VAR_NAME reports: `ARGS:foo`, or `REQUEST_URI` for scalars.
fn hit_name(variable: Variable, key: Option<&[u8]>) -> String {
    let name = variable.name();
    match key {
        Some(k) => {
            // Built by hand: this runs for every matching value and `format!` costs more.
            let k = String::from_utf8_lossy(k);
            let mut s = String::with_capacity(name.len() + 1 + k.len());
            s.push_str(name);
            s.push(':');
            s.push_str(&k);
            s
        }
        None => name.to_string(),
    }
}

impl Transaction {
    /// Evaluates every rule of `phase` in order.
    pub(crate) fn run_phase(&mut self, phase: Phase) {
        if self.engine == EngineMode::Off {
            return;
        }
        if self.intervention.is_some() && phase < Phase::Logging {
            return;
        }
        match self.allow {
            Some(AllowScope::Transaction) if phase < Phase::Logging => return,
            Some(AllowScope::Request) if phase <= Phase::RequestBody => return,
            Some(AllowScope::Phase) => self.allow = None,
            _ => {}
        }
        // Stable variables change between phases (the body processor fills ARGS_POST).
        self.transform_cache.get_mut().clear_unions();
        let rules = self.rules.clone();
        let list = rules.rules(phase);
        let mut skip_after: Option<&str> = None;
        let mut skip = 0u32;
        for (index, rule) in list.iter().enumerate() {
            if let Some(marker) = skip_after {
                if rule.marker() == Some(marker) {
                    skip_after = None;
                }
                continue;
            }
            if rule.marker().is_some() {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if self.engine == EngineMode::Off {
                return;
            }
            if self.is_removed(rule) {
                continue;
            }
            #[cfg(feature = "rule-counts")]
            crate::rule_counts::evaluated(rule.id);
            // MATCHED_VARS only grows while every link matches, so this rule's hits are
            // the entries added after `start`.
            let start = self.matched_vars.len();
            if !self.eval_link(rule, rule) {
                continue;
            }
            let matches = self.matched_vars.get(start..).map(<[_]>::to_vec).unwrap_or_default();
            if let Flow::StopPhase = self.on_full_match(rule, phase, index, matches) {
                return;
            }
            if let Some(marker) = &rule.actions.skip_after {
                skip_after = Some(marker);
            }
            if let Some(n) = rule.actions.skip {
                skip = n;
            }
        }
    }

    fn is_removed(&self, rule: &Rule) -> bool {
        let o = &self.overrides;
        o.removed_ids.iter().any(|r| r.contains(rule.id))
            || (!o.removed_tags.is_empty() && rule.actions.tags.iter().any(|t| o.removed_tags.contains(t)))
    }

    /// Evaluates one chain link and, when it matches, the rest of the chain.
    fn eval_link(&mut self, link: &Rule, starter: &Rule) -> bool {
        let hits = match &link.kind {
            RuleKind::Action => {
                // One unconditional match with no variable: only its setvars run per hit.
                for sv in &link.actions.setvars {
                    self.apply_setvar(sv, starter);
                }
                Vec::new()
            }
            RuleKind::Rule {
                targets,
                operator,
                negated,
            } => {
                let hits = self.collect_hits(link, starter, targets, operator, *negated);
                if hits.is_empty() {
                    // libmodsecurity v3 clears the MATCHED_VAR* variables when a rule link
                    // fails; they otherwise accumulate, so a chained rule sees what its
                    // parents matched.
                    self.matched_vars.clear();
                    return false;
                }
                hits
            }
            RuleKind::Marker(_) => return false,
        };
        for hit in hits {
            if !hit.name.is_empty() {
                // MATCHED_VAR(_NAME) is the last entry of MATCHED_VARS.
                self.matched_vars.push((hit.name, hit.value));
            }
            if let Some(c) = hit.captures {
                for (i, g) in c.groups.iter().enumerate() {
                    let key = [b'0' + i as u8];
                    match g {
                        Some(v) => self.tx.set(&key, v.clone()),
                        None => {
                            self.tx.remove(&key);
                        }
                    }
                }
            }
            // ModSecurity v3 runs setvar for every matching value, before the chain continues.
            for sv in &link.actions.setvars {
                self.apply_setvar(sv, starter);
            }
        }
        if let Some(child) = &link.chained {
            if !self.eval_link(child, starter) {
                return false;
            }
        }
        for action in &link.actions.runtime {
            self.apply_runtime(action, starter);
        }
        true
    }

    /// Runs the operator over every selected, transformed value of the link's targets.
    fn collect_hits(
        &self,
        link: &Rule,
        starter: &Rule,
        targets: &Targets,
        operator: &Operator,
        negated: bool,
    ) -> Vec<Hit> {
        let resolver = Resolver {
            tx: self,
            rule: Some(starter),
        };
        let extra = self.extra_exclusions(starter);
        let mut hits = Vec::new();
        let capture = link.actions.capture;
        let prefilters = &self.rules.prefilters;
        let multi = link.actions.multi_match;
        for target in &targets.targets {
            let variable = target.variable;
            let whole_excluded = targets
                .exclusions
                .iter()
                .chain(extra.iter().copied())
                .any(|e| e.variable == variable && matches!(e.selector, Selector::All));
            if whole_excluded {
                continue;
            }
            let keep = |key: &[u8]| {
                !targets.exclusions.iter().any(|e| e.excludes(variable, key))
                    && !extra.iter().any(|e| e.excludes(variable, key))
            };
            let cacheable = !target.count && is_stable(variable);
            // Most CRS links are rejected by their prefilter for every value of a target:
            // one check of the union of the values' scans skips the whole target.
            let constant = !target.count && is_phase_constant(variable);
            if let (Some(slot), true, false, Selector::All) = (link.prefilter_slot, constant, negated, &target.selector)
            {
                if !self.target_may_match(variable, link, slot, multi) {
                    continue;
                }
            }
            let test = |key: Option<&[u8]>, value: &[u8], hits: &mut Vec<Hit>| {
                // `may_match` false: the prefilter proved the operator cannot match `v`.
                let check = |v: &[u8], hits: &mut Vec<Hit>, may_match: bool| {
                    #[cfg(feature = "rule-counts")]
                    if may_match {
                        crate::rule_counts::operator_called(starter.id);
                    }
                    // Capturing costs far more than testing; capture only once a value matched.
                    let mut matched = may_match
                        && link.gate.as_ref().is_none_or(|g| g.may_match(v))
                        && operator.matches(v, &resolver, None);
                    let mut captures = None;
                    if matched && capture && !negated {
                        let mut caps = Captures::default();
                        matched = operator.matches(v, &resolver, Some(&mut caps));
                        captures = Some(caps);
                    }
                    if matched != negated {
                        hits.push(Hit {
                            name: hit_name(variable, key),
                            value: v.to_vec(),
                            captures,
                        });
                    }
                };
                if multi {
                    // multiMatch: test the value before any transformation and after each
                    // transformation that changed it; none of which can match when the chain
                    // changes the value at most in case and its literals are not in it.
                    if let (Some(slot), true, false) = (link.prefilter_slot, cacheable, negated) {
                        let chain = (link.transforms_id, link.transforms.as_slice());
                        if !self
                            .transform_cache
                            .borrow_mut()
                            .intermediates_may_match(prefilters, value, chain, slot)
                        {
                            return;
                        }
                    }
                    // A transformation that leaves the value as it is (a borrowed answer of
                    // the same length) costs no copy and no comparison.
                    let mut current: Cow<'_, [u8]> = Cow::Borrowed(value);
                    check(&current, hits, true);
                    for t in &link.transforms {
                        let next = match t.apply(&current) {
                            Cow::Borrowed(s) if s.len() == current.len() => continue,
                            Cow::Borrowed(s) => s.to_vec(),
                            Cow::Owned(o) if o.as_slice() == current.as_ref() => continue,
                            Cow::Owned(o) => o,
                        };
                        check(&next, hits, true);
                        current = Cow::Owned(next);
                    }
                } else if let Some(entry) = (cacheable
                    && (!link.transforms.is_empty() || link.prefilter_slot.is_some()))
                .then(|| {
                    let chain = (link.transforms_id, link.transforms.as_slice());
                    let scan = link.prefilter_slot.is_some();
                    self.transform_cache
                        .borrow_mut()
                        .get_or_transform(prefilters, value, chain, scan)
                })
                .flatten()
                {
                    // Operators never touch the cache, so the borrow may span the check.
                    let cache = self.transform_cache.borrow();
                    let may_match = link.prefilter_slot.is_none_or(|slot| cache.may_match(&entry, slot));
                    check(cache.value(&entry, value), hits, may_match);
                } else if link.transforms.is_empty() {
                    check(value, hits, true);
                } else {
                    let v = apply_chain(&link.transforms, value);
                    check(&v, hits, true);
                }
            };
            if target.count {
                let mut n = 0usize;
                self.visit(variable, &target.selector, Some(starter), &keep, &mut |_, _| n += 1);
                let key = match &target.selector {
                    Selector::Key(k) => Some(k.as_bytes()),
                    _ => None,
                };
                test(key, n.to_string().as_bytes(), &mut hits);
            } else {
                self.visit(variable, &target.selector, Some(starter), &keep, &mut |key, value| {
                    test(key, value, &mut hits)
                });
            }
        }
        hits
    }

    /// Whether prefilter slot `slot` of `link` may match some value of `variable` (a
    /// phase-constant variable), or with `intermediates` (multiMatch) some value the link's
    /// chain makes on the way: false when no value's scan under the link's chain found its
    /// literals.
    fn target_may_match(&self, variable: Variable, link: &Rule, slot: u32, intermediates: bool) -> bool {
        let key = UnionKey {
            variable,
            chain: link.transforms_id,
            intermediates,
        };
        if let Some(known) = self.transform_cache.borrow().union_may_match(key, slot) {
            return known;
        }
        let prefilters = &self.rules.prefilters;
        let mut cache = self.transform_cache.borrow_mut();
        cache.build_union(prefilters, key, &link.transforms, is_stable(variable), |add| {
            self.visit(variable, &Selector::All, None, &|_| true, &mut |_, value| add(value));
        });
        cache.union_may_match(key, slot).unwrap_or(true)
    }

    /// Target exclusions added by `ctl:ruleRemoveTarget*` for this rule.
    fn extra_exclusions(&self, rule: &Rule) -> Vec<&Exclusion> {
        let o = &self.overrides;
        if o.target_by_id.is_empty() && o.target_by_tag.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (ids, ex) in &o.target_by_id {
            if ids.iter().any(|r| r.contains(rule.id)) {
                out.extend(ex.iter());
            }
        }
        for (tag, ex) in &o.target_by_tag {
            if rule.actions.tags.iter().any(|t| t == tag) {
                out.extend(ex.iter());
            }
        }
        out
    }

    /// Logging and the disruptive action once the whole chain matched.
    fn on_full_match(&mut self, rule: &Rule, phase: Phase, index: usize, matches: Vec<(String, Vec<u8>)>) -> Flow {
        let (msg, logdata) = {
            let r = Resolver {
                tx: self,
                rule: Some(rule),
            };
            let expand = |m: &Option<MacroString>| {
                m.as_ref()
                    .map(|m| String::from_utf8_lossy(&m.expand(&r)).into_owned())
                    .unwrap_or_default()
            };
            (expand(&rule.actions.msg), expand(&rule.actions.logdata))
        };
        if let Some(s) = rule.actions.severity {
            if rule.log {
                self.highest_severity = self.highest_severity.min(s);
            }
        }
        let defaults = self.rules.defaults(phase);
        let disruptive = match &rule.disruptive {
            Disruptive::Block => defaults.disruptive.clone(),
            other => other.clone(),
        };
        let default_status = defaults.status;
        self.matches.push(MatchRecord {
            phase,
            index,
            msg,
            logdata,
            matches,
        });
        self.matched_rules.take();
        let enforce = self.engine == EngineMode::On;
        let (action, status, url) = match disruptive {
            Disruptive::Pass | Disruptive::Block => return Flow::Continue,
            Disruptive::Allow(scope) => {
                // Like ModSecurity, disruptive actions (allow included) only act when the engine is On.
                if !enforce {
                    return Flow::Continue;
                }
                self.allow = Some(match scope {
                    AllowScope::Request if phase > Phase::RequestBody => AllowScope::Phase,
                    s => s,
                });
                return Flow::StopPhase;
            }
            Disruptive::Deny => (
                InterventionAction::Deny,
                rule.actions.status.or(default_status).unwrap_or(403),
                None,
            ),
            Disruptive::Drop => (
                InterventionAction::Drop,
                rule.actions.status.or(default_status).unwrap_or(403),
                None,
            ),
            Disruptive::Redirect(target) => {
                let url = {
                    let r = Resolver {
                        tx: self,
                        rule: Some(rule),
                    };
                    String::from_utf8_lossy(&target.expand(&r)).into_owned()
                };
                let status = rule
                    .actions
                    .status
                    .filter(|s| matches!(s, 301 | 302 | 303 | 307 | 308))
                    .unwrap_or(302);
                (InterventionAction::Redirect, status, Some(url))
            }
        };
        let log = self.matches.last().map(|m| m.msg.clone()).unwrap_or_default();
        let iv = Intervention {
            status,
            url,
            action,
            rule_id: rule.id,
            phase,
            log,
        };
        if self.decision.is_none() {
            self.decision = Some(iv.clone());
        }
        if enforce {
            self.intervention = Some(iv);
            return Flow::StopPhase;
        }
        Flow::Continue
    }

    /// The collection a `setvar`/`expirevar` writes; persistent ones without `initcol` live
    /// only in this transaction.
    fn writable(&mut self, collection: &str) -> &mut Collection {
        if collection == "tx" {
            return &mut self.tx;
        }
        &mut self
            .persistent
            .entry(collection.to_string())
            .or_insert_with(|| Bound {
                key: Vec::new(),
                record: Default::default(),
            })
            .record
            .values
    }

    fn apply_setvar(&mut self, sv: &SetVar, rule: &Rule) {
        let (key, operand) = {
            let r = Resolver {
                tx: self,
                rule: Some(rule),
            };
            let key = sv.key.expand(&r);
            let operand = match &sv.op {
                SetVarOp::Set(m) | SetVarOp::Add(m) | SetVarOp::Sub(m) => m.expand(&r),
                SetVarOp::Delete => Vec::new(),
            };
            (key, operand)
        };
        let coll = self.writable(&sv.collection);
        match &sv.op {
            SetVarOp::Set(_) => coll.set(&key, operand),
            SetVarOp::Delete => {
                coll.remove(&key);
            }
            SetVarOp::Add(_) | SetVarOp::Sub(_) => {
                let current = coll.get(&key).map(parse_int).unwrap_or(0);
                let n = parse_int(&operand);
                let result = if matches!(sv.op, SetVarOp::Add(_)) {
                    current.saturating_add(n)
                } else {
                    current.saturating_sub(n)
                };
                coll.set(&key, result.to_string().into_bytes());
            }
        }
    }

    fn apply_runtime(&mut self, action: &RuntimeAction, rule: &Rule) {
        match action {
            RuntimeAction::Ctl(ctl) => self.apply_ctl(ctl),
            RuntimeAction::InitCol { collection, key } | RuntimeAction::SetId { collection, key } => {
                let key = {
                    let r = Resolver {
                        tx: self,
                        rule: Some(rule),
                    };
                    key.expand(&r)
                };
                let now = clock::now_unix();
                let record = match self.rules.store.lock() {
                    Ok(mut store) => store.load(collection, &key, now),
                    Err(_) => Default::default(),
                };
                self.persistent.insert(collection.clone(), Bound { key, record });
            }
            RuntimeAction::ExpireVar {
                collection,
                key,
                seconds,
            } => {
                let (key, seconds) = {
                    let r = Resolver {
                        tx: self,
                        rule: Some(rule),
                    };
                    (key.expand(&r), parse_int(&seconds.expand(&r)))
                };
                if let Some(b) = self.persistent.get_mut(collection) {
                    let at = clock::now_unix().saturating_add(u64::try_from(seconds).unwrap_or(0));
                    b.record.expiry.insert(key.to_ascii_lowercase(), at);
                }
            }
            RuntimeAction::SetEnv { name, value } => {
                let value = {
                    let r = Resolver {
                        tx: self,
                        rule: Some(rule),
                    };
                    value.expand(&r)
                };
                self.env.set(name.as_bytes(), value);
            }
        }
    }

    fn apply_ctl(&mut self, ctl: &Ctl) {
        // `ctl` can change what a variable yields (forceRequestBodyVariable, body access).
        self.transform_cache.get_mut().clear_unions();
        let o = &mut self.overrides;
        match ctl {
            Ctl::RuleEngine(mode) => self.engine = *mode,
            Ctl::RuleRemoveById(ids) => o.removed_ids.extend(ids.iter().copied()),
            Ctl::RuleRemoveByTag(tag) => o.removed_tags.push(tag.clone()),
            Ctl::RuleRemoveTargetById(ids, ex) => o.target_by_id.push((ids.clone(), ex.clone())),
            Ctl::RuleRemoveTargetByTag(tag, ex) => o.target_by_tag.push((tag.clone(), ex.clone())),
            Ctl::RequestBodyProcessor(p) => o.body_processor = Some(*p),
            Ctl::ForceRequestBodyVariable(b) => o.force_request_body_variable = *b,
            Ctl::RequestBodyAccess(b) => o.request_body_access = Some(*b),
            Ctl::ResponseBodyAccess(b) => o.response_body_access = Some(*b),
            Ctl::RequestBodyLimit(n) => o.request_body_limit = Some(*n),
            Ctl::AuditEngine(v) => o.audit_engine = Some(v.clone()),
            Ctl::AuditLogParts(v) => o.audit_log_parts = Some(v.clone()),
        }
    }
}

/// Parses a leading integer as ModSecurity's setvar arithmetic does (non-numbers are 0).
fn parse_int(v: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(v);
    let s = s.trim();
    let end = s
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+')))
        .last()
        .map_or(0, |(i, c)| i + c.len_utf8());
    s[..end].parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::parse_int;

    #[test]
    fn setvar_arithmetic_parsing() {
        assert_eq!(parse_int(b"5"), 5);
        assert_eq!(parse_int(b" -3 "), -3);
        assert_eq!(parse_int(b"12abc"), 12);
        assert_eq!(parse_int(b"abc"), 0);
        assert_eq!(parse_int(b""), 0);
    }
}
