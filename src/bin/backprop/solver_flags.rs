//! The optimizer flags of `backprop train`, made from the library's list of
//! optimizers ([`Solver::all`]): one flag per setting of any optimizer,
//! named after the config field (`--beta1`, `--weight-decay`), mapped onto
//! the chosen optimizer's config through its serde form. Nothing here names
//! an optimizer or a field, so an optimizer added to the library gets its
//! flags without a change here.

use backprop::Solver;
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use serde_json::{Map, Value};

use crate::CliError;

/// The optimizer settings given on the command line, as (field, text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolverFlags {
    pub given: Vec<(String, String)>,
}

/// One setting as offered on the command line: the field, and each
/// optimizer that has it with its default value.
struct Setting {
    field: String,
    owners: Vec<(&'static str, Value)>,
}

/// A solver's settings as a JSON map, without the tag.
fn fields(s: &Solver) -> Map<String, Value> {
    let mut map = match serde_json::to_value(s) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("a solver serializes to a tagged map"),
    };
    map.remove("optimizer");
    map
}

/// Every setting of every optimizer, in the order of the list.
fn settings() -> Vec<Setting> {
    let mut out: Vec<Setting> = Vec::new();
    for s in Solver::all() {
        for (field, default) in fields(&s) {
            match out.iter_mut().find(|x| x.field == field) {
                Some(x) => x.owners.push((s.name(), default)),
                None => out.push(Setting {
                    field,
                    owners: vec![(s.name(), default)],
                }),
            }
        }
    }
    out
}

fn flag(field: &str) -> String {
    field.replace('_', "-")
}

/// `--optimizer`'s values: the library's names, each with its summary.
pub fn optimizer_names() -> PossibleValuesParser {
    PossibleValuesParser::new(
        Solver::all()
            .into_iter()
            .map(|s| PossibleValue::new(s.name()).help(s.summary())),
    )
}

impl Args for SolverFlags {
    fn augment_args(cmd: Command) -> Command {
        settings().into_iter().fold(cmd, |cmd, s| {
            let owners: Vec<&str> = s.owners.iter().map(|(n, _)| *n).collect();
            let defaults: Vec<String> = s.owners.iter().map(|(_, v)| v.to_string()).collect();
            let default = if defaults.iter().all(|d| *d == defaults[0]) {
                defaults[0].clone()
            } else {
                let each = owners.iter().zip(&defaults);
                each.map(|(n, d)| format!("{d} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let help = format!("{} of {} [default: {default}]", s.field, owners.join(", "));
            let arg = Arg::new(s.field.clone()).long(flag(&s.field)).help(help);
            cmd.arg(match s.owners[0].1 {
                Value::Bool(_) => arg.action(ArgAction::SetTrue),
                _ => arg.value_name("VALUE").allow_negative_numbers(true),
            })
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for SolverFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Vec::new();
        for s in settings() {
            if m.value_source(&s.field) != Some(ValueSource::CommandLine) {
                continue;
            }
            let text = match s.owners[0].1 {
                Value::Bool(_) => "true".to_string(),
                _ => m.get_one::<String>(&s.field).cloned().unwrap_or_default(),
            };
            given.push((s.field, text));
        }
        Ok(SolverFlags { given })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// The optimizer named `name` (else `base`), with the given settings on
/// top of its defaults (else of `base`'s settings).
///
/// # Errors
/// A flag the optimizer does not have, naming it and the optimizer's own
/// settings; a value that is not a number of the setting's kind.
pub fn solver(name: Option<&str>, flags: &SolverFlags, base: Solver) -> Result<Solver, CliError> {
    let solver = match name {
        Some(n) => Solver::all()
            .into_iter()
            .find(|s| s.name() == n)
            .ok_or_else(|| CliError(format!("unknown --optimizer {n}")))?,
        None => base,
    };
    let mut map = fields(&solver);
    for (field, text) in &flags.given {
        let Some(slot) = map.get_mut(field) else {
            let own: Vec<String> = map.keys().map(|k| format!("--{}", flag(k))).collect();
            return Err(CliError(format!(
                "--{} does not apply to --optimizer {}; its settings are: {}",
                flag(field),
                solver.name(),
                if own.is_empty() {
                    "none".into()
                } else {
                    own.join(", ")
                }
            )));
        };
        *slot = parse_like(slot, text).ok_or_else(|| {
            CliError(format!(
                "invalid --{} {text}: expected {}",
                flag(field),
                kind(slot)
            ))
        })?;
    }
    map.insert("optimizer".into(), Value::from(solver.name()));
    serde_json::from_value(Value::Object(map)).map_err(|e| CliError(e.to_string()))
}

/// `text` read as a value of the same kind as `like`.
fn parse_like(like: &Value, text: &str) -> Option<Value> {
    match like {
        Value::Bool(_) => text.parse::<bool>().ok().map(Value::Bool),
        Value::Number(n) if n.is_u64() => text.parse::<u64>().ok().map(Value::from),
        _ => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
    }
}

fn kind(like: &Value) -> &'static str {
    match like {
        Value::Bool(_) => "true or false",
        Value::Number(n) if n.is_u64() => "a non-negative integer",
        _ => "a finite number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backprop::{AdamConfig, SgdConfig};

    fn given(pairs: &[(&str, &str)]) -> SolverFlags {
        SolverFlags {
            given: pairs
                .iter()
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .collect(),
        }
    }

    #[test]
    fn flags_map_onto_the_chosen_config() {
        let s = solver(
            Some("sgd"),
            &given(&[("momentum", "0.8"), ("nesterov", "true")]),
            Solver::default(),
        )
        .unwrap();
        assert_eq!(
            s,
            Solver::Sgd(SgdConfig {
                momentum: 0.8,
                nesterov: true
            })
        );
        let s = solver(None, &given(&[("beta1", "0.5")]), Solver::default()).unwrap();
        assert_eq!(
            s,
            Solver::Adam(AdamConfig {
                beta1: 0.5,
                ..AdamConfig::default()
            })
        );
    }

    #[test]
    fn a_flag_of_another_optimizer_is_named() {
        let e = solver(
            Some("adam"),
            &given(&[("momentum", "0.9")]),
            Solver::default(),
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("--momentum does not apply to --optimizer adam"),
            "{}",
            e.0
        );
        assert!(e.0.contains("--beta1"), "{}", e.0);
        let e = solver(Some("sgd"), &given(&[("beta1", "0.9")]), Solver::default()).unwrap_err();
        assert!(
            e.0.starts_with("--beta1 does not apply to --optimizer sgd"),
            "{}",
            e.0
        );
    }

    #[test]
    fn values_of_the_wrong_kind_are_rejected() {
        let e = solver(
            Some("lbfgs"),
            &given(&[("memory", "2.5")]),
            Solver::default(),
        )
        .unwrap_err();
        assert!(e.0.contains("--memory"), "{}", e.0);
        assert!(
            solver(
                Some("adam"),
                &given(&[("epsilon", "nan")]),
                Solver::default()
            )
            .is_err()
        );
    }

    #[test]
    fn every_setting_gets_one_flag() {
        let all = settings();
        assert!(all.iter().any(|s| s.field == "weight_decay"));
        let epsilon = all.iter().find(|s| s.field == "epsilon").unwrap();
        let owners: Vec<&str> = epsilon.owners.iter().map(|(n, _)| *n).collect();
        assert_eq!(owners, ["adam", "adamw", "rmsprop"]);
    }
}
