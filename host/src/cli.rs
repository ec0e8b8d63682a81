//! The command line: what `minichat` accepts, and its `--help`.

use std::net::{SocketAddr, ToSocketAddrs};

use clap::{Args, Parser, Subcommand};
use minichat_core::wire::EchoMode;

/// The address every service binds unless told otherwise, as the original programs did.
pub(crate) const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// minichat: a tiny chat protocol for microcontrollers and the computers they talk to.
#[derive(Debug, Parser)]
#[command(name = "minichat", version)]
#[command(after_help = "Logs go to stderr; set RUST_LOG (for example RUST_LOG=debug) for more.")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the echo services of the original UDP and TCP socket programs.
    ///
    /// Every UDP datagram is answered by one datagram with the same bytes, ASCII letters
    /// mapped like Python's bytes.upper() or bytes.lower() and every other byte untouched;
    /// an empty datagram gets an empty reply. With --tcp, TCP connections on the same port
    /// get every chunk back the same way. Many clients are served at once. Ctrl-C stops.
    Echo(EchoArgs),
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

impl EchoArgs {
    pub(crate) fn mode(&self) -> EchoMode {
        if self.upper { EchoMode::Upper } else { EchoMode::Lower }
    }
}

/// Parses `HOST:PORT`: a literal address (`127.0.0.1:8080`, `[::1]:8080`) or a host name
/// (`localhost:8080`), taking the first address it resolves to.
pub(crate) fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let hint = "expected HOST:PORT, like 127.0.0.1:8080 or [::1]:8080";
    match text.to_socket_addrs() {
        Ok(mut addrs) => addrs.next().ok_or_else(|| format!("{text} resolves to no address")),
        Err(_) if !text.contains(':') => Err(format!("{text} has no port; {hint}")),
        Err(error) => {
            Err(format!("{text} is not an address this machine can resolve ({error}); {hint}"))
        }
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
    fn parses_addresses() {
        assert_eq!(parse_addr("127.0.0.1:8080"), Ok("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(parse_addr("[::1]:9"), Ok("[::1]:9".parse().unwrap()));
        assert!(parse_addr("localhost:8080").unwrap().ip().is_loopback());
        assert!(parse_addr("nonsense").unwrap_err().contains("has no port"));
        assert!(parse_addr("127.0.0.1:99999").is_err());
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
