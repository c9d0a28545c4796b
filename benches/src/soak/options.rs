//! The command line of the soak run.

use std::path::PathBuf;
use std::time::Duration;

use super::SoakError;

/// Usage text of `cargo xtask soak` (and of the `soak` binary it runs).
pub const USAGE: &str = "\
usage: cargo xtask soak --duration D [--rate R] [--interval S] [--out DIR]

  --duration D   how long to send traffic: seconds, or with a unit (90s, 10m, 1h)
  --rate R       requests per second over all connections (default 100)
  --interval S   seconds between two samples (default 5)
  --out DIR      where soak.csv and soak.svg go (default target/soak)
";

/// Requests per second when `--rate` is not given: about a tenth of a core of WAF work on the
/// mix, so the run measures the proxy over time rather than the machine at saturation.
pub const DEFAULT_RATE: f64 = 100.0;
/// Seconds between samples when `--interval` is not given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// What one soak run sends, for how long, and where it writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// How long traffic is sent.
    pub duration: Duration,
    /// Requests per second over all connections.
    pub rate: f64,
    /// Time between two samples.
    pub interval: Duration,
    /// Output directory.
    pub out: PathBuf,
}

impl Options {
    /// A run of `duration` with the default rate and interval, writing into `out`.
    pub fn new(duration: Duration, out: PathBuf) -> Self {
        Options {
            duration,
            rate: DEFAULT_RATE,
            interval: DEFAULT_INTERVAL,
            out,
        }
    }

    /// Parses the arguments after the command name; `default_out` when `--out` is not given.
    pub fn parse(args: &[String], default_out: PathBuf) -> Result<Self, SoakError> {
        let mut duration = None;
        let mut options = Options::new(Duration::ZERO, default_out);
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| SoakError::Usage(format!("{name} needs a value\n{USAGE}")))
            };
            match arg.as_str() {
                "--duration" => duration = Some(parse_duration(&value("--duration")?)?),
                "--rate" => {
                    let text = value("--rate")?;
                    options.rate = text
                        .parse()
                        .map_err(|_| SoakError::Usage(format!("--rate: `{text}` is not a number")))?;
                }
                "--interval" => options.interval = parse_duration(&value("--interval")?)?,
                "--out" => options.out = PathBuf::from(value("--out")?),
                other => return Err(SoakError::Usage(format!("unknown argument `{other}`\n{USAGE}"))),
            }
        }
        options.duration = duration.ok_or_else(|| SoakError::Usage(format!("--duration is required\n{USAGE}")))?;
        if !(options.rate.is_finite() && options.rate > 0.0) {
            return Err(SoakError::Usage(format!("--rate must be positive\n{USAGE}")));
        }
        if options.interval.is_zero() || options.duration < options.interval * 4 {
            return Err(SoakError::Usage(format!(
                "--duration must hold at least four intervals (the growth rule compares the end \
                 with the end of the first quarter)\n{USAGE}"
            )));
        }
        Ok(options)
    }
}

/// `90`, `90s`, `1.5m`, `10m`, `1h`: a number of seconds, minutes or hours.
pub fn parse_duration(text: &str) -> Result<Duration, SoakError> {
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(SoakError::Usage(format!("`{text}`: the unit must be s, m or h"))),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| SoakError::Usage(format!("`{text}` is not a duration")))?;
    Duration::try_from_secs_f64(value * scale).map_err(|_| SoakError::Usage(format!("`{text}` is not a duration")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, SoakError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Options::parse(&args, PathBuf::from("out"))
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn duration_is_required_and_the_rest_defaults() {
        let o = parse(&["--duration", "1m"]).unwrap();
        assert_eq!(o, Options::new(Duration::from_secs(60), PathBuf::from("out")));
        assert!(matches!(parse(&[]), Err(SoakError::Usage(_))));
        let o = parse(&["--duration", "1h", "--rate", "250", "--interval", "10", "--out", "x"]).unwrap();
        assert_eq!(
            (o.rate, o.interval, o.out),
            (250.0, Duration::from_secs(10), PathBuf::from("x"))
        );
    }

    #[test]
    fn rejects_what_cannot_run() {
        assert!(parse(&["--duration", "60", "--rate", "0"]).is_err());
        assert!(parse(&["--duration", "60", "--rate", "x"]).is_err());
        assert!(
            parse(&["--duration", "10", "--interval", "5"]).is_err(),
            "fewer than 4 intervals"
        );
        assert!(parse(&["--duration", "60", "--fast"]).is_err());
        assert!(parse(&["--duration"]).is_err());
    }
}
