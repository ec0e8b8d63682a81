//! What `minichat bench` accepts: its load modes, sizes and scenarios.

use std::net::SocketAddr;

use clap::Args;
use minichat_core::time::Duration;

use super::values::{parse_addr, parse_seconds};

/// A load mode of `minichat bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BenchMode {
    /// Protocol echo: each client keeps WINDOW echo requests in flight.
    Echo,
    /// Everyone says to the room: each message goes to the other CLIENTS - 1.
    Relay,
    /// One sender, CLIENTS receivers.
    Fanout,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Load modes to run (repeat, or separate with commas); all three by default.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) mode: Vec<BenchMode>,

    /// Clients at once (fan-out: receivers).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub(crate) clients: u16,

    /// Messages each client keeps in flight (a protocol echo in encrypted sessions keeps
    /// one: each goes sealed through the client's request API).
    #[arg(long, value_name = "W", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) window: u16,

    /// Bytes per message (at least 30: the timing stamp).
    #[arg(long, value_name = "S", default_value_t = 64, value_parser = clap::value_parser!(u16).range(30..=989))]
    pub(crate) size: u16,

    /// Seconds measured per scenario (after a warm-up of a fifth of that).
    #[arg(long, value_name = "SECS", default_value = "3", value_parser = parse_seconds)]
    pub(crate) duration: Duration,

    /// A running chat server to load instead of starting one. The load joins it in
    /// encrypted sessions, trusting the key it offers (a bench measures, it does not guard).
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    pub(crate) server: Option<SocketAddr>,

    /// Speak to --server in the clear (it must be started with --plaintext).
    #[arg(long, requires = "server")]
    pub(crate) plaintext: bool,

    /// Skip the baselines (bare loop, minichat echo, Python).
    #[arg(long)]
    pub(crate) no_baselines: bool,

    /// Skip the Python baselines even when python3 is installed.
    #[arg(long)]
    pub(crate) no_python: bool,

    /// Skip the relay across two bridged servers and through mosquitto alone, even when
    /// mosquitto is installed.
    #[arg(long)]
    pub(crate) no_broker: bool,

    /// Print the results as JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,

    /// Also run the protocol echo with N more users joined, silent but pinging, and compare:
    /// what a fuller table costs the users who talk (up to 50000; Linux, each speaks from
    /// its own loopback address).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=50000))]
    pub(crate) idle: u16,

    /// Also run the protocol echo against `minichat serve` processes with these many users
    /// connected (the load's, the rest idle): the server's CPU per reply and memory per
    /// user as the table grows. Alone, 16,1000,10000,50000 (Linux; under a minute).
    #[arg(long, value_name = "USERS", value_delimiter = ',', num_args = 0..=1, require_equals = true,
          default_missing_value = "16,1000,10000,50000",
          value_parser = clap::value_parser!(u16).range(1..=50000))]
    pub(crate) scale: Vec<u16>,

    /// Flood `minichat serve` processes from one source at RATE datagrams a second (with
    /// no --mode, only this and the baselines run):
    /// with plain-text datagrams, with hellos carrying a valid cookie, and with those
    /// against a server without a handshake budget; another user asks for the key all the
    /// while. Reports what each server took in, its CPU, and how the other user fared
    /// (Linux).
    #[arg(long, value_name = "RATE", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub(crate) flood: Option<u32>,
}
