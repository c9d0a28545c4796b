//! The detection figures: per split, per attack family the cases and how many were detected
//! (true-positive rate), the benign cases and how many passed (true-negative rate), and the
//! totals, optionally beside a baseline's; as a table or JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::corpus::Kind;
use super::measure::{Count, Tally};

/// Name of the row totalling every split.
pub const ALL_SPLITS: &str = "all";

/// One row: cases and hits (attacks detected, or benign requests passed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Attack family, `attacks` (their total) or `benign`.
    pub name: String,
    /// Requests run.
    pub cases: usize,
    /// Attacks stopped, or benign requests passed.
    pub hits: usize,
    /// `hits / cases`, in percent.
    pub rate: f64,
    /// The baseline's hits, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_hits: Option<usize>,
    /// The baseline's rate, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_rate: Option<f64>,
}

/// The rows of one split (`tune`, `heldout`, or [`ALL_SPLITS`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Split {
    /// Its name.
    pub split: String,
    /// One row per attack family, by name.
    pub families: Vec<Row>,
    /// Every attack of the split.
    pub attacks: Row,
    /// Every benign request of the split.
    pub benign: Row,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// What was measured (`profile mesh, paranoia 1, packs ldap,...`).
    pub subject: String,
    /// What it is compared with, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Each split, then [`ALL_SPLITS`].
    pub splits: Vec<Split>,
}

fn percent(hits: usize, cases: usize) -> f64 {
    if cases == 0 {
        0.0
    } else {
        (hits as f64 * 1000.0 / cases as f64).round() / 10.0
    }
}

fn row(name: &str, count: Count, baseline: Option<Count>, benign: bool) -> Row {
    let hits = |c: Count| if benign { c.cases - c.stopped } else { c.stopped };
    Row {
        name: name.to_string(),
        cases: count.cases,
        hits: hits(count),
        rate: percent(hits(count), count.cases),
        baseline_hits: baseline.map(hits),
        baseline_rate: baseline.map(|b| percent(hits(b), b.cases)),
    }
}

/// Builds the report of `subject` beside `baseline` (same corpus).
pub fn build(subject: String, tally: &Tally, baseline: Option<(String, &Tally)>) -> Report {
    let mut splits: Vec<String> = tally.keys().map(|(s, _)| s.clone()).collect();
    splits.dedup();
    splits.push(ALL_SPLITS.to_string());
    let sum = |t: &Tally, split: &str, want: &dyn Fn(&Kind) -> bool| {
        let mut c = Count::default();
        for ((s, k), n) in t {
            if (split == ALL_SPLITS || s == split) && want(k) {
                c.add(*n);
            }
        }
        c
    };
    let mut families: Vec<String> = tally
        .keys()
        .filter_map(|(_, k)| match k {
            Kind::Attack(f) => Some(f.clone()),
            Kind::Benign => None,
        })
        .collect();
    families.sort();
    families.dedup();
    let base = baseline.as_ref().map(|(_, t)| *t);
    let splits = splits
        .iter()
        .map(|split| {
            let family_rows = families
                .iter()
                .filter_map(|f| {
                    let want = |k: &Kind| matches!(k, Kind::Attack(x) if x == f);
                    let count = sum(tally, split, &want);
                    (count.cases > 0).then(|| row(f, count, base.map(|b| sum(b, split, &want)), false))
                })
                .collect();
            let attack = |k: &Kind| matches!(k, Kind::Attack(_));
            let benign = |k: &Kind| *k == Kind::Benign;
            Split {
                split: split.clone(),
                families: family_rows,
                attacks: row(
                    "attacks",
                    sum(tally, split, &attack),
                    base.map(|b| sum(b, split, &attack)),
                    false,
                ),
                benign: row(
                    "benign",
                    sum(tally, split, &benign),
                    base.map(|b| sum(b, split, &benign)),
                    true,
                ),
            }
        })
        .collect();
    Report {
        subject,
        baseline: baseline.map(|(name, _)| name),
        splits,
    }
}

impl Report {
    /// The split named `name`.
    pub fn split(&self, name: &str) -> Option<&Split> {
        self.splits.iter().find(|s| s.split == name)
    }

    /// The report as a text table.
    pub fn table(&self) -> String {
        let mut out = format!("subject:  {}\n", self.subject);
        if let Some(b) = &self.baseline {
            let _ = writeln!(out, "baseline: {b}");
        }
        let with_base = self.baseline.is_some();
        for split in &self.splits {
            let _ = writeln!(out, "\n[{}]", split.split);
            let _ = write!(out, "{:<10} {:>6} {:>8} {:>7}", "family", "cases", "hits", "rate");
            if with_base {
                let _ = write!(out, " {:>9} {:>9} {:>7}", "base hits", "base rate", "delta");
            }
            out.push('\n');
            for r in split.families.iter().chain([&split.attacks, &split.benign]) {
                let _ = write!(out, "{:<10} {:>6} {:>8} {:>6.1}%", r.name, r.cases, r.hits, r.rate);
                if let (Some(h), Some(rate)) = (r.baseline_hits, r.baseline_rate) {
                    let _ = write!(out, " {:>9} {:>8.1}% {:>+6.1}", h, rate, r.rate - rate);
                }
                out.push('\n');
            }
        }
        out.push_str("\nhits: attacks stopped (true-positive rate), benign requests passed (true-negative rate)\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_count_attacks_stopped_and_benign_passed() {
        let mut t = Tally::new();
        t.insert(("a".into(), Kind::Attack("x".into())), Count { cases: 10, stopped: 7 });
        t.insert(("a".into(), Kind::Benign), Count { cases: 4, stopped: 1 });
        t.insert(("b".into(), Kind::Attack("y".into())), Count { cases: 2, stopped: 0 });
        let mut base = Tally::new();
        base.insert(("a".into(), Kind::Attack("x".into())), Count { cases: 10, stopped: 2 });
        base.insert(("a".into(), Kind::Benign), Count { cases: 4, stopped: 0 });
        let r = build("s".into(), &t, Some(("b".into(), &base)));
        let a = r.split("a").unwrap();
        assert_eq!(a.families.len(), 1);
        assert_eq!(
            (a.attacks.hits, a.attacks.rate, a.attacks.baseline_hits),
            (7, 70.0, Some(2))
        );
        assert_eq!(
            (a.benign.hits, a.benign.rate, a.benign.baseline_rate),
            (3, 75.0, Some(100.0))
        );
        let all = r.split(ALL_SPLITS).unwrap();
        assert_eq!((all.attacks.cases, all.attacks.hits), (12, 7));
        assert_eq!(
            all.families.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["x", "y"]
        );
        assert!(r.table().contains("benign"));
    }
}
