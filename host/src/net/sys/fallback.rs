//! Elsewhere (Windows): mio registers only its own socket types, so std sockets are not
//! registered; the reactor wakes every [`TICK`] and the loops look at their sockets
//! themselves. Portable and correct, at the cost of up to a tick of latency.

use std::io;
use std::net::UdpSocket;

use mio::{Interest, Registry, Token};

/// How often the reactor wakes to look at sockets it gets no events for.
pub(crate) const TICK: std::time::Duration = std::time::Duration::from_millis(5);

/// No readiness events arrive for std sockets: loops read them on every turn.
pub(crate) const SOCKET_EVENTS: bool = false;

/// The longest the reactor sleeps: one tick.
pub(crate) const MAX_SLEEP: Option<std::time::Duration> = Some(TICK);

/// Nothing to register: the reactor's tick stands in for readiness.
pub(crate) fn register(
    _registry: &Registry,
    _socket: &UdpSocket,
    _token: Token,
    _interest: Interest,
) -> io::Result<()> {
    Ok(())
}

/// The system's default buffers are kept.
pub(crate) fn set_buffers(_socket: &UdpSocket, _bytes: usize) {}

/// Nothing to register: the reactor's tick stands in for readiness.
pub(crate) fn register_fd<T>(
    _registry: &Registry,
    _stream: &T,
    _token: Token,
    _interest: Interest,
) -> io::Result<()> {
    Ok(())
}

/// Nothing was registered.
pub(crate) fn deregister_fd<T>(_registry: &Registry, _stream: &T) -> io::Result<()> {
    Ok(())
}
