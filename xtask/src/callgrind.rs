//! Reads a callgrind output file (`callgrind.out.*`): each function's exclusive cost in the
//! first event (instructions, `Ir`) and its callers with the inclusive cost of their calls,
//! then attributes the cost to categories by function name.
//!
//! The format (valgrind's "Callgrind Format Specification"): `fn=`/`cfn=` name the current and
//! the called function, with names compressed as `(id) name` the first time and `(id)` after;
//! a cost line is positions then event counts; the cost line after `calls=` is the inclusive
//! cost of that call, not the caller's own.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};

/// The costs of one function.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Function {
    /// Instructions executed in the function itself.
    pub exclusive: u64,
    /// Callers and the instructions of their calls to this function (callee included).
    pub callers: HashMap<String, u64>,
}

/// A parsed profile: functions by name and the total of the first event.
#[derive(Debug, Default)]
pub struct Profile {
    /// Functions by (demangled) name.
    pub functions: HashMap<String, Function>,
    /// Sum of every function's exclusive cost.
    pub total: u64,
}

/// Parses callgrind's output text.
pub fn parse(text: &str) -> Result<Profile> {
    let mut names: HashMap<String, String> = HashMap::new();
    let mut positions = 1usize;
    let mut profile = Profile::default();
    let mut current: Option<String> = None;
    let mut callee: Option<String> = None;
    let mut call_pending = false;
    for (n, line) in text.lines().enumerate() {
        let at = || format!("callgrind output line {}", n + 1);
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(spec) = line.strip_prefix("positions:") {
            positions = spec.split_whitespace().count().max(1);
        } else if let Some(name) = line.strip_prefix("fn=") {
            current = Some(resolve(&mut names, name).with_context(at)?);
        } else if let Some(name) = line.strip_prefix("cfn=") {
            callee = Some(resolve(&mut names, name).with_context(at)?);
        } else if line.starts_with("calls=") {
            call_pending = true;
        } else if line.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '*')) {
            let cost = first_event(line, positions).with_context(at)?;
            let Some(function) = current.as_deref() else {
                bail!("{}: a cost line before any fn=", at());
            };
            if call_pending {
                call_pending = false;
                let Some(called) = callee.as_deref() else {
                    bail!("{}: calls= without cfn=", at());
                };
                let f = profile.functions.entry(called.to_string()).or_default();
                *f.callers.entry(function.to_string()).or_default() += cost;
            } else {
                profile.functions.entry(function.to_string()).or_default().exclusive += cost;
                profile.total += cost;
            }
        }
        // Other lines (headers, ob=, fl=, fi=, fe=, cob=, cfi=, jump=...) do not move cost.
    }
    Ok(profile)
}

/// The name a `fn=`/`cfn=` value stands for, recording `(id) name` definitions.
fn resolve(names: &mut HashMap<String, String>, value: &str) -> Result<String> {
    let Some(rest) = value.strip_prefix('(') else {
        return Ok(value.to_string());
    };
    let Some((id, name)) = rest.split_once(')') else {
        bail!("unclosed name id in `{value}`");
    };
    let name = name.trim();
    if name.is_empty() {
        return names
            .get(id)
            .cloned()
            .with_context(|| format!("name id ({id}) used before it was defined"));
    }
    names.insert(id.to_string(), name.to_string());
    Ok(name.to_string())
}

/// The first event's count on a cost line (0 when the line lists no events).
fn first_event(line: &str, positions: usize) -> Result<u64> {
    match line.split_whitespace().nth(positions) {
        None => Ok(0),
        Some(v) => v.parse().with_context(|| format!("bad event count `{v}`")),
    }
}

/// Where a function's own cost goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// A category of the table.
    Category(&'static str),
    /// A library or runtime helper: its cost goes to whoever called it.
    Callers,
}

/// Category names, in the order they are printed.
pub const CATEGORIES: [&str; 11] = [
    "transformations",
    "prefilter (scan + transform cache)",
    "operator @rx (regex)",
    "operator @pm (aho-corasick)",
    "operator @detectSQLi (libinjection)",
    "operator @detectXSS (libinjection)",
    "operators, other",
    "body parsing",
    "allocation",
    "rest (engine, filter, std)",
    "total",
];

const REST: &str = CATEGORIES[9];
const PM: &str = CATEGORIES[3];
const OTHER_OPERATORS: &str = CATEGORIES[6];

/// Name prefixes (after any leading `<`) and what they belong to; the first match wins.
const PREFIXES: &[(&str, Owner)] = &[
    ("meshward_seclang::transform::", Owner::Category(CATEGORIES[0])),
    ("meshward_seclang::prefilter::", Owner::Category(CATEGORIES[1])),
    (
        "meshward_seclang::transaction::transform_cache::",
        Owner::Category(CATEGORIES[1]),
    ),
    (
        "meshward_seclang::transaction::value_table::",
        Owner::Category(CATEGORIES[1]),
    ),
    ("regex_automata::", Owner::Category(CATEGORIES[2])),
    ("regex::", Owner::Category(CATEGORIES[2])),
    ("meshward_seclang::operator::rx", Owner::Category(CATEGORIES[2])),
    ("meshward_seclang::operator::regex", Owner::Category(CATEGORIES[2])),
    ("meshward_seclang::operator::pm", Owner::Category(CATEGORIES[3])),
    ("meshward_libinjection::sqli", Owner::Category(CATEGORIES[4])),
    ("meshward_libinjection::xss", Owner::Category(CATEGORIES[5])),
    ("meshward_libinjection::html5", Owner::Category(CATEGORIES[5])),
    ("meshward_seclang::operator::", Owner::Category(CATEGORIES[6])),
    ("meshward_seclang::body::", Owner::Category(CATEGORIES[7])),
    ("serde_json::", Owner::Category(CATEGORIES[7])),
    ("serde::", Owner::Category(CATEGORIES[7])),
    ("roxmltree::", Owner::Category(CATEGORIES[7])),
    ("alloc::alloc::", Owner::Category(CATEGORIES[8])),
    ("alloc::raw_vec::", Owner::Category(CATEGORIES[8])),
    ("__rust_alloc", Owner::Category(CATEGORIES[8])),
    ("__rust_dealloc", Owner::Category(CATEGORIES[8])),
    ("__rust_realloc", Owner::Category(CATEGORIES[8])),
    ("__rdl_", Owner::Category(CATEGORIES[8])),
    ("_int_", Owner::Category(CATEGORIES[8])),
    ("__libc_malloc", Owner::Category(CATEGORIES[8])),
    ("__libc_free", Owner::Category(CATEGORIES[8])),
    ("__libc_realloc", Owner::Category(CATEGORIES[8])),
    ("malloc", Owner::Category(CATEGORIES[8])),
    ("free", Owner::Category(CATEGORIES[8])),
    ("cfree", Owner::Category(CATEGORIES[8])),
    ("realloc", Owner::Category(CATEGORIES[8])),
    ("calloc", Owner::Category(CATEGORIES[8])),
    ("unlink_chunk", Owner::Category(CATEGORIES[8])),
    ("tcache_", Owner::Category(CATEGORIES[8])),
    ("sysmalloc", Owner::Category(CATEGORIES[8])),
    // Shared libraries and the standard library: charged to their callers, so Aho-Corasick
    // under `operator::pm` is @pm and under the prefilter is the prefilter.
    ("aho_corasick::", Owner::Callers),
    ("memchr::", Owner::Callers),
    ("core::", Owner::Callers),
    ("alloc::", Owner::Callers),
    ("std::", Owner::Callers),
    ("hashbrown::", Owner::Callers),
    ("rustc_hash::", Owner::Callers),
    ("__mem", Owner::Callers),
    ("__str", Owner::Callers),
    ("mem", Owner::Callers),
];

/// What owns the cost of the function named `name`.
fn owner(name: &str) -> Owner {
    let bare = name.trim_start_matches(['<', '&', '*']);
    // glibc's allocator entry points are matched whole: a prefix `free` would take `freeze`.
    let allocator = ["malloc", "free", "cfree", "realloc", "calloc"];
    PREFIXES
        .iter()
        .find(|(prefix, _)| {
            if allocator.contains(prefix) {
                bare == *prefix
            } else {
                bare.starts_with(prefix)
            }
        })
        .map_or(Owner::Category(REST), |(_, o)| *o)
}

/// Callers are followed this deep at most (recursion, long helper chains).
const MAX_DEPTH: usize = 24;

/// Instructions per category, `total` last: each function's exclusive cost goes to its
/// category, or for helpers to their callers' in proportion to the calls' inclusive costs.
pub fn attribute(profile: &Profile) -> Vec<(&'static str, u64)> {
    let mut sums: HashMap<&'static str, f64> = HashMap::new();
    for (name, f) in &profile.functions {
        let before = sums.get(OTHER_OPERATORS).copied().unwrap_or(0.0);
        charge(profile, name, f.exclusive as f64, 0, &mut sums);
        // @pm's matcher is often inlined into the operator dispatch, so Aho-Corasick reached
        // from operator code is @pm: the only operator that runs it (@rx's literal searches
        // go through regex_automata, charged to @rx by name).
        if name.trim_start_matches('<').starts_with("aho_corasick::") {
            let moved = sums.get(OTHER_OPERATORS).copied().unwrap_or(0.0) - before;
            if moved > 0.0 {
                *sums.entry(OTHER_OPERATORS).or_default() -= moved;
                *sums.entry(PM).or_default() += moved;
            }
        }
    }
    let mut out: Vec<(&'static str, u64)> = CATEGORIES
        .iter()
        .filter(|c| **c != "total")
        .map(|c| (*c, sums.get(c).copied().unwrap_or(0.0).round() as u64))
        .collect();
    out.push(("total", profile.total));
    out
}

fn charge(profile: &Profile, name: &str, cost: f64, depth: usize, sums: &mut HashMap<&'static str, f64>) {
    if cost == 0.0 {
        return;
    }
    let category = match owner(name) {
        Owner::Category(c) => Some(c),
        Owner::Callers if depth >= MAX_DEPTH => Some(REST),
        Owner::Callers => None,
    };
    if let Some(c) = category {
        *sums.entry(c).or_default() += cost;
        return;
    }
    let callers: Vec<(&String, u64)> = profile
        .functions
        .get(name)
        .map(|f| {
            f.callers
                .iter()
                .filter(|(caller, _)| caller.as_str() != name)
                .map(|(c, v)| (c, *v))
                .collect()
        })
        .unwrap_or_default();
    let through: u64 = callers.iter().map(|(_, v)| v).sum();
    if through == 0 {
        *sums.entry(REST).or_default() += cost;
        return;
    }
    for (caller, v) in callers {
        charge(profile, caller, cost * v as f64 / through as f64, depth + 1, sums);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small callgrind file: name compression, relative positions, a call's inclusive cost,
    /// Aho-Corasick called from @pm and from the prefilter, malloc under a transformation.
    const FIXTURE: &str = "\
# callgrind format
version: 1
creator: callgrind-3.22.0
positions: line
events: Ir
summary: 1000

ob=(1) /bin/profile-driver
fl=(1) ???
fn=(1) benches::run_transaction
0 100
cfl=(1)
cfn=(2) meshward_seclang::operator::pm::Pm::matches
calls=2 0
0 400
cfn=(3) meshward_seclang::prefilter::Prefilters::scan
calls=1 0
0 250

fn=(2)
0 100
cfn=(4) aho_corasick::automaton::try_find_fwd
calls=2 0
0 300

fn=(3)
+3 50
cfn=(4)
calls=1 0
* 200

fn=(4)
0 500

fn=(7) meshward_seclang::operator::Operator::matches
0 10
cfn=(8) aho_corasick::automaton::Automaton::try_find
calls=1 0
0 40
fn=(8)
0 40

fn=(5) meshward_seclang::transform::Transform::apply
0 30
cfn=(6) malloc
calls=1 0
0 20
fn=(6)
-1 20
";

    #[test]
    fn exclusive_costs_and_callers() {
        let p = parse(FIXTURE).expect("parses");
        assert_eq!(p.total, 100 + 100 + 50 + 500 + 10 + 40 + 30 + 20);
        let ac = &p.functions["aho_corasick::automaton::try_find_fwd"];
        assert_eq!(ac.exclusive, 500);
        assert_eq!(ac.callers["meshward_seclang::operator::pm::Pm::matches"], 300);
        assert_eq!(ac.callers["meshward_seclang::prefilter::Prefilters::scan"], 200);
        assert_eq!(
            p.functions["benches::run_transaction"].exclusive, 100,
            "calls are not own cost"
        );
    }

    #[test]
    fn helpers_are_charged_to_their_callers() {
        let p = parse(FIXTURE).expect("parses");
        let got: HashMap<_, _> = attribute(&p).into_iter().collect();
        assert_eq!(got["operator @pm (aho-corasick)"], 100 + 300 + 40, "inlined @pm too");
        assert_eq!(got["operators, other"], 10);
        assert_eq!(got["prefilter (scan + transform cache)"], 50 + 200);
        assert_eq!(got["transformations"], 30);
        assert_eq!(got["allocation"], 20);
        assert_eq!(got["rest (engine, filter, std)"], 100);
        assert_eq!(got["total"], 850);
        let sum: u64 = got.iter().filter(|(k, _)| **k != "total").map(|(_, v)| v).sum();
        assert_eq!(sum, got["total"], "every instruction lands in one category");
    }

    #[test]
    fn owners_by_prefix() {
        assert_eq!(owner("free"), Owner::Category("allocation"));
        assert_eq!(owner("freeze_thing"), Owner::Category(REST));
        assert_eq!(
            owner("<regex_automata::meta::Regex as core::fmt::Debug>::fmt"),
            Owner::Category("operator @rx (regex)")
        );
        assert_eq!(owner("core::ptr::drop_in_place<x>"), Owner::Callers);
    }

    #[test]
    fn undefined_name_ids_are_errors() {
        assert!(parse("fn=(9)\n0 1\n").is_err());
        assert!(parse("0 1\n").is_err(), "cost before fn=");
    }
}
