//! Command-line options and the timing settings they select.

use std::path::PathBuf;

use crate::configs::{self, Config};
use crate::measure::Timing;
use crate::weights::Weights;

pub const USAGE: &str = "\
usage: bench_report [--smoke] [--out DIR] [--configs S,M,..] [--threads 1,2]
                    [--rounds R] [--min-time SECS] [--skip-big]
                    [--weights fresh,converged] [--no-scaling] [--no-rss]
                    [--memory [--backprop-bin PATH]]
       bench_report --config NAME [--threads N] [--min-time SECS] [--json]
       bench_report --list-configs";

/// What to run and how long to measure.
#[derive(Debug, Clone)]
pub struct Options {
    pub smoke: bool,
    pub out: PathBuf,
    pub configs: Option<Vec<String>>,
    pub threads: Vec<usize>,
    pub weights: Vec<Weights>,
    pub rounds: usize,
    pub min_time: Option<f64>,
    pub skip_big: bool,
    pub scaling: bool,
    pub rss: bool,
    pub memory: bool,
    pub backprop_bin: Option<PathBuf>,
    pub single: Option<String>,
    pub json: bool,
    pub list_configs: bool,
    pub rss_child: Option<String>,
    pub steps: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            smoke: false,
            out: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-report"),
            configs: None,
            threads: configs::THREADS.to_vec(),
            weights: Weights::ALL.to_vec(),
            rounds: 3,
            min_time: None,
            skip_big: false,
            scaling: true,
            rss: true,
            memory: false,
            backprop_bin: None,
            single: None,
            json: false,
            list_configs: false,
            rss_child: None,
            steps: 3,
        }
    }
}

impl Options {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut o = Options::default();
        let mut rounds_given = false;
        let mut args = args.peekable();
        while let Some(a) = args.next() {
            let mut value = |flag: &str| {
                args.next()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match a.as_str() {
                "--smoke" => o.smoke = true,
                "--out" => o.out = PathBuf::from(value("--out")?),
                "--configs" => {
                    o.configs = Some(value("--configs")?.split(',').map(str::to_owned).collect())
                }
                "--config" => o.single = Some(value("--config")?),
                "--threads" => o.threads = parse_list(&value("--threads")?, "--threads")?,
                "--weights" => o.weights = parse_weights(&value("--weights")?)?,
                "--rounds" => {
                    o.rounds = parse_positive(&value("--rounds")?, "--rounds")?;
                    rounds_given = true;
                }
                "--min-time" => o.min_time = Some(parse_seconds(&value("--min-time")?)?),
                "--skip-big" => o.skip_big = true,
                "--no-scaling" => o.scaling = false,
                "--no-rss" => o.rss = false,
                "--memory" => o.memory = true,
                "--backprop-bin" => o.backprop_bin = Some(PathBuf::from(value("--backprop-bin")?)),
                "--json" => o.json = true,
                "--list-configs" => o.list_configs = true,
                "--rss-child" => o.rss_child = Some(value("--rss-child")?),
                "--steps" => o.steps = parse_positive(&value("--steps")?, "--steps")?,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                // `cargo bench` passes `--bench` to every target it runs.
                "--bench" => {}
                other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
            }
        }
        if o.smoke && !rounds_given {
            o.rounds = 1;
        }
        Ok(o)
    }

    /// Timing settings for the mode.
    pub fn timing(&self) -> Timing {
        let (warmup_s, min_time, min_reps) = if self.smoke {
            (0.005, 0.02, 3)
        } else {
            (0.3, 0.5, 5)
        };
        Timing {
            warmup_s,
            min_time: self.min_time.unwrap_or(min_time),
            min_reps,
            max_reps: 100_000,
        }
    }

    /// The configurations to measure, in table order unless named.
    pub fn selected(&self) -> Result<Vec<Config>, String> {
        let mut out = match &self.configs {
            Some(names) => names.iter().map(|n| lookup(n)).collect::<Result<_, _>>()?,
            None => configs::CONFIGS.to_vec(),
        };
        if self.smoke || self.skip_big {
            out.retain(|c| !c.big);
        }
        Ok(out)
    }
}

/// The configuration called `name`, or an error listing the known ones.
pub fn lookup(name: &str) -> Result<Config, String> {
    configs::config_by_name(name.trim()).ok_or_else(|| {
        let known: Vec<&str> = configs::CONFIGS.iter().map(|c| c.name).collect();
        format!(
            "unknown configuration `{name}`; known: {}",
            known.join(", ")
        )
    })
}

fn parse_positive(v: &str, flag: &str) -> Result<usize, String> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{flag} {v}: expected a positive integer"))
}

fn parse_list(v: &str, flag: &str) -> Result<Vec<usize>, String> {
    v.split(',').map(|s| parse_positive(s, flag)).collect()
}

fn parse_weights(v: &str) -> Result<Vec<Weights>, String> {
    v.split(',')
        .map(|s| {
            Weights::ALL
                .into_iter()
                .find(|w| w.name().eq_ignore_ascii_case(s.trim()))
                .ok_or_else(|| format!("--weights {v}: expected fresh, converged or both"))
        })
        .collect()
}

fn parse_seconds(v: &str) -> Result<f64, String> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| format!("--min-time {v}: expected seconds, a number >= 0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn options_parse_and_reject() {
        let o = parse(&["--smoke", "--threads", "1,2", "--out", "x"]).unwrap();
        assert!(o.smoke);
        assert_eq!(o.rounds, 1, "smoke defaults to one round");
        assert_eq!(o.threads, vec![1, 2]);
        assert!(o.selected().unwrap().iter().all(|c| !c.big));
        assert_eq!(parse(&["--smoke", "--rounds", "4"]).unwrap().rounds, 4);
        assert!(parse(&["--threads", "0"]).unwrap_err().contains("positive"));
        assert!(parse(&["--min-time", "-1"]).is_err());
        assert!(parse(&["--wat"]).unwrap_err().contains("unknown argument"));
        assert_eq!(o.weights, Weights::ALL, "both weights by default");
        assert!(!o.memory, "the main job's memory only when asked");
        assert!(parse(&["--memory"]).unwrap().memory);
        let o = parse(&["--weights", "Converged"]).unwrap();
        assert_eq!(o.weights, [Weights::Converged]);
        assert!(
            parse(&["--weights", "old"])
                .unwrap_err()
                .contains("fresh, converged")
        );
        let o = parse(&["--configs", "S,xl"]).unwrap();
        let names: Vec<&str> = o.selected().unwrap().iter().map(|c| c.name).collect();
        assert_eq!(names, ["S", "XL"]);
        assert!(
            parse(&["--configs", "Q"])
                .unwrap()
                .selected()
                .unwrap_err()
                .contains("known: S, M, T, L, XL")
        );
    }
}
