//! The command line: what `minichat` accepts, and its `--help`. The bench's many options
//! are in `bench.rs`; the parsers of values (seconds, sizes, names, addresses) in
//! `values.rs`.

mod bench;
mod values;

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};
use minichat_core::time::Duration;
use minichat_core::wire::{EchoMode, NameBuf};

pub(crate) use self::bench::{BenchArgs, BenchMode};
use self::values::{MAX_SECONDS, parse_addr, parse_bytes, parse_name, parse_seconds};
use crate::net::client_link::Target;

/// The address every service binds unless told otherwise, as the original programs did.
pub(crate) const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// minichat: a tiny chat protocol for microcontrollers and the computers they talk to.
#[derive(Debug, Parser)]
#[command(name = "minichat", version)]
#[command(after_help = "Logs go to stderr; set RUST_LOG (for example RUST_LOG=debug) for more.")]
// Without a command, `serve`'s options apply: `minichat --quiet` is `minichat serve --quiet`.
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) serve: ServeArgs,
}

impl Cli {
    /// The command given, or `serve` with every default when there is none.
    pub(crate) fn command_or_serve(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the chat server (the default when no command is given).
    ///
    /// Clients join with `minichat chat`; the server alone decides who sent what, from the
    /// address and session token of each frame. Datagrams that are not minichat frames are
    /// legacy plain text: shown with their address, and a plain console line answers them.
    /// On a terminal, the console reads: a plain line answers whoever wrote last, /all TEXT
    /// writes to everyone, /who lists users, /kick NAME removes one, /stats shows the
    /// counters, /quit stops.
    Serve(ServeArgs),
    /// Chat interactively, or run a script of lines from stdin.
    ///
    /// On a terminal: a >>>: prompt, messages shown as they arrive; /to NAME TEXT, /who,
    /// /echo upper|lower TEXT, /quit. With stdin not a terminal, every line is sent (/to
    /// NAME TEXT as a direct message), every message received is printed on stdout as
    /// "FROM: TEXT" ("FROM (direct): TEXT"); after the end of input the client waits for
    /// every acknowledgement, listens --linger seconds more, and exits 0 — or 1, with the
    /// reasons on stderr, if anything was not delivered or the name was refused.
    Chat(ChatArgs),
    /// Send one message and exit: 0 if the server accepted it, 1 (with the reason) if not.
    Send(SendArgs),
    /// Watch a server and three clients talk over a simulated lossy network, in-process.
    Demo(DemoArgs),
    /// Measure: protocol echo, relay and fan-out under load, side by side with a bare UDP
    /// echo loop, `minichat echo` and the Python originals, as ratios.
    ///
    /// Starts every server itself on 127.0.0.1 (the chat server without a rate limit),
    /// unless --server points the protocol modes at one already running (started with
    /// --rate 0 --per-ip 0); then no server CPU is reported for them.
    Bench(BenchArgs),
    /// Run the echo services of the original UDP and TCP socket programs.
    ///
    /// Every UDP datagram is answered by one datagram with the same bytes, ASCII letters
    /// mapped like Python's bytes.upper() or bytes.lower() and every other byte untouched;
    /// an empty datagram gets an empty reply. With --tcp, TCP connections on the same port
    /// get every chunk back the same way. Many clients are served at once. Ctrl-C stops.
    Echo(EchoArgs),
    /// Show the server's key (made now if there is none yet): its public key, 64
    /// hexadecimal digits, to compile into firmware (MINICHAT_SERVER_KEY), and its
    /// fingerprint, for clients to pin with --server-key. With --client, your own key as
    /// a client, for a server's --authorized-keys.
    Key(KeyArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("mode").required(true).args(["upper", "lower"]))]
pub(crate) struct EchoArgs {
    /// Reply with ASCII letters upper-cased (the plain UDP echo server).
    #[arg(long)]
    pub(crate) upper: bool,

    /// Reply with ASCII letters lower-cased (the threaded UDP echo server).
    #[arg(long)]
    pub(crate) lower: bool,

    /// Also accept TCP connections on the same port (the threaded TCP echo server).
    #[arg(long)]
    pub(crate) tcp: bool,

    /// Address to listen on; port 0 picks a free port (the chosen one is printed).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_BIND, value_parser = parse_addr)]
    pub(crate) bind: SocketAddr,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the chosen one is printed).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_BIND, value_parser = parse_addr)]
    pub(crate) bind: SocketAddr,

    /// How many users may be connected at once (up to 65535). Their memory, about 350
    /// bytes each, is allocated when the server starts.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) capacity: u16,

    /// Bytes of recent messages kept for resending to slow users and for newcomers'
    /// history: a number, or with K or M (1024s). A smaller buffer means shorter texts
    /// (the server tells clients its limit).
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_bytes)]
    pub(crate) buffer: usize,

    /// Seconds a client may stay silent before it pings; silent for three times this, it
    /// is dropped.
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) keepalive: u16,

    /// How many recent messages a user who joins is shown.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) history: u16,

    /// Messages a second one user may send (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub(crate) rate: u16,

    /// Sessions one source IP address may hold at once (0: no limit), so one host cannot
    /// take every slot.
    #[arg(long, value_name = "N", default_value_t = minichat_core::server::DEFAULT_PER_IP)]
    pub(crate) per_ip: u16,

    /// Encrypted handshakes a second one source IP address may make the server compute,
    /// after a burst of --per-ip (16 if that is 0); 0: no limit. A hello over it is
    /// dropped unread, so a flood from one address costs the server almost nothing.
    #[arg(long, value_name = "N", default_value_t = minichat_core::server::DEFAULT_HANDSHAKES_PER_SEC)]
    pub(crate) handshake_rate: u16,

    /// Do not show joins, leaves and messages (the console still answers commands, and a
    /// plain line still answers the last sender).
    #[arg(long)]
    pub(crate) quiet: bool,

    /// Also serve TCP clients on the same port (`minichat chat --tcp`), with the stream
    /// framing of a serial line.
    #[arg(long)]
    pub(crate) tcp: bool,

    /// Also serve the serial line at PATH (a tty such as /dev/ttyUSB0 or /dev/ttyACM0, or
    /// an emulator's pseudo-terminal): its user joins the same room. Repeatable. A line
    /// that goes away is reported and reopened with back-off.
    #[arg(long, value_name = "PATH")]
    pub(crate) serial: Vec<String>,

    /// The serial lines' speed, in baud.
    #[arg(long, value_name = "N", default_value_t = crate::net::serial::DEFAULT_BAUD, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) baud: u32,

    /// Write every datagram in and out, and every frame of a TCP or serial link, to FILE
    /// (pcapng; read it with Wireshark or tshark and contrib/wireshark/minichat.lua). The
    /// file is readable while the server runs and complete when it stops.
    #[arg(long, value_name = "FILE")]
    pub(crate) capture: Option<std::path::PathBuf>,

    /// Share one room with the other servers bridged to this MQTT broker and topic prefix:
    /// mqtt://HOST:PORT/PREFIX (port 1883 and prefix minichat when left out). Room
    /// messages and the console's /all reach every server's users; see docs/BRIDGE.md.
    #[arg(long, value_name = "URL", value_parser = crate::bridge::BridgeUrl::parse)]
    pub(crate) bridge: Option<crate::bridge::BridgeUrl>,

    /// The password of the bridge URL's user (mqtt://USER@HOST), on the first line of
    /// FILE, readable by its owner only.
    #[arg(long, value_name = "FILE", requires = "bridge")]
    pub(crate) bridge_password_file: Option<std::path::PathBuf>,

    /// The authorities (PEM) that sign the broker's certificate, for an mqtts:// bridge
    /// URL [default: the system's].
    #[arg(long, value_name = "FILE", requires = "bridge")]
    pub(crate) bridge_ca: Option<std::path::PathBuf>,

    /// Bridge in the clear, without --fleet-key: whoever can publish on the broker under
    /// the prefix can then speak for this server's users (inject messages as any name,
    /// take names, freeze the room). Refused without this flag.
    #[arg(long, requires = "bridge")]
    pub(crate) anyone_on_the_broker_may_speak_for_users: bool,

    /// The server's key file (made on first start, readable by its owner only); its
    /// fingerprint is printed at start, for clients to pin. [default:
    /// $MINICHAT_HOME/server.key, else ~/.config/minichat/server.key]
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Option<std::path::PathBuf>,

    /// Admit only devices of a fleet that holds this pre-shared key (64 hexadecimal
    /// digits in FILE, readable by its owner only): `Noise_NKpsk0`.
    #[arg(long, value_name = "FILE")]
    pub(crate) fleet_key: Option<std::path::PathBuf>,

    /// Also take sessions in the clear, from clients without encryption (such as the
    /// microcontroller's); without it they are refused. Plain-text datagrams of the
    /// original programs are answered either way.
    #[arg(long)]
    pub(crate) plaintext: bool,

    /// Let in only the keys listed in FILE, each under the names listed for it: one
    /// `KEY NAME` per line (the key as `minichat key --client --public` prints it), `#`
    /// starts a comment. Read again on SIGHUP and the console's /reload; a key no longer
    /// listed loses its sessions at once. Without it, the first key to use a name owns
    /// it (recorded in `owners` beside the server's key).
    #[arg(long, value_name = "FILE")]
    pub(crate) authorized_keys: Option<std::path::PathBuf>,
}

/// Where a client's server is, and how to reach it (`chat` and `send` share these).
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// The server's address.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_BIND, value_parser = parse_addr)]
    pub(crate) server: SocketAddr,

    /// Reach the server over TCP (a server started with `serve --tcp`) instead of UDP.
    #[arg(long, conflicts_with = "serial")]
    pub(crate) tcp: bool,

    /// Reach the server over the serial line at PATH (a board running the server, or an
    /// emulator's pseudo-terminal) instead of the network.
    #[arg(long, value_name = "PATH")]
    pub(crate) serial: Option<String>,

    /// The serial line's speed, in baud.
    #[arg(long, value_name = "N", default_value_t = crate::net::serial::DEFAULT_BAUD, value_parser = clap::value_parser!(u32).range(1..), requires = "serial")]
    pub(crate) baud: u32,

    /// Trust only a server whose key has this fingerprint (as `minichat serve` prints it),
    /// or is this key (64 hexadecimal digits, as `minichat key --public` prints it).
    /// Without it, a server's key is trusted the first time and remembered: a changed key
    /// is then refused, loudly.
    #[arg(long, value_name = "FINGERPRINT", conflicts_with = "plaintext", value_parser = crate::keys::parse_pin)]
    pub(crate) server_key: Option<String>,

    /// Where the keys of servers met before are remembered. [default:
    /// $MINICHAT_HOME/known_servers, else ~/.config/minichat/known_servers]
    #[arg(long, value_name = "FILE", conflicts_with = "plaintext")]
    pub(crate) known_servers: Option<std::path::PathBuf>,

    /// The fleet's pre-shared key, for a server that admits a fleet's devices only.
    #[arg(long, value_name = "FILE", conflicts_with = "plaintext")]
    pub(crate) fleet_key: Option<std::path::PathBuf>,

    /// Your own key file (made on first use, readable by you only): the join proves it,
    /// and the server keeps your name for it, so nobody else can take it. Show its public
    /// key, for a server's --authorized-keys, with `minichat key --client`. [default:
    /// $MINICHAT_HOME/client.key, else ~/.config/minichat/client.key]
    #[arg(long, value_name = "FILE", conflicts_with = "plaintext")]
    pub(crate) key: Option<std::path::PathBuf>,

    /// Join in the clear, without encryption (for a server that allows it, such as the
    /// microcontroller's): anyone on the path can read the session and speak in it.
    #[arg(long)]
    pub(crate) plaintext: bool,
}

impl ServerArgs {
    /// Whether and how to encrypt the session.
    pub(crate) fn encryption(&self) -> crate::keys::Encryption {
        if self.plaintext {
            return crate::keys::Encryption::Off;
        }
        let known_servers =
            self.known_servers.clone().unwrap_or_else(crate::keys::default_known_servers);
        let known_users = crate::known_users::beside(&known_servers);
        let trust = match &self.server_key {
            Some(pin) => crate::keys::Trust::Pinned(pin.clone()),
            None => crate::keys::Trust::Known(known_servers),
        };
        let client_key = self.key.clone().unwrap_or_else(crate::keys::default_client_key);
        let fleet_key = self.fleet_key.clone();
        crate::keys::Encryption::On { trust, fleet_key, client_key, known_users }
    }

    /// Where the server is, and how to reach it.
    pub(crate) fn target(&self) -> Target {
        match (&self.serial, self.tcp) {
            (Some(path), _) => Target::Serial { path: path.clone(), baud: self.baud },
            (None, true) => Target::Tcp(self.server),
            (None, false) => Target::Udp(self.server),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    /// Your name: 1 to 16 bytes, no spaces; unique on the server by look (case variants and look-alikes are the same name).
    #[arg(long, value_parser = parse_name)]
    pub(crate) name: NameBuf,

    #[command(flatten)]
    pub(crate) server: ServerArgs,

    /// With stdin not a terminal: seconds to keep listening after everything sent is
    /// acknowledged.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_seconds)]
    pub(crate) linger: Duration,

    /// Seconds a message may wait for the server before it counts as not delivered (at most
    /// 2147483: 24 days).
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=MAX_SECONDS))]
    pub(crate) timeout: u32,

    /// Write every datagram (or frame, over TCP or a serial line) to and from the server
    /// to FILE (pcapng; read it with Wireshark or tshark and contrib/wireshark/minichat.lua).
    #[arg(long, value_name = "FILE")]
    pub(crate) capture: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// Your name: 1 to 16 bytes, no spaces; unique on the server by look (case variants and look-alikes are the same name).
    #[arg(long, value_parser = parse_name)]
    pub(crate) name: NameBuf,

    /// Send to this user alone instead of the room.
    #[arg(long, value_name = "NAME", value_parser = parse_name)]
    pub(crate) to: Option<NameBuf>,

    #[command(flatten)]
    pub(crate) server: ServerArgs,

    /// Seconds to wait for the server before giving up (at most 2147483: 24 days).
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=MAX_SECONDS))]
    pub(crate) timeout: u32,

    /// The message.
    pub(crate) text: String,
}

#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// The key file, as `serve --key` (or with --client, `chat --key`) takes it.
    /// [default: $MINICHAT_HOME/server.key, or client.key with --client; else in
    /// ~/.config/minichat]
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Option<std::path::PathBuf>,

    /// Show your own key as a client (`chat` and `send` prove it when they join), for a
    /// server's --authorized-keys: `echo "$(minichat key --client --public) NAME"`.
    #[arg(long)]
    pub(crate) client: bool,

    /// Print the public key alone (for scripts: MINICHAT_SERVER_KEY=$(minichat key --public)).
    #[arg(long)]
    pub(crate) public: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Percent of packets the simulated link drops.
    #[arg(long, value_name = "PCT", default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=60))]
    pub(crate) loss: u8,

    /// Seed of the link's randomness: the same seed, the same run.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u32,
}

impl EchoArgs {
    pub(crate) fn mode(&self) -> EchoMode {
        if self.upper { EchoMode::Upper } else { EchoMode::Lower }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_timeout_longer_than_a_time_span_is_refused() {
        let send = |secs: &str| {
            Cli::try_parse_from(["minichat", "send", "--name", "a", "--timeout", secs, "hi"])
        };
        assert!(send("2147483").is_ok());
        assert!(send("2147484").is_err());
        let chat = |secs: &str| {
            Cli::try_parse_from(["minichat", "chat", "--name", "a", "--timeout", secs])
        };
        assert!(chat("2147483").is_ok() && chat("2147484").is_err());
    }

    #[test]
    fn no_command_means_serve_on_8080() {
        let cli = Cli::try_parse_from(["minichat"]).unwrap();
        let Command::Serve(args) = cli.command_or_serve() else { panic!("not serve") };
        assert_eq!((args.bind, args.capacity), (DEFAULT_BIND.parse().unwrap(), 256));
    }

    #[test]
    fn scale_sizes_default_when_not_given() {
        let sizes = |args: &[&str]| match Cli::try_parse_from(args).map(Cli::command_or_serve) {
            Ok(Command::Bench(bench)) => Ok(bench.scale),
            Ok(_) => Err("not bench".to_owned()),
            Err(error) => Err(error.to_string()),
        };
        assert_eq!(sizes(&["minichat", "bench", "--scale"]), Ok(vec![16, 1000, 10000, 50000]));
        assert_eq!(sizes(&["minichat", "bench", "--scale=20,300", "--json"]), Ok(vec![20, 300]));
        assert_eq!(sizes(&["minichat", "bench"]), Ok(vec![]));
        assert!(sizes(&["minichat", "bench", "--scale=70000"]).is_err());
    }

    #[test]
    fn capacity_up_to_the_table_limit() {
        let cli = Cli::try_parse_from(["minichat", "serve", "--capacity", "65535"]).unwrap();
        let Command::Serve(args) = cli.command_or_serve() else { panic!("not serve") };
        assert_eq!((args.capacity, args.buffer), (65535, 1 << 20));
        assert!(Cli::try_parse_from(["minichat", "serve", "--capacity", "65536"]).is_err());
        assert!(Cli::try_parse_from(["minichat", "serve", "--capacity", "0"]).is_err());
    }

    #[test]
    fn names_follow_the_protocol() {
        assert!(Cli::try_parse_from(["minichat", "chat", "--name", "star"]).is_ok());
        let error =
            Cli::try_parse_from(["minichat", "chat", "--name", "a b"]).unwrap_err().to_string();
        assert!(error.contains("whitespace"), "{error}");
        assert!(
            Cli::try_parse_from(["minichat", "send", "--name", "x", "--to", "", "hi"]).is_err()
        );
    }

    #[test]
    fn echo_needs_exactly_one_mode() {
        assert!(Cli::try_parse_from(["minichat", "echo"]).is_err());
        assert!(Cli::try_parse_from(["minichat", "echo", "--upper", "--lower"]).is_err());
        let cli = Cli::try_parse_from(["minichat", "echo", "--lower", "--tcp"]).unwrap();
        let Some(Command::Echo(args)) = cli.command else { panic!("not echo") };
        assert_eq!(
            (args.mode(), args.tcp, args.bind),
            (EchoMode::Lower, true, DEFAULT_BIND.parse().unwrap())
        );
    }
}
