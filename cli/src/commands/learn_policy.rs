//! `meshward learn policy [FILES...|-]`: learns a least-privilege policy from the policy
//! filter's recorded events and writes the meshward document, the Istio AuthorizationPolicies
//! and the report (docs/learn.md).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use meshward_learn::{istio, policy, Intake, LearnError, Options, Report};
use meshward_vocab::Mode;

use crate::args::{LearnMode, LearnPolicyArgs};
use crate::CliError;

/// Malformed lines listed on stderr (all of them are in the report).
const MALFORMED_SHOWN: usize = 20;

/// Runs the command.
pub fn run(args: &LearnPolicyArgs) -> Result<(), CliError> {
    let mode = match args.mode {
        LearnMode::Detect => Mode::Detect,
        LearnMode::Enforce => Mode::Enforce,
    };
    let opts = Options::new(
        mode,
        args.folding.fold_threshold,
        &args.folding.templates,
        &args.folding.literals,
    )?;
    let intake = read_inputs(&args.files)?;
    if intake.records.is_empty() {
        for m in intake.malformed.iter().take(MALFORMED_SHOWN) {
            eprintln!("{}:{}: {}", m.origin.file, m.origin.line, m.reason);
        }
        return Err(CliError::NoEvents { lines: intake.lines });
    }
    let learned = meshward_learn::learn(&intake, &opts);
    let report = Report::build(&learned, &intake)?;
    let report_text = if args.json { report.json() } else { report.markdown() };
    let policy_text = policy::render(&learned);
    let istio_text = istio::render(&learned);
    match &args.out_dir {
        Some(dir) => {
            create_dir(dir)?;
            write(&dir.join("policy.yaml"), &policy_text)?;
            write(&dir.join("istio.yaml"), &istio_text)?;
            let name = if args.json { "report.json" } else { "report.md" };
            write(&dir.join(name), &report_text)?;
        }
        None => {
            match &args.policy {
                Some(p) => write(p, &policy_text)?,
                None => print!("{policy_text}"),
            }
            if let Some(p) = &args.istio {
                write(p, &istio_text)?;
            }
            if let Some(p) = &args.report {
                write(p, &report_text)?;
            }
        }
    }
    for m in intake.malformed.iter().take(MALFORMED_SHOWN) {
        eprintln!("{}:{}: warning: {}", m.origin.file, m.origin.line, m.reason);
    }
    if intake.malformed.len() > MALFORMED_SHOWN {
        eprintln!(
            "... and {} more malformed lines (all in the report)",
            intake.malformed.len() - MALFORMED_SHOWN
        );
    }
    let rules: usize = learned.services.iter().map(|s| s.rules.len()).sum();
    let templates: usize = learned.services.iter().map(|s| s.templates.len()).sum();
    eprintln!(
        "learned {} services, {} rules, {} templates from {} of {} requests ({} malformed lines); the learned policy denies {} of the {} replayed",
        learned.services.len(),
        rules,
        templates,
        learned.learned_requests,
        learned.requests,
        learned.malformed.len(),
        report.replay.denied,
        report.replay.replayed
    );
    Ok(())
}

/// Reads every input; none or `-` is standard input.
pub(crate) fn read_inputs(files: &[PathBuf]) -> Result<Intake, CliError> {
    let mut intake = Intake::default();
    let stdin = [PathBuf::from("-")];
    let files = if files.is_empty() { &stdin[..] } else { files };
    for path in files {
        let read = if path.as_os_str() == "-" {
            intake.read("-", std::io::stdin().lock())
        } else {
            let name = path.display().to_string();
            File::open(path).and_then(|f| intake.read(&name, BufReader::new(f)))
        };
        read.map_err(|source| LearnError::Read {
            path: path.clone(),
            source,
        })?;
    }
    Ok(intake)
}

/// Creates `dir` and its parents (an output directory).
pub(crate) fn create_dir(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|source| CliError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes one output file.
pub(crate) fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|source| CliError::Write {
        path: path.to_path_buf(),
        source,
    })
}
