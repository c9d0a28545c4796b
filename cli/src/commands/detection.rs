//! `meshward detection`: runs the attack and benign corpus through the WAF in enforce mode and
//! prints, per split and attack family, how many attacks it stops and how many benign requests
//! it passes, optionally beside CRS PL1 alone.

use std::path::PathBuf;
use std::rc::Rc;

use meshward_waf::loaded::Loaded;

use crate::args::{Baseline, DetectionArgs, Through};
use crate::detection::corpus::{self, Entry, Kind, Payload};
use crate::detection::envoy::EnvoyRun;
use crate::detection::measure::{self, Case, Tally};
use crate::detection::report::{self, Report};
use crate::CliError;

/// What one side of the comparison runs: a description and the WAF configuration (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `profile mesh, paranoia 1, packs ...`.
    pub name: String,
    /// The plugin configuration.
    pub config: String,
}

impl Subject {
    /// Enforce mode with this profile, paranoia level and packs (`None`: the profile's default).
    pub fn new(profile: &str, paranoia: u8, packs: Option<Vec<String>>) -> Subject {
        let mut config = serde_json::json!({"mode": "enforce", "profile": profile, "paranoia_level": paranoia});
        if let Some(p) = &packs {
            config["packs"] = serde_json::json!(p);
        }
        let packs = match &packs {
            None => "profile default".to_string(),
            Some(p) if p.is_empty() => "none".to_string(),
            Some(p) => p.join(","),
        };
        Subject {
            name: format!("profile {profile}, paranoia {paranoia}, packs {packs}"),
            config: config.to_string(),
        }
    }

    /// The baseline named on the command line.
    pub fn baseline(b: Baseline) -> Subject {
        match b {
            Baseline::CrsPl1 => Subject {
                name: "crs-pl1 (profile crs, paranoia 1, no packs)".into(),
                config: r#"{"mode":"enforce","profile":"crs","paranoia_level":1}"#.into(),
            },
        }
    }

    /// Loads its configuration as the filter does.
    pub fn load(&self) -> Result<Rc<Loaded>, CliError> {
        Loaded::load(self.config.as_bytes())
            .map(Rc::new)
            .map_err(|source| CliError::DetectionConfig {
                subject: self.name.clone(),
                source: Box::new(source),
            })
    }
}

/// `--packs a,b` / `none`.
fn packs(arg: Option<&str>) -> Option<Vec<String>> {
    let arg = arg?.trim();
    if arg == "none" {
        return Some(Vec::new());
    }
    Some(
        arg.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
    )
}

/// The corpus directory: `--corpus`, else the repository's `corpus/`.
pub fn corpus_dir(arg: Option<&PathBuf>) -> PathBuf {
    arg.cloned()
        .unwrap_or_else(|| meshward_testkit::locate::workspace_root().join("corpus"))
}

/// Where the requests go: the engine natively, or real Envoy running this WAF module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The filter's own exchange, natively.
    Engine,
    /// Real Envoy with this `meshward_waf.wasm`.
    Envoy(PathBuf),
}

/// Runs `entries` for `subject` by `route`.
fn run_subject<'a>(
    entries: &'a [Entry],
    subject: &Subject,
    route: &Route,
    each: impl FnMut(Case<'a>),
) -> Result<Tally, CliError> {
    // The configuration is checked by the filter's own loader first, also before Envoy gets it.
    let loaded = subject.load()?;
    match route {
        Route::Engine => measure::run(entries, |r| Ok::<_, CliError>(measure::verdict(&loaded, r)), each),
        Route::Envoy(wasm) => {
            let envoy = EnvoyRun::start(wasm, &subject.config)?;
            measure::run(entries, |r| envoy.verdict(r).map_err(CliError::from), each)
        }
    }
}

/// Measures `subject` (and `baseline`) on the corpus in `dir` by `route`; `misses` gets one line
/// per attack passed and benign request stopped by the subject.
pub fn measure(
    dir: &std::path::Path,
    subject: &Subject,
    baseline: Option<&Subject>,
    route: &Route,
    mut misses: impl FnMut(String),
) -> Result<Report, CliError> {
    let entries = corpus::load(dir)?;
    let tally = run_subject(&entries, subject, route, |case| {
        let missed = match case.entry.kind {
            Kind::Attack(_) => !case.stopped,
            Kind::Benign => case.stopped,
        };
        if missed {
            let what = match &case.entry.payload {
                Payload::Value(v) => format!("{v:?}"),
                Payload::Request(r) => format!("{} {}", r.method, r.target),
            };
            let kind = match &case.entry.kind {
                Kind::Attack(f) => format!("missed {f}"),
                Kind::Benign => "stopped benign".into(),
            };
            misses(format!(
                "{} {kind} [{}/{}]: {what} rules {:?}",
                case.entry.split,
                case.entry.source,
                case.shape.name(),
                case.rules
            ));
        }
    })?;
    let base: Option<(String, Tally)> = match baseline {
        Some(b) => Some((b.name.clone(), run_subject(&entries, b, route, |_| {})?)),
        None => None,
    };
    Ok(report::build(
        subject.name.clone(),
        &tally,
        base.as_ref().map(|(n, t)| (n.clone(), t)),
    ))
}

/// Runs the command.
pub fn run(args: &DetectionArgs) -> Result<(), CliError> {
    let subject = Subject::new(&args.profile, args.paranoia, packs(args.packs.as_deref()));
    let baseline = args.baseline.map(Subject::baseline);
    let dir = corpus_dir(args.corpus.as_ref());
    let route = match args.through {
        Through::Engine => Route::Engine,
        Through::Envoy => Route::Envoy(match &args.wasm {
            Some(w) => w.clone(),
            None => meshward_testkit::locate::wasm_file("meshward-waf")?,
        }),
    };
    let report = measure(&dir, &subject, baseline.as_ref(), &route, |line| {
        if args.misses {
            eprintln!("{line}");
        }
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_argument_lists_names_or_none() {
        assert_eq!(packs(None), None);
        assert_eq!(packs(Some("none")), Some(vec![]));
        assert_eq!(
            packs(Some("nosql, ldap")),
            Some(vec!["nosql".to_string(), "ldap".to_string()])
        );
        let s = Subject::new("mesh", 2, Some(vec![]));
        assert_eq!(
            s.config,
            r#"{"mode":"enforce","packs":[],"paranoia_level":2,"profile":"mesh"}"#
        );
        assert_eq!(s.name, "profile mesh, paranoia 2, packs none");
    }
}
