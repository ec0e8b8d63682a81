//! The `minichat` program: the minichat core over real sockets, a terminal and a clock.
//!
//! The binary is `src/main.rs`; this library holds the layers it is built from:
//!
//! - [`cmd`]: the subcommands (`serve`, `chat`, `send`, `echo`, `demo`, `bench`);
//! - [`net`]: sockets and event loops, the reactor they wait on, and the in-memory
//!   network ([`net::memory`]) that `minichat demo` and the tests share;
//! - `term`: console, output queue, escaping of remote text, slash commands;
//! - `keys`: the server's key file, fleet keys, known servers and pinned fingerprints;
//! - `cli` (the command line), `clock`, `shutdown` (Ctrl-C, SIGTERM), `error`.

mod bridge;
mod cli;
mod clock;
pub mod cmd;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod identity;
mod key_log;
mod keys;
mod known_users;
pub mod net;
mod shutdown;
mod term;

use std::process::ExitCode;

use clap::Parser;
use minichat_core::time::Duration;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::net::memory::LinkFaults;

/// Runs `minichat` with the process's arguments and returns its exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command_or_serve() {
        Command::Serve(args) => cmd::serve::run(cmd::serve::ServeConfig {
            listen: net::server_loop::Listen {
                bind: args.bind,
                tcp: args.tcp,
                serial: args
                    .serial
                    .iter()
                    .map(|path| net::stream_links::SerialSpec {
                        path: path.clone(),
                        baud: args.baud,
                    })
                    .collect(),
            },
            capacity: usize::from(args.capacity),
            buffer: args.buffer,
            keepalive: Duration::from_secs(u64::from(args.keepalive)),
            history: args.history,
            rate_per_sec: args.rate,
            per_ip: args.per_ip,
            handshake_rate: args.handshake_rate,
            quiet: args.quiet,
            capture: args.capture,
            bridge: args.bridge.map(|url| bridge::BridgeOptions {
                url,
                password_file: args.bridge_password_file,
                ca_file: args.bridge_ca,
                anyone_may_speak: args.anyone_on_the_broker_may_speak_for_users,
            }),
            key: args.key.unwrap_or_else(keys::default_server_key),
            fleet_key: args.fleet_key,
            plaintext: args.plaintext,
            authorized_keys: args.authorized_keys,
        })
        .map(|()| ExitCode::SUCCESS),
        Command::Chat(args) => cmd::chat::run(cmd::chat::ChatConfig {
            encryption: args.server.encryption(),
            server: args.server.target(),
            name: args.name,
            linger: args.linger,
            give_up: Duration::from_secs(u64::from(args.timeout)),
            capture: args.capture,
        }),
        Command::Send(args) => cmd::send::run(cmd::send::SendConfig {
            encryption: args.server.encryption(),
            server: args.server.target(),
            name: args.name,
            to: args.to,
            text: args.text,
            give_up: Duration::from_secs(u64::from(args.timeout)),
        }),
        Command::Demo(args) => Ok(run_demo(args.loss, args.seed)),
        Command::Bench(args) => run_bench(args),
        Command::Echo(args) => cmd::echo::run(cmd::echo::EchoConfig {
            mode: args.mode(),
            bind: args.bind,
            tcp: args.tcp,
        })
        .map(|()| ExitCode::SUCCESS),
        Command::Key(args) => {
            let default =
                if args.client { keys::default_client_key } else { keys::default_server_key };
            cmd::key::run(&args.key.unwrap_or_else(default), args.public)
                .map(|()| ExitCode::SUCCESS)
        }
    };
    let code = match result {
        Ok(code) => code,
        Err(error) => {
            term::output::line(term::output::Stream::Stderr, format!("minichat: {error}"));
            ExitCode::FAILURE
        }
    };
    // A terminal that takes nothing may delay the exit by this much, never more.
    term::output::flush(std::time::Duration::from_millis(500));
    code
}

fn run_bench(args: cli::BenchArgs) -> Result<ExitCode, error::HostError> {
    use cmd::bench::chat_mode;
    let modes = if args.mode.is_empty() && args.flood.is_some() {
        // `--flood` alone measures the floods (and the baselines, unless told not to).
        Vec::new()
    } else if args.mode.is_empty() {
        vec![cli::BenchMode::Echo, cli::BenchMode::Relay, cli::BenchMode::Fanout]
    } else {
        args.mode.clone()
    };
    let duration = std::time::Duration::from_millis(args.duration.as_millis().max(100));
    let config = cmd::bench::BenchConfig {
        modes: modes.into_iter().map(chat_mode).collect(),
        baselines: !args.no_baselines,
        python: !args.no_python,
        broker: !args.no_broker,
        server: args.server,
        plaintext: args.plaintext,
        load: cmd::bench::LoadConfig {
            clients: usize::from(args.clients),
            window: usize::from(args.window),
            size: usize::from(args.size),
            warmup: duration / 5,
            duration,
        },
        json: args.json,
        idle: usize::from(args.idle),
        scale: args.scale.iter().map(|&n| usize::from(n)).collect(),
        flood: args.flood,
    };
    let json = config.json;
    let report = cmd::bench::run(config)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(error::HostError::Json)?);
    } else {
        cmd::bench::print_table(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn run_demo(loss: u8, seed: u32) -> ExitCode {
    let faults =
        LinkFaults { drop_pct: loss, corrupt_pct: 1, duplicate_pct: 5, reorder_pct: 5, seed };
    println!(
        "minichat demo: a server and three clients over smoltcp's in-memory IP stack; the link drops {loss}% of packets \
         and corrupts 1%, duplicates 5% and reorders 5% (seed {seed})"
    );
    match cmd::demo::run(faults) {
        Ok(transcript) => {
            for line in &transcript.lines {
                println!("{line}");
            }
            let (server, clients) = transcript.retransmits;
            println!(
                "done: every message arrived exactly once; the loss cost {server} server and {clients} client retransmission timeouts"
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("minichat demo: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, `warn` and above unless `RUST_LOG` says otherwise, through the output
/// queue so that logging never blocks the network.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(term::output::LogWriter).init();
}
