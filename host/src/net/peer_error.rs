//! Which I/O errors are one peer's trouble, not the socket's: an ICMP message about an
//! earlier datagram (port closed, host or network unreachable) is reported on a later
//! `send` or `recv` of the same UDP socket. A server skips it and serves everyone else; a
//! client notes that its server cannot be reached and keeps trying. Decided here, once.

use std::io;

/// Whether `error` concerns one peer (an ICMP report), so the loop goes on.
pub(crate) fn is_peer_trouble(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
    )
}
