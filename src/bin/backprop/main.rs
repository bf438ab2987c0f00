//! `backprop`: train, evaluate and run multilayer perceptrons from the
//! command line.
//!
//! ```text
//! backprop train                      # Fashion-MNIST with the default recipe
//! backprop train --train data.csv --layers 64,32 --epochs 50 -o m.safetensors
//! backprop eval m.safetensors test.csv
//! backprop predict m.safetensors new.csv -o predictions.csv
//! backprop gradcheck --layers 5,3 --activation relu
//! backprop info m.safetensors
//! ```
//!
//! Every user mistake (a bad path, number or file, data that does not fit
//! the model) ends the program with one `error: ...` line on stderr and exit
//! code 1; a command line clap cannot parse gets clap's full message (what
//! was wrong, the usage line) and exit code 2. Ctrl-C (SIGINT), SIGTERM and
//! SIGHUP remove the temporary files of unfinished writes and end the
//! program with 128 + the signal number (130, 143, 129).

mod args;
mod cluster;
mod data;
mod evaluate;
mod gradcheck;
mod info;
mod limits;
mod outputs;
mod plot;
mod predict;
mod report;
mod solver_flags;
mod train;

use std::process::ExitCode;

use args::{Cli, Command};

/// An error for the user: one line, printed after `error: `.
#[derive(Debug)]
pub struct CliError(pub String);

impl From<backprop::Error> for CliError {
    fn from(e: backprop::Error) -> Self {
        CliError(e.to_string())
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn main() -> ExitCode {
    let cli = match args::parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // clap's full message: what was wrong (every missing argument
            // listed), the usage line and where to look for help.
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    outputs::remove_temp_files_on_signals();
    // Under `mpirun`, `train` runs on every rank (see cluster.rs). The
    // session finalizes MPI when it drops: after success only, since
    // finalize waits for every rank; an error aborts the job instead.
    let session = match &cli.command {
        Command::Train(_) => cluster::start(cli.threads),
        _ => Ok(None),
    };
    let outcome = match &session {
        Ok(_) => run(cli),
        Err(e) => Err(CliError(e.0.clone())),
    };
    match outcome {
        Ok(code) => {
            drop(session);
            code
        }
        Err(e) => {
            let rank = format!("rank {}: ", cluster::rank());
            let rank = match cluster::distributed() {
                Some(_) if !e.0.contains(&rank) => rank,
                _ => String::new(),
            };
            eprintln!("error: {rank}{}", e.0.replace('\n', " "));
            cluster::abort_job();
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    if let Some(n) = cli.threads {
        backprop::parallel::set_num_threads(n)?;
    }
    match cli.command {
        Command::Train(a) => train::run(&a).map(|()| ExitCode::SUCCESS),
        Command::Eval(a) => evaluate::run(&a).map(|()| ExitCode::SUCCESS),
        Command::Predict(a) => predict::run(&a).map(|()| ExitCode::SUCCESS),
        Command::Gradcheck(a) => gradcheck::run(&a),
        Command::Info(a) => info::run(&a).map(|()| ExitCode::SUCCESS),
    }
}
