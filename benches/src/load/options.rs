//! The command line of the load comparison.

use std::path::PathBuf;
use std::time::Duration;

use super::LoadError;

/// Usage text of `cargo xtask load` (and of the `load` binary it runs).
pub const USAGE: &str = "\
usage: cargo xtask load [--quick] [--reps N] [--duration S] [--warmup S] [--connections N] [--out DIR]

  --quick          one repetition of 2 s per cell (a first look, not a result)
  --reps N         repetitions of every (workload, configuration) cell, interleaved (default 3)
  --duration S     measured seconds per cell (default 10)
  --warmup S       seconds of load per cell before measuring (default 2; 0.5 with --quick)
  --connections N  client connections, each with one request in flight (default 16)
  --out DIR        where RESULTS.md and load-chart.svg go (default benches/)
";

/// What one run measures and where it writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Repetitions of every cell.
    pub reps: u32,
    /// Measured time per cell.
    pub duration: Duration,
    /// Load before measuring, per cell.
    pub warmup: Duration,
    /// Client connections (closed loop: one request in flight on each).
    pub connections: usize,
    /// Output directory.
    pub out: PathBuf,
}

impl Options {
    /// The full run's defaults, writing into `out`.
    pub fn full(out: PathBuf) -> Self {
        Options {
            reps: 3,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            connections: 16,
            out,
        }
    }

    /// Parses the arguments after the command name; `default_out` when `--out` is not given.
    pub fn parse(args: &[String], default_out: PathBuf) -> Result<Self, LoadError> {
        let mut options = Options::full(default_out);
        let mut warmup_set = false;
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| LoadError::Usage(format!("{name} needs a value\n{USAGE}")))
            };
            match arg.as_str() {
                "--quick" => {
                    options.reps = 1;
                    options.duration = Duration::from_secs(2);
                    if !warmup_set {
                        options.warmup = Duration::from_millis(500);
                    }
                }
                "--reps" => options.reps = number(&value("--reps")?, "--reps")?,
                "--duration" => options.duration = seconds(&value("--duration")?, "--duration")?,
                "--warmup" => {
                    options.warmup = seconds(&value("--warmup")?, "--warmup")?;
                    warmup_set = true;
                }
                "--connections" => options.connections = number(&value("--connections")?, "--connections")?,
                "--out" => options.out = PathBuf::from(value("--out")?),
                other => return Err(LoadError::Usage(format!("unknown argument `{other}`\n{USAGE}"))),
            }
        }
        if options.reps == 0 || options.connections == 0 || options.duration.is_zero() {
            return Err(LoadError::Usage(format!(
                "--reps, --connections and --duration must be positive\n{USAGE}"
            )));
        }
        Ok(options)
    }

    /// Roughly how long the measuring takes (without starting the proxies).
    pub fn estimate(&self, cells_per_rep: usize) -> Duration {
        (self.duration + self.warmup) * (self.reps * cells_per_rep as u32)
    }
}

fn number<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, LoadError> {
    text.parse()
        .map_err(|_| LoadError::Usage(format!("{name}: `{text}` is not a number")))
}

fn seconds(text: &str, name: &str) -> Result<Duration, LoadError> {
    let s: f64 = number(text, name)?;
    Duration::try_from_secs_f64(s).map_err(|_| LoadError::Usage(format!("{name}: `{text}` is not a duration")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, LoadError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Options::parse(&args, PathBuf::from("out"))
    }

    #[test]
    fn defaults_are_the_full_run() {
        assert_eq!(parse(&[]).unwrap(), Options::full(PathBuf::from("out")));
    }

    #[test]
    fn quick_is_one_short_rep_and_later_flags_override() {
        let o = parse(&["--quick", "--reps", "2"]).unwrap();
        assert_eq!(
            (o.reps, o.duration, o.warmup),
            (2, Duration::from_secs(2), Duration::from_millis(500))
        );
        let o = parse(&["--warmup", "1", "--quick", "--duration", "0.5", "--out", "x"]).unwrap();
        assert_eq!(o.warmup, Duration::from_secs(1));
        assert_eq!(o.duration, Duration::from_millis(500));
        assert_eq!(o.out, PathBuf::from("x"));
    }

    #[test]
    fn rejects_unknown_missing_and_zero() {
        assert!(matches!(parse(&["--fast"]), Err(LoadError::Usage(_))));
        assert!(matches!(parse(&["--reps"]), Err(LoadError::Usage(_))));
        assert!(matches!(parse(&["--reps", "0"]), Err(LoadError::Usage(_))));
        assert!(matches!(parse(&["--duration", "x"]), Err(LoadError::Usage(_))));
    }

    #[test]
    fn estimate_counts_every_cell() {
        let o = parse(&["--reps", "3", "--duration", "10", "--warmup", "2"]).unwrap();
        assert_eq!(o.estimate(42), Duration::from_secs(3 * 42 * 12));
    }
}
