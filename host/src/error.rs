//! The host's errors: every way a command can fail, each a sentence for the user.

use std::io;
use std::net::SocketAddr;

/// Why a `minichat` command stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum HostError {
    /// A socket could not be bound.
    #[error("cannot listen on {addr} ({protocol}): {}", explain(.source))]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// "udp" or "tcp".
        protocol: &'static str,
        /// What the system said.
        source: io::Error,
    },
    /// A socket could not be connected to the server's address.
    #[error("cannot reach {addr}: {source}")]
    Connect {
        /// The server's address.
        addr: SocketAddr,
        /// What the system said.
        source: io::Error,
    },
    /// Sending or receiving failed for a reason other than a closed port.
    #[error("the network failed talking to {peer}: {source}")]
    Network {
        /// The peer (or the address the server listens on).
        peer: crate::net::peer::Peer,
        /// What the system said.
        source: io::Error,
    },
    /// A serial line could not be opened.
    #[error("cannot open the serial line {path}: {source}")]
    Serial {
        /// The device.
        path: String,
        /// What the system said.
        source: serialport::Error,
    },
    /// The client's settings were refused (a name it cannot join as, a span out of range).
    #[error("the client cannot start: {0}")]
    ClientConfig(#[from] minichat_core::ConfigError),
    /// The server's settings were refused (a value out of range).
    #[error("the server cannot start: {0}")]
    ServerConfig(minichat_core::ConfigError),
    /// The operating system's random number generator failed.
    #[error("cannot get random bytes for the keys and secrets: {0}")]
    Random(getrandom::Error),
    /// A message for the broker could not be sealed (only one of 256 GiB cannot).
    #[error("a bridge message of {len} bytes could not be sealed")]
    BridgeSeal {
        /// Its length.
        len: usize,
    },
    /// A bridge in the clear, which the operator did not allow.
    #[error(
        "--bridge {url} without --fleet-key would let anyone who can publish on the broker speak for this server's users (inject messages as any name, take names, freeze the room): give the fleet's key with --fleet-key FILE, or say --anyone-on-the-broker-may-speak-for-users if everyone on the broker is trusted"
    )]
    BridgeInTheClear {
        /// The broker.
        url: String,
    },
    /// The broker's password file or certificate authorities could not be used.
    #[error("cannot use {} for the bridge: {why}", path.display())]
    BridgeAccess {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A key file or the known-servers file could not be read or written.
    #[error("cannot use the key file {}: {source}", path.display())]
    KeyFile {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A list of keys (authorized keys, owners, bans) could not be read or written.
    #[error("cannot use the key list {}: {source}", path.display())]
    KeyList {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A line of a list of keys that is not `KEY NAME`.
    #[error("{}, line {line}: {why}", path.display())]
    KeyListLine {
        /// The file.
        path: std::path::PathBuf,
        /// The line's number, from 1.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// A key file others can read (checked where files have Unix permissions).
    #[cfg_attr(not(unix), allow(dead_code))]
    #[error("the key file {} can be read by others (mode {mode:o}): run chmod 600 {}", path.display(), path.display())]
    KeyFileOpen {
        /// The file.
        path: std::path::PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file that does not hold a key.
    #[error("{} does not hold a key (64 hexadecimal digits)", path.display())]
    KeyFileInvalid {
        /// The file.
        path: std::path::PathBuf,
    },
    /// The server admits a fleet's devices only, and no fleet key was given.
    #[error(
        "the server at {server} admits the devices of a fleet only: give the fleet's key with --fleet-key FILE"
    )]
    FleetKeyNeeded {
        /// The server's address or line.
        server: String,
    },
    /// The server presented a key other than the pinned one.
    #[error(
        "the server at {server} presented the key {presented}, not the key --server-key pins ({pinned}): it is not the server you expect, or someone is in between; not joining"
    )]
    ServerKeyNotPinned {
        /// The server's address or line.
        server: String,
        /// The presented key's fingerprint.
        presented: String,
        /// The pinned fingerprint.
        pinned: String,
    },
    /// The server presented a key other than the one remembered for it.
    #[error("WARNING: the key of the server at {server} changed: it was {known} ({}, line {line}), it is now {presented}. Someone may be impersonating the server, or its key was replaced; if you trust the new key, remove that line. Not joining", file.display())]
    ServerKeyChanged {
        /// The server's address or line.
        server: String,
        /// The remembered key's fingerprint.
        known: String,
        /// The presented key's fingerprint.
        presented: String,
        /// The known-servers file.
        file: std::path::PathBuf,
        /// The line that holds the remembered key.
        line: usize,
    },
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(#[source] io::Error),
    /// The capture file (`--capture`) could not be created or written.
    #[error("cannot write the capture {}: {source}", .path.display())]
    Capture {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A thread of this program stopped by panicking (a bug).
    #[error("the {thread} thread stopped unexpectedly; this is a bug in minichat")]
    Panicked {
        /// Which thread.
        thread: &'static str,
    },
    /// Another program could not be run.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: &'static str,
        /// What the system said.
        source: io::Error,
    },
    /// A server `minichat bench` measures did not come up.
    #[error("the {name} did not start: {why}")]
    NotStarted {
        /// Which server.
        name: &'static str,
        /// What went wrong.
        why: String,
    },
    /// The bench's load could not run.
    #[error("the bench's load failed: {0}")]
    Load(#[source] io::Error),
    /// The report could not be written as JSON.
    #[error("cannot write the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The server's settings are inconsistent.
    #[error("{0}")]
    Server(#[from] minichat_core::error::ServerError),
    /// The event loop itself failed.
    #[error("the event loop failed: {0}")]
    Poll(#[source] io::Error),
    /// The Ctrl-C handler could not be installed.
    #[error("cannot install the Ctrl-C handler: {0}")]
    Signal(#[from] ctrlc::Error),
    /// The thread that waits for SIGTERM and SIGHUP could not start.
    #[cfg_attr(not(unix), allow(dead_code))]
    #[error("cannot watch for SIGTERM and SIGHUP: {0}")]
    SignalWatch(#[source] io::Error),
}

/// The system's error in words a user can act on.
fn explain(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::AddrInUse => "the port is already in use by another program".into(),
        io::ErrorKind::AddrNotAvailable => "that address does not belong to this machine".into(),
        io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".into()
        }
        _ => error.to_string(),
    }
}
