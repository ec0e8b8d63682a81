//! `minichat`: the minichat protocol on a computer, over real sockets, a terminal and a
//! clock. See `minichat --help`.

mod cli;
mod echo;
mod error;
mod listen;
mod shutdown;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Some(Command::Echo(args)) => {
            echo::run(echo::EchoConfig { mode: args.mode(), bind: args.bind, tcp: args.tcp })
        }
        None => {
            // Until the chat server exists, no subcommand shows what there is.
            return match Cli::command().print_help() {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("minichat: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, `warn` and above unless `RUST_LOG` says otherwise.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
