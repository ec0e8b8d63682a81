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
    /// The event loop itself failed.
    #[error("the event loop failed: {0}")]
    Poll(#[source] io::Error),
    /// The Ctrl-C handler could not be installed.
    #[error("cannot install the Ctrl-C handler: {0}")]
    Signal(#[from] ctrlc::Error),
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
