//! Rule actions (`id`, `phase`, `setvar`, `ctl`, disruptive actions...) parsed at load time.

use crate::macros::MacroString;
use crate::parser::actions::RawAction;
use crate::phase::Phase;
use crate::transform::Transform;
use crate::variable::{self, Exclusion};

/// How the engine enforces decisions (`SecRuleEngine`, `ctl:ruleEngine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineMode {
    /// Rules run and disruptive actions are enforced.
    On,
    /// Rules run; disruptive decisions are recorded but not enforced.
    DetectionOnly,
    /// No rule runs.
    Off,
}

impl EngineMode {
    /// Parses `On`, `Off` or `DetectionOnly` (case-insensitive).
    pub(crate) fn parse(s: &str) -> Option<EngineMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "on" => Some(EngineMode::On),
            "off" => Some(EngineMode::Off),
            "detectiononly" => Some(EngineMode::DetectionOnly),
            _ => None,
        }
    }
}

/// A request body processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyProcessor {
    /// `application/x-www-form-urlencoded`.
    UrlEncoded,
    /// `multipart/form-data`.
    Multipart,
    /// XML.
    Xml,
    /// JSON.
    Json,
    /// Newline-delimited JSON, one document per line (meshward's, not ModSecurity's).
    Ndjson,
    /// gRPC / gRPC-Web frames of protobuf or JSON messages (meshward's, not ModSecurity's).
    Grpc,
    /// One unframed protobuf message (meshward's, not ModSecurity's).
    Protobuf,
}

impl BodyProcessor {
    /// Parses a processor name as `ctl:requestBodyProcessor` takes it.
    pub(crate) fn parse(s: &str) -> Option<BodyProcessor> {
        match s.trim().to_ascii_uppercase().as_str() {
            "URLENCODED" => Some(BodyProcessor::UrlEncoded),
            "MULTIPART" => Some(BodyProcessor::Multipart),
            "XML" => Some(BodyProcessor::Xml),
            "JSON" => Some(BodyProcessor::Json),
            "NDJSON" => Some(BodyProcessor::Ndjson),
            "GRPC" => Some(BodyProcessor::Grpc),
            "PROTOBUF" => Some(BodyProcessor::Protobuf),
            _ => None,
        }
    }

    /// The value `REQBODY_PROCESSOR` reports.
    pub fn name(self) -> &'static str {
        match self {
            BodyProcessor::UrlEncoded => "URLENCODED",
            BodyProcessor::Multipart => "MULTIPART",
            BodyProcessor::Xml => "XML",
            BodyProcessor::Json => "JSON",
            BodyProcessor::Ndjson => "NDJSON",
            BodyProcessor::Grpc => "GRPC",
            BodyProcessor::Protobuf => "PROTOBUF",
        }
    }
}

/// Scope of `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AllowScope {
    /// `allow`: skip every remaining phase except logging.
    Transaction,
    /// `allow:phase`: skip the rest of the current phase.
    Phase,
    /// `allow:request`: skip the rest of the request phases (1-2).
    Request,
}

/// A disruptive action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Disruptive {
    /// Continue.
    Pass,
    /// Stop and refuse (status from `status:`, default 403).
    Deny,
    /// Close the connection.
    Drop,
    /// Use the phase's `SecDefaultAction` disruptive action.
    Block,
    /// Stop inspecting.
    Allow(AllowScope),
    /// Redirect to a URL (status 302 unless `status:` says 301/303/307).
    Redirect(MacroString),
}

impl Disruptive {
    /// The action's SecLang name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Disruptive::Pass => "pass",
            Disruptive::Deny => "deny",
            Disruptive::Drop => "drop",
            Disruptive::Block => "block",
            Disruptive::Allow(_) => "allow",
            Disruptive::Redirect(_) => "redirect",
        }
    }
}

/// What `setvar` does to the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SetVarOp {
    /// `name=value`.
    Set(MacroString),
    /// `name=+N` / `name+=N`.
    Add(MacroString),
    /// `name=-N` / `name-=N`.
    Sub(MacroString),
    /// `!name`.
    Delete,
}

/// One `setvar` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetVar {
    /// Collection name, lower-case (`tx`, `ip`...).
    pub(crate) collection: String,
    /// The member name; may hold macros.
    pub(crate) key: MacroString,
    /// The operation.
    pub(crate) op: SetVarOp,
}

/// Collections `setvar`/`initcol`/`expirevar` may write.
const WRITABLE: &[&str] = &["tx", "ip", "global", "session", "user", "resource"];

/// A rule id or an inclusive id range (`SecRuleRemoveById 1 5-9`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdRange {
    /// First id.
    pub(crate) start: u64,
    /// Last id (inclusive).
    pub(crate) end: u64,
}

impl IdRange {
    /// True when `id` is in the range.
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.start <= id && id <= self.end
    }

    /// Parses whitespace- or comma-separated ids and ranges.
    pub(crate) fn parse_list(text: &str) -> Result<Vec<IdRange>, String> {
        let mut out = Vec::new();
        for part in text.split([' ', ',', '\t']).filter(|p| !p.is_empty()) {
            let part = part.trim_matches(['"', '\'']);
            let range = match part.split_once('-') {
                Some((a, b)) => IdRange {
                    start: parse_id(a)?,
                    end: parse_id(b)?,
                },
                None => {
                    let id = parse_id(part)?;
                    IdRange { start: id, end: id }
                }
            };
            if range.start > range.end {
                return Err(format!("empty id range {part}"));
            }
            out.push(range);
        }
        if out.is_empty() {
            return Err("no rule id given".into());
        }
        Ok(out)
    }
}

fn parse_id(s: &str) -> Result<u64, String> {
    s.trim().parse::<u64>().map_err(|_| format!("invalid rule id `{s}`"))
}

/// A `ctl` action: changes configuration for the current transaction.
#[derive(Debug, Clone)]
pub(crate) enum Ctl {
    /// `ctl:ruleEngine=On|Off|DetectionOnly`.
    RuleEngine(EngineMode),
    /// `ctl:ruleRemoveById=ID|RANGE`.
    RuleRemoveById(Vec<IdRange>),
    /// `ctl:ruleRemoveByTag=TAG`.
    RuleRemoveByTag(String),
    /// `ctl:ruleRemoveTargetById=ID;TARGETS`.
    RuleRemoveTargetById(Vec<IdRange>, Vec<Exclusion>),
    /// `ctl:ruleRemoveTargetByTag=TAG;TARGETS`.
    RuleRemoveTargetByTag(String, Vec<Exclusion>),
    /// `ctl:requestBodyProcessor=XML|JSON|URLENCODED|MULTIPART|NDJSON|GRPC|PROTOBUF`.
    RequestBodyProcessor(BodyProcessor),
    /// `ctl:forceRequestBodyVariable=On|Off`.
    ForceRequestBodyVariable(bool),
    /// `ctl:requestBodyAccess=On|Off`.
    RequestBodyAccess(bool),
    /// `ctl:responseBodyAccess=On|Off`.
    ResponseBodyAccess(bool),
    /// `ctl:requestBodyLimit=N`.
    RequestBodyLimit(u64),
    /// `ctl:auditEngine=...`: audit logging is the embedding proxy's job; recorded only.
    AuditEngine(String),
    /// `ctl:auditLogParts=...`: recorded only.
    AuditLogParts(String),
}

fn parse_on_off(action: &str, v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(format!("{action} takes On or Off, not `{v}`")),
    }
}

impl Ctl {
    /// Parses the text after `ctl:`.
    pub(crate) fn parse(text: &str) -> Result<Ctl, String> {
        let (name, value) = text.split_once('=').ok_or_else(|| format!("ctl `{text}` has no `=`"))?;
        let name = name.trim();
        let value = value.trim();
        let ctl = match name.to_ascii_lowercase().as_str() {
            "ruleengine" => {
                Ctl::RuleEngine(EngineMode::parse(value).ok_or_else(|| format!("invalid ruleEngine `{value}`"))?)
            }
            "ruleremovebyid" => Ctl::RuleRemoveById(IdRange::parse_list(value)?),
            "ruleremovebytag" => Ctl::RuleRemoveByTag(value.to_string()),
            "ruleremovetargetbyid" | "ruleremovetargetbytag" => {
                let (who, targets) = value
                    .split_once(';')
                    .ok_or_else(|| format!("{name} needs `ID;TARGET`"))?;
                let parsed = variable::parse_targets(targets).map_err(|(t, r)| format!("{t}: {r}"))?;
                if !parsed.exclusions.is_empty() {
                    return Err(format!("{name}: targets must not be negated"));
                }
                let exclusions = parsed
                    .targets
                    .into_iter()
                    .map(|t| Exclusion {
                        variable: t.variable,
                        selector: t.selector,
                    })
                    .collect();
                if name.eq_ignore_ascii_case("ruleRemoveTargetById") {
                    Ctl::RuleRemoveTargetById(IdRange::parse_list(who)?, exclusions)
                } else {
                    Ctl::RuleRemoveTargetByTag(who.trim().to_string(), exclusions)
                }
            }
            "requestbodyprocessor" => Ctl::RequestBodyProcessor(
                BodyProcessor::parse(value).ok_or_else(|| format!("unknown body processor `{value}`"))?,
            ),
            "forcerequestbodyvariable" => Ctl::ForceRequestBodyVariable(parse_on_off(name, value)?),
            "requestbodyaccess" => Ctl::RequestBodyAccess(parse_on_off(name, value)?),
            "responsebodyaccess" => Ctl::ResponseBodyAccess(parse_on_off(name, value)?),
            "requestbodylimit" => Ctl::RequestBodyLimit(value.parse().map_err(|_| format!("invalid limit `{value}`"))?),
            "auditengine" => Ctl::AuditEngine(value.to_string()),
            "auditlogparts" => Ctl::AuditLogParts(value.to_string()),
            _ => return Err(format!("unknown ctl `{name}`")),
        };
        Ok(ctl)
    }
}

/// Non-disruptive actions run after the rule (and its chain) matched, in written order.
#[derive(Debug, Clone)]
pub(crate) enum RuntimeAction {
    /// `ctl:...`.
    Ctl(Ctl),
    /// `initcol:COLLECTION=KEY`.
    InitCol {
        /// Collection (`ip`, `global`...).
        collection: String,
        /// Key expression (`%{remote_addr}`).
        key: MacroString,
    },
    /// `expirevar:COLLECTION.NAME=SECONDS`.
    ExpireVar {
        /// Collection.
        collection: String,
        /// Member name.
        key: MacroString,
        /// Seconds until expiry.
        seconds: MacroString,
    },
    /// `setsid` / `setuid`: record the session / user id.
    SetId {
        /// `session` or `user`.
        collection: String,
        /// The id expression.
        key: MacroString,
    },
    /// `setenv:NAME=VALUE`.
    SetEnv {
        /// Variable name.
        name: String,
        /// Value.
        value: MacroString,
    },
}

/// Severity names in ModSecurity order (0 = EMERGENCY).
pub(crate) const SEVERITIES: [&str; 8] = [
    "EMERGENCY",
    "ALERT",
    "CRITICAL",
    "ERROR",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG",
];

/// Everything a rule's action list says, before defaults are applied.
#[derive(Debug, Clone, Default)]
pub(crate) struct ActionList {
    /// `id`.
    pub(crate) id: Option<u64>,
    /// `phase`.
    pub(crate) phase: Option<Phase>,
    /// `msg`.
    pub(crate) msg: Option<MacroString>,
    /// `logdata`.
    pub(crate) logdata: Option<MacroString>,
    /// `tag`s in order.
    pub(crate) tags: Vec<String>,
    /// `severity` (0-7).
    pub(crate) severity: Option<u8>,
    /// `ver`.
    pub(crate) ver: Option<String>,
    /// `rev`.
    pub(crate) rev: Option<String>,
    /// `maturity`.
    pub(crate) maturity: Option<u8>,
    /// `accuracy`.
    pub(crate) accuracy: Option<u8>,
    /// True when `t:none` appeared (inherited transformations are dropped).
    pub(crate) transforms_reset: bool,
    /// Transformations after the last `t:none`.
    pub(crate) transforms: Vec<Transform>,
    /// `setvar`s in order.
    pub(crate) setvars: Vec<SetVar>,
    /// `ctl`, `initcol`, `expirevar`... in order.
    pub(crate) runtime: Vec<RuntimeAction>,
    /// `capture`.
    pub(crate) capture: bool,
    /// `chain`.
    pub(crate) chain: bool,
    /// `skip:N`.
    pub(crate) skip: Option<u32>,
    /// `skipAfter:MARKER`.
    pub(crate) skip_after: Option<String>,
    /// The disruptive action, if written.
    pub(crate) disruptive: Option<Disruptive>,
    /// `status:N`.
    pub(crate) status: Option<u16>,
    /// `log` / `nolog`.
    pub(crate) log: Option<bool>,
    /// `auditlog` / `noauditlog`.
    pub(crate) auditlog: Option<bool>,
    /// `multiMatch`.
    pub(crate) multi_match: bool,
}

/// Parses a severity name or number.
pub(crate) fn parse_severity(v: &str) -> Option<u8> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u8>() {
        return (n <= 7).then_some(n);
    }
    SEVERITIES
        .iter()
        .position(|s| s.eq_ignore_ascii_case(v))
        .map(|p| p as u8)
}

/// Why an action was rejected: (action name, reason, whether the action is unknown).
pub(crate) type ActionError = (String, String, bool);

impl ActionList {
    /// Parses raw actions into an action list.
    pub(crate) fn parse(raw: &[RawAction]) -> Result<ActionList, ActionError> {
        let mut list = ActionList::default();
        for action in raw {
            list.apply(action)?;
        }
        Ok(list)
    }

    /// Adds one raw action to the list.
    pub(crate) fn apply(&mut self, action: &RawAction) -> Result<(), ActionError> {
        let name = action.name.to_ascii_lowercase();
        let value = action.value.as_deref();
        let bad = |reason: &str| -> ActionError { (action.name.clone(), reason.to_string(), false) };
        let need = || value.ok_or_else(|| bad("needs a value"));
        match name.as_str() {
            "id" => {
                let v = need()?;
                let id = v.trim().parse::<u64>().map_err(|_| bad("not a number"))?;
                if id == 0 {
                    return Err(bad("rule id 0 is not allowed"));
                }
                self.id = Some(id);
            }
            "phase" => {
                self.phase =
                    Some(Phase::parse(need()?).ok_or_else(|| bad("phase must be 1-5, request, response or logging"))?)
            }
            "msg" => self.msg = Some(MacroString::parse(need()?)),
            "logdata" => self.logdata = Some(MacroString::parse(need()?)),
            "tag" => self.tags.push(need()?.to_string()),
            "severity" => self.severity = Some(parse_severity(need()?).ok_or_else(|| bad("unknown severity"))?),
            "ver" => self.ver = Some(need()?.to_string()),
            "rev" => self.rev = Some(need()?.to_string()),
            "maturity" => self.maturity = Some(need()?.trim().parse().map_err(|_| bad("not a number"))?),
            "accuracy" => self.accuracy = Some(need()?.trim().parse().map_err(|_| bad("not a number"))?),
            "t" => {
                let v = need()?.trim();
                let t = Transform::from_name(v)
                    .ok_or_else(|| ("t".to_string(), format!("unknown transformation {v}"), true))?;
                if t == Transform::None {
                    self.transforms_reset = true;
                    self.transforms.clear();
                } else {
                    self.transforms.push(t);
                }
            }
            "setvar" => self.setvars.push(parse_setvar(need()?).map_err(|r| bad(&r))?),
            "capture" => self.capture = true,
            "chain" => self.chain = true,
            "skip" => {
                let n = need()?.trim().parse::<u32>().map_err(|_| bad("not a number"))?;
                if n == 0 {
                    return Err(bad("skip needs a positive count"));
                }
                self.skip = Some(n);
            }
            "skipafter" => self.skip_after = Some(need()?.trim().to_string()),
            "block" => self.disruptive = Some(Disruptive::Block),
            "deny" => self.disruptive = Some(Disruptive::Deny),
            "drop" => self.disruptive = Some(Disruptive::Drop),
            "pass" => self.disruptive = Some(Disruptive::Pass),
            "allow" => {
                let scope = match value.map(|v| v.trim().to_ascii_lowercase()) {
                    None => AllowScope::Transaction,
                    Some(v) if v == "phase" => AllowScope::Phase,
                    Some(v) if v == "request" => AllowScope::Request,
                    Some(_) => return Err(bad("allow takes phase or request")),
                };
                self.disruptive = Some(Disruptive::Allow(scope));
            }
            "redirect" => self.disruptive = Some(Disruptive::Redirect(MacroString::parse(need()?.trim()))),
            "status" => {
                let s = need()?.trim().parse::<u16>().map_err(|_| bad("not a status code"))?;
                if !(100..=999).contains(&s) {
                    return Err(bad("status out of range"));
                }
                self.status = Some(s);
            }
            "log" => self.log = Some(true),
            "nolog" => self.log = Some(false),
            "auditlog" => self.auditlog = Some(true),
            "noauditlog" => self.auditlog = Some(false),
            "multimatch" => self.multi_match = true,
            "ctl" => self
                .runtime
                .push(RuntimeAction::Ctl(Ctl::parse(need()?).map_err(|r| bad(&r))?)),
            "initcol" => {
                let v = need()?;
                let (c, k) = v.split_once('=').ok_or_else(|| bad("needs COLLECTION=KEY"))?;
                let collection = writable_collection(c).map_err(|r| bad(&r))?;
                self.runtime.push(RuntimeAction::InitCol {
                    collection,
                    key: MacroString::parse(k.trim()),
                });
            }
            "expirevar" => {
                let v = need()?;
                let (target, secs) = v.split_once('=').ok_or_else(|| bad("needs COLLECTION.NAME=SECONDS"))?;
                let (c, k) = target
                    .trim()
                    .split_once('.')
                    .ok_or_else(|| bad("needs COLLECTION.NAME"))?;
                let collection = writable_collection(c).map_err(|r| bad(&r))?;
                self.runtime.push(RuntimeAction::ExpireVar {
                    collection,
                    key: MacroString::parse(k),
                    seconds: MacroString::parse(secs.trim()),
                });
            }
            "setsid" => self.runtime.push(RuntimeAction::SetId {
                collection: "session".into(),
                key: MacroString::parse(need()?),
            }),
            "setuid" => self.runtime.push(RuntimeAction::SetId {
                collection: "user".into(),
                key: MacroString::parse(need()?),
            }),
            "setenv" => {
                let v = need()?;
                let (n, val) = v.split_once('=').unwrap_or((v, "1"));
                self.runtime.push(RuntimeAction::SetEnv {
                    name: n.trim().to_string(),
                    value: MacroString::parse(val),
                });
            }
            // Accepted for compatibility; they only affect audit logging or sanitisation that
            // the embedding proxy owns. Listed explicitly so misspellings still fail.
            "sanitisearg"
            | "sanitisematched"
            | "sanitisematchedbytes"
            | "sanitiserequestheader"
            | "sanitiseresponseheader"
            | "append"
            | "prepend"
            | "xmlns"
            | "deprecatevar"
            | "exec"
            | "pause"
            | "proxy"
            | "sanitizearg"
            | "sanitizematched" => {}
            _ => return Err((action.name.clone(), "unknown action".into(), true)),
        }
        Ok(())
    }

    /// True when any action is only valid on a chain starter.
    pub(crate) fn has_starter_only_actions(&self) -> Option<&'static str> {
        if self.id.is_some() {
            Some("id")
        } else if self.phase.is_some() {
            Some("phase")
        } else if self.skip.is_some() {
            Some("skip")
        } else if self.skip_after.is_some() {
            Some("skipAfter")
        } else if matches!(self.disruptive, Some(ref d) if *d != Disruptive::Pass) {
            Some("disruptive action")
        } else {
            None
        }
    }
}

fn writable_collection(name: &str) -> Result<String, String> {
    let c = name.trim().to_ascii_lowercase();
    if WRITABLE.contains(&c.as_str()) {
        Ok(c)
    } else {
        Err(format!("collection `{name}` is not writable"))
    }
}

/// Parses the text after `setvar:`.
pub(crate) fn parse_setvar(text: &str) -> Result<SetVar, String> {
    let text = text.trim();
    let (delete, text) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (target, op) = if delete {
        (text, SetVarOp::Delete)
    } else {
        match text.find('=') {
            None => (text, SetVarOp::Set(MacroString::parse("1"))),
            Some(i) => {
                let (lhs, rhs) = (&text[..i], &text[i + 1..]);
                if let Some(l) = lhs.strip_suffix('+') {
                    (l, SetVarOp::Add(MacroString::parse(rhs.trim())))
                } else if let Some(l) = lhs.strip_suffix('-') {
                    (l, SetVarOp::Sub(MacroString::parse(rhs.trim())))
                } else if let Some(r) = rhs.strip_prefix('+') {
                    (lhs, SetVarOp::Add(MacroString::parse(r.trim())))
                } else if let Some(r) = rhs.strip_prefix('-') {
                    (lhs, SetVarOp::Sub(MacroString::parse(r.trim())))
                } else {
                    (lhs, SetVarOp::Set(MacroString::parse(rhs)))
                }
            }
        }
    };
    let (collection, key) = target
        .trim()
        .split_once('.')
        .ok_or_else(|| format!("setvar target `{target}` needs COLLECTION.NAME"))?;
    if key.is_empty() {
        return Err(format!("setvar target `{target}` has an empty name"));
    }
    Ok(SetVar {
        collection: writable_collection(collection)?,
        key: MacroString::parse(key),
        op,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::actions::split_actions;

    #[test]
    fn setvar_forms() {
        let s = parse_setvar("tx.a=+%{tx.b}").unwrap();
        assert_eq!(s.collection, "tx");
        assert!(matches!(s.op, SetVarOp::Add(_)));
        assert!(matches!(parse_setvar("TX.a=-5").unwrap().op, SetVarOp::Sub(_)));
        assert!(matches!(parse_setvar("tx.a+=5").unwrap().op, SetVarOp::Add(_)));
        assert!(matches!(parse_setvar("tx.a-=5").unwrap().op, SetVarOp::Sub(_)));
        assert!(matches!(parse_setvar("!tx.a").unwrap().op, SetVarOp::Delete));
        assert!(matches!(parse_setvar("tx.a").unwrap().op, SetVarOp::Set(_)));
        assert!(parse_setvar("args.a=1").is_err());
        assert!(parse_setvar("tx=1").is_err());
    }

    #[test]
    fn phases_and_severities() {
        assert_eq!(Phase::parse("request"), Some(Phase::RequestBody));
        assert_eq!(Phase::parse("response"), Some(Phase::ResponseBody));
        assert_eq!(Phase::parse("logging"), Some(Phase::Logging));
        assert_eq!(Phase::parse("6"), None);
        assert_eq!(parse_severity("CRITICAL"), Some(2));
        assert_eq!(parse_severity("warning"), Some(4));
        assert_eq!(parse_severity("5"), Some(5));
        assert_eq!(parse_severity("9"), None);
    }

    #[test]
    fn ctl_forms() {
        assert!(matches!(
            Ctl::parse("ruleEngine=DetectionOnly").unwrap(),
            Ctl::RuleEngine(EngineMode::DetectionOnly)
        ));
        match Ctl::parse("ruleRemoveTargetById=942100;ARGS:foo").unwrap() {
            Ctl::RuleRemoveTargetById(ids, ex) => {
                assert_eq!(
                    ids,
                    vec![IdRange {
                        start: 942100,
                        end: 942100
                    }]
                );
                assert!(ex[0].excludes(variable::Variable::Args, b"FOO"));
            }
            other => panic!("{other:?}"),
        }
        match Ctl::parse("ruleRemoveById=920000-920999").unwrap() {
            Ctl::RuleRemoveById(r) => assert!(r[0].contains(920500)),
            other => panic!("{other:?}"),
        }
        assert!(Ctl::parse("bogus=1").is_err());
        assert!(Ctl::parse("requestBodyProcessor=YAML").is_err());
    }

    #[test]
    fn action_list() {
        let raw =
            split_actions("id:5,phase:request,t:lowercase,t:none,t:urlDecodeUni,deny,status:418,nolog,tag:'a',tag:'b'")
                .unwrap();
        let l = ActionList::parse(&raw).unwrap();
        assert_eq!(l.id, Some(5));
        assert_eq!(l.phase, Some(Phase::RequestBody));
        assert!(l.transforms_reset);
        assert_eq!(l.status, Some(418));
        assert_eq!(l.log, Some(false));
        assert_eq!(l.tags, vec!["a", "b"]);
        assert_eq!(l.disruptive, Some(Disruptive::Deny));
        let err = ActionList::parse(&split_actions("id:1,frobnicate").unwrap()).unwrap_err();
        assert!(err.2);
        assert!(ActionList::parse(&split_actions("id:x").unwrap()).is_err());
    }
}
