//! The `bazaar` command: parse, dispatch, and turn every failure into one
//! clear line and an exit code (2 for bad input, 1 for a failed audit).

mod args;
mod bench;
mod count;
mod demo;
mod echo;
mod init;
mod node;
mod sim;
mod status;
mod store;
mod up;

use std::{fmt, process::ExitCode};

use clap::Parser;

pub use args::{
    BenchArgs, BooksArgs, Cli, Command, CountBuysArgs, DemoArgs, EchoArgs, Experiment, InitArgs,
    NodeArgs, PlantArg, SimArgs, StatusArgs, UpArgs,
};

/// A failure the user should read: what went wrong, and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// The message, one line.
    pub message: String,
    /// The process's exit code.
    pub code: u8,
}

impl Failure {
    /// Bad input: a flag, a file, an id, a port. Exit code 2.
    pub fn input(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: 2,
        }
    }

    /// The run went wrong (an audit failed). Exit code 1.
    pub fn run(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: 1,
        }
    }
}

/// Runs the command line `bazaar …` and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with code 0, and
            // usage errors to stderr with code 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("bazaar: error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Node(args) => node::run(&args),
        Command::Up(args) => up::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Sim(args) => sim::run(&args),
        Command::Audit(args) => store::audit(&args),
        Command::Ledger(args) => store::ledger(&args),
        Command::Bench(args) => bench::run(&args),
        Command::CountBuys(args) => count::run(&args),
        Command::Echo(args) => echo::run(&args),
    }
}

/// A multi-threaded tokio runtime for the commands that need one.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::run(format!("cannot start the async runtime: {e}")))
}
