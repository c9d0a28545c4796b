//! Turns a configuration into SecLang sources, one rule set per directive set, and compiles
//! each distinct set once.

use std::collections::BTreeMap;

use meshward_seclang::{Files, RuleSet};
use meshward_vocab::Mode;

use crate::config::{ConfigError, WafConfig};
use crate::embedded;

/// The name of the set used when no `per_route` / `per_authority` entry applies.
pub const DEFAULT_SET: &str = "default";

/// First rule id reserved for meshward's generated settings (10000-10099).
pub const SETTINGS_RULE_ID: u64 = 10000;

/// The rule refusing a request with more arguments than `arguments_limit` in one source.
pub const ARGUMENTS_RULE_ID: u64 = SETTINGS_RULE_ID + 20;

/// meshward's rule packs use ids 10100-19999: 100 per pack (docs/packs.md lists each range).
pub const PACK_RULE_IDS: std::ops::RangeInclusive<u64> = 10100..=19999;

/// One SecLang source: an origin naming it in errors (`directives[3]`) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Name shown in load errors.
    pub origin: String,
    /// SecLang text.
    pub text: String,
}

fn src(origin: impl Into<String>, text: impl Into<String>) -> Source {
    Source {
        origin: origin.into(),
        text: text.into(),
    }
}

/// The engine settings and CRS `tx.*` knobs the configuration maps to.
pub fn settings(config: &WafConfig) -> String {
    let on_off = |b: bool| if b { "On" } else { "Off" };
    let rq = &config.request_body;
    let rs = &config.response_body;
    let mut s = String::new();
    s.push_str(match config.mode {
        Mode::Detect => "SecRuleEngine DetectionOnly\n",
        Mode::Enforce => "SecRuleEngine On\n",
    });
    s.push_str(&format!("SecRequestBodyAccess {}\n", on_off(rq.access)));
    s.push_str(&format!("SecRequestBodyLimit {}\n", rq.limit));
    s.push_str(&format!("SecRequestBodyNoFilesLimit {}\n", rq.no_files_limit));
    s.push_str(&format!("SecRequestBodyLimitAction {}\n", rq.on_limit.seclang()));
    s.push_str(&format!("SecResponseBodyAccess {}\n", on_off(rs.access)));
    s.push_str("SecResponseBodyMimeTypesClear\n");
    let mime_types = config.response_mime_types();
    if !mime_types.is_empty() {
        s.push_str(&format!("SecResponseBodyMimeType {}\n", mime_types.join(" ")));
    }
    s.push_str(&format!("SecResponseBodyLimit {}\n", rs.limit));
    s.push_str(&format!("SecResponseBodyLimitAction {}\n", rs.on_limit.seclang()));
    // One argument more than the limit is kept, so that a request over it is told from one at
    // it; the engine stores no more (memory stays bounded) and the rule refuses the request.
    let args = u64::from(config.arguments_limit);
    s.push_str(&format!("SecArgumentsLimit {}\n", args + 1));
    s.push_str(&format!(
        "SecRule &ARGS_GET|&ARGS_POST \"@gt {args}\" \"id:{ARGUMENTS_RULE_ID},phase:2,t:none,log,deny,status:400,\
         msg:'Too many arguments to inspect (arguments_limit {args})',severity:2\"\n"
    ));
    s.push_str(&format!(
        "SecAction \"id:{SETTINGS_RULE_ID},phase:1,pass,nolog,t:none,\
         setvar:tx.blocking_paranoia_level={},setvar:tx.detection_paranoia_level={},\
         setvar:tx.inbound_anomaly_score_threshold={},setvar:tx.outbound_anomaly_score_threshold={}\"\n",
        config.paranoia_level,
        config.detection_paranoia(),
        config.inbound_anomaly_threshold,
        config.outbound_anomaly_threshold
    ));
    if config.crs {
        s.push_str(&config.profile.directives());
    }
    s
}

/// The sources of directive set `set` (`None` = default) in load order: recommended, settings,
/// crs-setup, `directives`, the set's lines, meshward's rule packs, CRS rules,
/// `directives_after_crs`. The packs load before the CRS rules, as CRS's `*-before.conf`
/// plugins do, so their phase-2 rules add to the anomaly scores CRS's blocking evaluation (949)
/// sums.
pub fn sources(config: &WafConfig, set: Option<&str>) -> Vec<Source> {
    let mut out = vec![
        src("meshward", format!("Include {}", embedded::RECOMMENDED)),
        src("meshward-settings", settings(config)),
    ];
    if config.crs {
        out.push(src("meshward", format!("Include {}", embedded::CRS_SETUP)));
    }
    for (i, line) in config.directives.iter().enumerate() {
        out.push(src(format!("directives[{i}]"), line.clone()));
    }
    if let Some(name) = set {
        for (i, line) in config.directive_sets.get(name).into_iter().flatten().enumerate() {
            out.push(src(format!("directive_sets.{name}[{i}]"), line.clone()));
        }
    }
    for name in config.effective_packs() {
        out.push(src(format!("pack {name}"), embedded::pack_include(name)));
    }
    if config.crs {
        out.push(src("meshward", format!("Include {}", embedded::CRS_RULES)));
    }
    for (i, line) in config.directives_after_crs.iter().enumerate() {
        out.push(src(format!("directives_after_crs[{i}]"), line.clone()));
    }
    out
}

/// Compiles sources against the embedded files.
pub fn compile(sources: &[Source], files: &Files) -> Result<RuleSet, ConfigError> {
    let mut builder = RuleSet::builder().files(files.clone()).rx_table(embedded::RX_TABLE);
    for s in sources {
        builder = builder.add_str(&s.text, &s.origin);
    }
    Ok(builder.build()?)
}

/// Every directive set compiled: the default set and each named set (identical sets share one
/// compiled rule set).
#[derive(Debug, Clone)]
pub struct CompiledSets {
    /// Set name -> index into `rules`.
    pub by_name: BTreeMap<String, usize>,
    /// The distinct compiled rule sets.
    pub rules: Vec<RuleSet>,
}

impl CompiledSets {
    /// Compiles the default set and every named set of `config`.
    pub fn build(config: &WafConfig, files: &Files) -> Result<CompiledSets, ConfigError> {
        let mut by_name = BTreeMap::new();
        let mut rules = Vec::new();
        let mut seen: Vec<Vec<Source>> = Vec::new();
        let names = std::iter::once(None).chain(config.directive_sets.keys().map(|k| Some(k.as_str())));
        for name in names {
            let sources = sources(config, name);
            // Origins differ per set; compare the texts to find identical sets.
            let texts: Vec<Source> = sources.iter().map(|s| src("", s.text.clone())).collect();
            let index = match seen.iter().position(|t| *t == texts) {
                Some(i) => i,
                None => {
                    rules.push(compile(&sources, files)?);
                    seen.push(texts);
                    rules.len() - 1
                }
            };
            by_name.insert(name.unwrap_or(DEFAULT_SET).to_string(), index);
        }
        Ok(CompiledSets { by_name, rules })
    }

    /// The rule set named `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<&RuleSet> {
        self.by_name.get(name).and_then(|&i| self.rules.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_puts_directives_between_setup_and_rules() {
        let c = WafConfig::parse(
            br#"{"directives":["SecRuleRemoveById 1"],"directive_sets":{"a":["SecRuleRemoveById 2"]},
                "directives_after_crs":["SecRuleRemoveById 3"],"packs":["nosql"]}"#,
        )
        .unwrap();
        let origins: Vec<String> = sources(&c, Some("a")).into_iter().map(|s| s.origin).collect();
        assert_eq!(
            origins,
            [
                "meshward",
                "meshward-settings",
                "meshward",
                "directives[0]",
                "directive_sets.a[0]",
                "pack nosql",
                "meshward",
                "directives_after_crs[0]"
            ]
        );
        let texts: Vec<String> = sources(&c, Some("a")).into_iter().map(|s| s.text).collect();
        assert_eq!(texts[2], "Include @crs-setup");
        assert_eq!(texts[5], "Include @packs/nosql.conf");
        assert_eq!(texts[6], "Include @crs-rules");
        assert!(!sources(&c, None).iter().any(|s| s.origin.starts_with("directive_sets")));
    }

    #[test]
    fn settings_map_knobs_to_seclang() {
        let c = WafConfig::parse(br#"{"mode":"enforce","paranoia_level":2,"inbound_anomaly_threshold":10,"request_body":{"on_limit":"process_partial"}}"#).unwrap();
        let s = settings(&c);
        assert!(s.contains("SecRuleEngine On\n"));
        assert!(s.contains("setvar:tx.blocking_paranoia_level=2,setvar:tx.detection_paranoia_level=2"));
        assert!(s.contains("setvar:tx.inbound_anomaly_score_threshold=10"));
        assert!(s.contains("SecRequestBodyLimitAction ProcessPartial"));
        assert!(settings(&WafConfig::default()).contains("SecRuleEngine DetectionOnly"));
    }

    #[test]
    fn without_crs_only_base_and_directives_load() {
        let c = WafConfig::parse(br#"{"crs":false,"directives":["SecRule ARGS \"@rx x\" \"id:1,phase:1,deny\""]}"#)
            .unwrap();
        let sets = CompiledSets::build(&c, &embedded::files()).unwrap();
        let rules = sets.get(DEFAULT_SET).unwrap();
        assert!(rules.has_rule(1));
        assert!(!rules.has_rule(942100));
    }

    #[test]
    fn bad_directive_names_its_origin() {
        let c =
            WafConfig::parse(br#"{"crs":false,"directives":["SecRuleEngine On","SecRule ARGS \"@nope x\" \"id:1\""]}"#)
                .unwrap();
        let err = CompiledSets::build(&c, &embedded::files()).unwrap_err().to_string();
        assert!(err.contains("directives[1]:1"), "{err}");
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn crs_compiles_once_per_distinct_set_and_exclusions_apply() {
        let c = WafConfig::parse(
            br#"{"directive_sets":{"admin":["SecRuleRemoveById 942100"],"same":[]},"per_authority":{"a":"admin"}}"#,
        )
        .unwrap();
        let sets = CompiledSets::build(&c, &embedded::files()).unwrap();
        assert_eq!(
            sets.rules.len(),
            2,
            "`same` adds nothing, so it shares the default rule set"
        );
        assert_eq!(sets.by_name["same"], sets.by_name[DEFAULT_SET]);
        assert!(sets.get(DEFAULT_SET).unwrap().has_rule(942100));
        assert!(!sets.get("admin").unwrap().has_rule(942100));
        assert!(sets.get(DEFAULT_SET).unwrap().has_rule(SETTINGS_RULE_ID));
    }
}
