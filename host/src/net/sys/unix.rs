//! Unix: std sockets are registered with mio by file descriptor, so the reactor wakes
//! exactly when one is ready.

use std::io;
use std::net::UdpSocket;
use std::os::fd::{AsFd, AsRawFd};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// Readiness events arrive for registered sockets: a loop may wait for them.
pub(crate) const SOCKET_EVENTS: bool = true;

/// The longest the reactor sleeps without an event: as long as asked.
pub(crate) const MAX_SLEEP: Option<std::time::Duration> = None;

/// Registers `socket` for `interest` under `token`.
pub(crate) fn register(
    registry: &Registry,
    socket: &UdpSocket,
    token: Token,
    interest: Interest,
) -> io::Result<()> {
    registry.register(&mut SourceFd(&socket.as_raw_fd()), token, interest)
}

/// Asks for `bytes` of receive and send buffer; best effort (a system that caps them
/// still works, with smaller bursts).
pub(crate) fn set_buffers(socket: &UdpSocket, bytes: usize) {
    use nix::sys::socket::{setsockopt, sockopt};
    let _ = setsockopt(&socket.as_fd(), sockopt::RcvBuf, &bytes);
    let _ = setsockopt(&socket.as_fd(), sockopt::SndBuf, &bytes);
}

/// Registers a stream (a serial line) by its file descriptor.
pub(crate) fn register_fd(
    registry: &Registry,
    fd: &impl AsRawFd,
    token: Token,
    interest: Interest,
) -> io::Result<()> {
    registry.register(&mut SourceFd(&fd.as_raw_fd()), token, interest)
}

/// Stops watching a stream registered with [`register_fd`].
pub(crate) fn deregister_fd(registry: &Registry, fd: &impl AsRawFd) -> io::Result<()> {
    registry.deregister(&mut SourceFd(&fd.as_raw_fd()))
}
