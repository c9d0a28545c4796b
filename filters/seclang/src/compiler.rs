//! Compiles directives into a rule set: rules with their phase defaults applied, chains
//! joined, load-time exceptions (`SecRuleRemove*`, `SecRuleUpdate*`) applied, then
//! transformation chains numbered and prefilters built.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::action::{ActionList, Disruptive, IdRange};
use crate::compiled::{CompiledRules, RuleStats};
use crate::config::{self, Applied, EngineConfig};
use crate::error::{ErrorKind, LoadError, LoadWarning, Location};
use crate::macros::MacroString;
use crate::operator::{CompileEnv, Operator};
use crate::parser::actions::{split_actions, RawAction};
use crate::parser::Directive;
use crate::persist::PersistentStore;
use crate::phase::Phase;
use crate::prefilter::Prefilters;
use crate::rule::{DefaultAction, Rule, RuleKind};
use crate::rx_table::RxTable;
use crate::transform::Transform;
use crate::variable::{self, Target};

/// Compiles `directives`, read in load order.
pub(crate) fn compile(directives: &[Directive], rx_table: RxTable) -> Result<CompiledRules, LoadError> {
    let mut compiler = Compiler {
        rx_table,
        ..Compiler::default()
    };
    for d in directives {
        compiler.directive(d)?;
    }
    compiler.finish()
}

/// Load-time exceptions, applied once every rule is known (order-independent, as v3).
enum Update {
    RemoveById(Vec<IdRange>),
    RemoveByTag(String),
    RemoveByMsg(String),
    TargetById(Vec<IdRange>, variable::Targets, Option<variable::Targets>),
    TargetByTag(String, variable::Targets, Option<variable::Targets>),
    ActionById(Vec<IdRange>, Vec<RawAction>),
}

#[derive(Default)]
struct Compiler {
    config: EngineConfig,
    defaults: [DefaultAction; 5],
    phases: [Vec<Rule>; 5],
    open_chain: Vec<Rule>,
    ids: HashSet<u64>,
    warnings: Vec<LoadWarning>,
    updates: Vec<(Location, Update)>,
    stats: RuleStats,
    /// Analyses of `@rx` patterns known ahead of time.
    rx_table: RxTable,
}

fn err(d: &Directive, kind: ErrorKind) -> LoadError {
    LoadError::new(&d.location, kind)
}

impl Compiler {
    fn directive(&mut self, d: &Directive) -> Result<(), LoadError> {
        let lower = d.name.to_ascii_lowercase();
        if !self.open_chain.is_empty() && lower != "secrule" {
            return Err(err(
                d,
                ErrorKind::Rule(format!(
                    "{} inside an unfinished chain (the previous rule has `chain`)",
                    d.name
                )),
            ));
        }
        match lower.as_str() {
            "secrule" => return self.sec_rule(d),
            "secaction" => return self.sec_action(d),
            "secmarker" => return self.sec_marker(d),
            "secdefaultaction" => return self.sec_default_action(d),
            "secruleremovebyid" => {
                let ranges = IdRange::parse_list(&d.args.join(" ")).map_err(|r| self.value_err(d, r))?;
                self.updates.push((d.location.clone(), Update::RemoveById(ranges)));
                return Ok(());
            }
            "secruleremovebytag" | "secruleremovebymsg" => {
                let [v] = d.args.as_slice() else {
                    return Err(self.value_err(d, "takes one argument".into()));
                };
                let u = if lower == "secruleremovebytag" {
                    Update::RemoveByTag(v.clone())
                } else {
                    Update::RemoveByMsg(v.clone())
                };
                self.updates.push((d.location.clone(), u));
                return Ok(());
            }
            "secruleupdatetargetbyid" | "secruleupdatetargetbytag" => {
                let (who, targets, replaced) = match d.args.as_slice() {
                    [a, b] => (a, b, None),
                    [a, b, c] => (a, b, Some(c)),
                    _ => {
                        return Err(self.value_err(
                            d,
                            "takes a rule id (or tag), targets and optionally a replaced target".into(),
                        ))
                    }
                };
                let parse = |t: &str| {
                    variable::parse_targets(t)
                        .map_err(|(v, r)| err(d, ErrorKind::InvalidVariable { variable: v, reason: r }))
                };
                let targets = parse(targets)?;
                let replaced = replaced.map(|r| parse(r)).transpose()?;
                let u = if lower == "secruleupdatetargetbyid" {
                    Update::TargetById(
                        IdRange::parse_list(who).map_err(|r| self.value_err(d, r))?,
                        targets,
                        replaced,
                    )
                } else {
                    Update::TargetByTag(who.clone(), targets, replaced)
                };
                self.updates.push((d.location.clone(), u));
                return Ok(());
            }
            "secruleupdateactionbyid" => {
                let [who, actions] = d.args.as_slice() else {
                    return Err(self.value_err(d, "takes a rule id and an action list".into()));
                };
                let ids = IdRange::parse_list(who).map_err(|r| self.value_err(d, r))?;
                let raw = split_actions(actions).map_err(|r| err(d, ErrorKind::Syntax(r)))?;
                // Validate now so the error points at this line.
                ActionList::parse(&raw).map_err(|e| action_err(d, e))?;
                self.updates.push((d.location.clone(), Update::ActionById(ids, raw)));
                return Ok(());
            }
            _ => {}
        }
        match self.config.apply(&d.name, &d.args) {
            Ok(Applied::Set) => return Ok(()),
            Ok(Applied::NotConfig) => {}
            Err(reason) => return Err(self.value_err(d, reason)),
        }
        if let Some(reason) = config::ignored_reason(&d.name) {
            self.warnings.push(LoadWarning {
                location: d.location.clone(),
                directive: d.name.clone(),
                reason: reason.to_string(),
            });
            return Ok(());
        }
        Err(err(d, ErrorKind::UnknownDirective(d.name.clone())))
    }

    fn value_err(&self, d: &Directive, reason: String) -> LoadError {
        err(
            d,
            ErrorKind::InvalidValue {
                directive: d.name.clone(),
                reason,
            },
        )
    }

    fn sec_rule(&mut self, d: &Directive) -> Result<(), LoadError> {
        let (targets_text, operator_text, actions_text) = match d.args.as_slice() {
            [t, o] => (t, o, ""),
            [t, o, a] => (t, o, a.as_str()),
            _ => {
                return Err(err(
                    d,
                    ErrorKind::Syntax("SecRule takes VARIABLES \"OPERATOR\" [\"ACTIONS\"]".into()),
                ))
            }
        };
        let actions = parse_actions(d, actions_text)?;
        let id = actions.id;
        let targets = variable::parse_targets(targets_text).map_err(|(v, r)| {
            let kind = if r == "unknown variable" {
                ErrorKind::UnknownVariable(v)
            } else {
                ErrorKind::InvalidVariable { variable: v, reason: r }
            };
            err(d, kind).with_rule(id)
        })?;
        if targets.targets.is_empty() {
            return Err(err(d, ErrorKind::Syntax("SecRule has no variable to inspect".into())).with_rule(id));
        }
        let (operator, negated) = compile_operator(d, operator_text, self.rx_table).map_err(|e| e.with_rule(id))?;
        let kind = RuleKind::Rule {
            targets,
            operator,
            negated,
        };
        self.stats.sec_rules += 1;
        self.add_rule(d, kind, actions)
    }

    fn sec_action(&mut self, d: &Directive) -> Result<(), LoadError> {
        let [actions_text] = d.args.as_slice() else {
            return Err(err(d, ErrorKind::Syntax("SecAction takes one action list".into())));
        };
        let actions = parse_actions(d, actions_text)?;
        if actions.chain {
            return Err(err(d, ErrorKind::Rule("SecAction cannot start a chain".into())).with_rule(actions.id));
        }
        self.stats.sec_actions += 1;
        self.add_rule(d, RuleKind::Action, actions)
    }

    fn sec_marker(&mut self, d: &Directive) -> Result<(), LoadError> {
        let [name] = d.args.as_slice() else {
            return Err(err(d, ErrorKind::Syntax("SecMarker takes one name".into())));
        };
        self.stats.markers += 1;
        // A marker is a skipAfter destination in every phase, as in ModSecurity v3.
        for phase in Phase::ALL {
            self.phases[phase.index()].push(Rule {
                id: 0,
                phase,
                kind: RuleKind::Marker(name.clone()),
                transforms: Vec::new(),
                transforms_id: 0,
                prefilter_slot: None,
                gate: None,
                actions: ActionList::default(),
                disruptive: Disruptive::Pass,
                log: false,
                auditlog: false,
                chained: None,
                location: d.location.clone(),
            });
        }
        Ok(())
    }

    fn sec_default_action(&mut self, d: &Directive) -> Result<(), LoadError> {
        let [actions_text] = d.args.as_slice() else {
            return Err(err(
                d,
                ErrorKind::Syntax("SecDefaultAction takes one action list".into()),
            ));
        };
        let raw = split_actions(actions_text).map_err(|r| err(d, ErrorKind::Syntax(r)))?;
        for a in &raw {
            let allowed = [
                "phase",
                "t",
                "log",
                "nolog",
                "auditlog",
                "noauditlog",
                "pass",
                "deny",
                "drop",
                "block",
                "allow",
                "redirect",
                "status",
            ];
            if !allowed.iter().any(|n| n.eq_ignore_ascii_case(&a.name)) {
                return Err(err(
                    d,
                    ErrorKind::InvalidAction {
                        action: a.name.clone(),
                        reason: "not allowed in SecDefaultAction".into(),
                    },
                ));
            }
        }
        let list = ActionList::parse(&raw).map_err(|e| action_err(d, e))?;
        let phase = list.phase.unwrap_or(Phase::RequestBody);
        let disruptive = match list.disruptive.clone() {
            Some(Disruptive::Block) => {
                return Err(err(
                    d,
                    ErrorKind::InvalidAction {
                        action: "block".into(),
                        reason: "SecDefaultAction needs a concrete disruptive action".into(),
                    },
                ))
            }
            Some(x) => x,
            None => {
                return Err(err(
                    d,
                    ErrorKind::Rule("SecDefaultAction must name a disruptive action".into()),
                ));
            }
        };
        self.defaults[phase.index()] = DefaultAction {
            transforms: list.transforms.clone(),
            disruptive,
            status: list.status,
            log: list.log.unwrap_or(true),
            auditlog: list.auditlog.unwrap_or(true),
        };
        Ok(())
    }

    fn add_rule(&mut self, d: &Directive, kind: RuleKind, actions: ActionList) -> Result<(), LoadError> {
        let is_link = !self.open_chain.is_empty();
        let id = actions.id;
        if is_link {
            if let Some(what) = actions.has_starter_only_actions() {
                return Err(err(d, ErrorKind::Rule(format!("{what} is not allowed in a chained rule"))).with_rule(id));
            }
        } else if !matches!(kind, RuleKind::Marker(_)) {
            let Some(id) = id else {
                return Err(err(d, ErrorKind::Rule("rule has no id".into())));
            };
            if !self.ids.insert(id) {
                return Err(err(d, ErrorKind::DuplicateId(id)).with_rule(Some(id)));
            }
        }
        let phase = match self.open_chain.first() {
            Some(starter) => starter.phase,
            None => actions.phase.unwrap_or(Phase::RequestBody),
        };
        let default = &self.defaults[phase.index()];
        let transforms = if actions.transforms_reset {
            actions.transforms.clone()
        } else {
            default
                .transforms
                .iter()
                .chain(actions.transforms.iter())
                .copied()
                .collect()
        };
        // As libmodsecurity v3 does: the phase default's disruptive action only acts through
        // `block`; a rule without a disruptive action passes.
        let disruptive = actions.disruptive.clone().unwrap_or(Disruptive::Pass);
        let rule = Rule {
            id: if is_link { 0 } else { id.unwrap_or(0) },
            phase,
            kind,
            transforms,
            transforms_id: 0,
            prefilter_slot: None,
            gate: None,
            disruptive,
            log: actions.log.unwrap_or(default.log),
            auditlog: actions.auditlog.unwrap_or(default.auditlog),
            chained: None,
            location: d.location.clone(),
            actions,
        };
        let continues = rule.actions.chain;
        self.open_chain.push(rule);
        if !continues {
            let mut chain = std::mem::take(&mut self.open_chain);
            let mut tail = chain.pop();
            while let Some(mut parent) = chain.pop() {
                parent.chained = tail.map(Box::new);
                tail = Some(parent);
            }
            if let Some(rule) = tail {
                if rule.chained.is_some() {
                    self.stats.chain_starters += 1;
                    self.stats.chains += rule.chain_len() - 1;
                }
                self.phases[rule.phase.index()].push(rule);
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<CompiledRules, LoadError> {
        if let Some(open) = self.open_chain.first() {
            return Err(LoadError::new(
                &open.location,
                ErrorKind::Rule("the last rule has `chain` but no rule follows".into()),
            )
            .with_rule(Some(open.id)));
        }
        for (location, update) in std::mem::take(&mut self.updates) {
            self.apply_update(&location, update)?;
        }
        self.check_skip_after()?;
        assign_transform_ids(&mut self.phases);
        let prefilters = Prefilters::build(&mut self.phases);
        let mut ids = HashSet::new();
        for r in self.phases.iter().flatten() {
            if r.marker().is_none() {
                ids.insert(r.id);
            }
        }
        self.stats.ids = ids.len();
        Ok(CompiledRules {
            phases: self.phases,
            config: self.config,
            defaults: self.defaults,
            warnings: self.warnings,
            store: Mutex::new(PersistentStore::default()),
            stats: self.stats,
            prefilters,
        })
    }

    fn check_skip_after(&self) -> Result<(), LoadError> {
        for phase in &self.phases {
            let markers: HashSet<&str> = phase.iter().filter_map(|r| r.marker()).collect();
            for r in phase {
                if let Some(m) = &r.actions.skip_after {
                    if !markers.contains(m.as_str()) {
                        return Err(LoadError::new(
                            &r.location,
                            ErrorKind::Rule(format!("skipAfter:{m} names no SecMarker")),
                        )
                        .with_rule(Some(r.id)));
                    }
                }
            }
        }
        Ok(())
    }

    fn apply_update(&mut self, location: &Location, update: Update) -> Result<(), LoadError> {
        match update {
            Update::RemoveById(ranges) => {
                for phase in &mut self.phases {
                    phase.retain(|r| r.marker().is_some() || !ranges.iter().any(|g| g.contains(r.id)));
                }
            }
            Update::RemoveByTag(tag) => {
                for phase in &mut self.phases {
                    phase.retain(|r| !r.actions.tags.contains(&tag));
                }
            }
            Update::RemoveByMsg(msg) => {
                let target = MacroString::parse(&msg);
                for phase in &mut self.phases {
                    phase.retain(|r| r.actions.msg.as_ref() != Some(&target));
                }
            }
            Update::TargetById(ranges, targets, replaced) => {
                for rule in self
                    .phases
                    .iter_mut()
                    .flatten()
                    .filter(|r| r.marker().is_none() && ranges.iter().any(|g| g.contains(r.id)))
                {
                    update_targets(rule, &targets, replaced.as_ref());
                }
            }
            Update::TargetByTag(tag, targets, replaced) => {
                for rule in self
                    .phases
                    .iter_mut()
                    .flatten()
                    .filter(|r| r.actions.tags.contains(&tag))
                {
                    update_targets(rule, &targets, replaced.as_ref());
                }
            }
            Update::ActionById(ranges, raw) => {
                for phase in &mut self.phases {
                    for rule in phase
                        .iter_mut()
                        .filter(|r| r.marker().is_none() && ranges.iter().any(|g| g.contains(r.id)))
                    {
                        update_actions(rule, &raw).map_err(|e| {
                            LoadError::new(
                                location,
                                ErrorKind::InvalidAction {
                                    action: e.0,
                                    reason: e.1,
                                },
                            )
                            .with_rule(Some(rule.id))
                        })?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Numbers each distinct transformation chain so transformed values can be cached per chain.
fn assign_transform_ids(phases: &mut [Vec<Rule>; 5]) {
    let mut ids: std::collections::HashMap<Vec<Transform>, u32> = std::collections::HashMap::new();
    for phase in phases.iter_mut() {
        for rule in phase.iter_mut() {
            let mut link = Some(rule);
            while let Some(r) = link {
                let next = ids.len() as u32;
                r.transforms_id = *ids.entry(r.transforms.clone()).or_insert(next);
                link = r.chained.as_deref_mut();
            }
        }
    }
}

fn update_targets(rule: &mut Rule, targets: &variable::Targets, replaced: Option<&variable::Targets>) {
    let RuleKind::Rule { targets: current, .. } = &mut rule.kind else {
        return;
    };
    if let Some(replaced) = replaced {
        // Three-argument form: the new target replaces the named one.
        current.targets.retain(|t: &Target| {
            !replaced
                .targets
                .iter()
                .any(|r| r.variable == t.variable && r.count == t.count && r.selector.same_as(&t.selector))
        });
    }
    current.targets.extend(targets.targets.iter().cloned());
    current.exclusions.extend(targets.exclusions.iter().cloned());
}

/// Assigns each named field of `$update` that is `Some` to the same field of `$target`.
macro_rules! for_each_set {
    ($target:ident, $update:ident, $($field:ident),+) => {
        $(if $update.$field.is_some() {
            $target.$field = $update.$field;
        })+
    };
}

fn update_actions(rule: &mut Rule, raw: &[RawAction]) -> Result<(), (String, String)> {
    let mut update = ActionList::default();
    for a in raw {
        update.apply(a).map_err(|e| (e.0, e.1))?;
    }
    if update.id.is_some() || update.phase.is_some() || update.chain {
        return Err((
            "SecRuleUpdateActionById".into(),
            "cannot change id, phase or chain".into(),
        ));
    }
    let a = &mut rule.actions;
    // Only the actions the update names replace the rule's own.
    for_each_set!(a, update, msg, logdata, severity, ver, rev, maturity, accuracy, status, skip, skip_after);
    a.tags.extend(update.tags);
    a.setvars.extend(update.setvars);
    a.runtime.extend(update.runtime);
    a.capture |= update.capture;
    a.multi_match |= update.multi_match;
    if let Some(d) = update.disruptive {
        rule.disruptive = d.clone();
        a.disruptive = Some(d);
    }
    if let Some(l) = update.log {
        rule.log = l;
    }
    if let Some(l) = update.auditlog {
        rule.auditlog = l;
    }
    if update.transforms_reset {
        rule.transforms = update.transforms;
    } else if !update.transforms.is_empty() {
        rule.transforms.extend(update.transforms);
    }
    Ok(())
}

fn action_err(d: &Directive, (action, reason, unknown): (String, String, bool)) -> LoadError {
    if unknown {
        if action == "t" {
            return err(
                d,
                ErrorKind::UnknownTransformation(reason.trim_start_matches("unknown transformation ").to_string()),
            );
        }
        return err(d, ErrorKind::UnknownAction(action));
    }
    err(d, ErrorKind::InvalidAction { action, reason })
}

fn parse_actions(d: &Directive, text: &str) -> Result<ActionList, LoadError> {
    let raw = split_actions(text).map_err(|r| err(d, ErrorKind::Syntax(r)))?;
    // Find the id first so every later error names the rule.
    let id = raw
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case("id"))
        .and_then(|a| a.value.as_deref())
        .and_then(|v| v.trim().parse().ok());
    ActionList::parse(&raw).map_err(|e| action_err(d, e).with_rule(id))
}

/// Splits `!@name argument` into (negated, name, argument); no `@` means `@rx`.
pub(crate) fn split_operator(text: &str) -> (bool, &str, &str) {
    let (negated, rest) = match text.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (name, arg) = match rest.strip_prefix('@') {
        Some(r) => {
            let end = r.find(char::is_whitespace).unwrap_or(r.len());
            (&r[..end], r[end..].trim_start())
        }
        None => ("rx", rest),
    };
    (negated, name, arg)
}

/// Compiles `!@name argument`, with `rx_table` supplying known `@rx` analyses.
fn compile_operator(d: &Directive, text: &str, rx_table: RxTable) -> Result<(Operator, bool), LoadError> {
    let (negated, name, arg) = split_operator(text);
    let env = CompileEnv {
        base_dir: d.base_dir.clone(),
        files: d.files.clone(),
        rx_table,
    };
    let op = Operator::compile(name, arg, &env).map_err(|e| err(d, ErrorKind::Operator(e.to_string())))?;
    Ok((op, negated))
}

#[cfg(test)]
mod tests {
    use crate::crs::crs_files;
    use crate::rule::RuleKind;
    use crate::variable::Variable;
    use crate::RuleSet;
    use meshward_testkit::locate::crs_dir;

    #[test]
    fn crs_update_target_exclusions_are_applied() {
        let files = crs_files(&crs_dir()).unwrap_or_else(|e| panic!("{e}"));
        let rules = files
            .iter()
            .fold(RuleSet::builder(), |b, f| b.add_file(f))
            .build()
            .unwrap_or_else(|e| panic!("CRS failed to load: {e}"));
        // REQUEST-999 adds `!REQUEST_COOKIES:/^_ga(?:_\w+)?$/` to 942550.
        let rule = rules.compiled().rule(942550).expect("942550 loaded");
        match &rule.kind {
            RuleKind::Rule { targets, .. } => {
                assert!(targets
                    .exclusions
                    .iter()
                    .any(|e| e.excludes(Variable::RequestCookies, b"_ga_ABC")));
            }
            other => panic!("unexpected kind {other:?}"),
        }
    }
}
