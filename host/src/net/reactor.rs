//! The one wait every event loop shares: mio's `poll` over the loop's sockets and a waker
//! (for input, the console, Ctrl-C), with interruptions by signals taken as a wake-up.
//! Platform differences (see `sys/`) stay inside.

use std::io;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use mio::event::Event;
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use crate::error::HostError;
use crate::net::sys;

/// Whether readiness events arrive for registered UDP sockets. Where they do not, a loop
/// reads its sockets on every turn (the reactor then never sleeps longer than a tick).
pub(crate) const SOCKET_EVENTS: bool = sys::SOCKET_EVENTS;

/// A poll, its events and its waker.
#[derive(Debug)]
pub(crate) struct Reactor {
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
}

impl Reactor {
    /// The waker's token: never a socket's.
    pub(crate) const WAKER: Token = Token(usize::MAX);

    /// A reactor that reports up to `capacity` events per wait.
    pub(crate) fn new(capacity: usize) -> Result<Self, HostError> {
        let poll = Poll::new().map_err(HostError::Poll)?;
        let waker = Arc::new(Waker::new(poll.registry(), Self::WAKER).map_err(HostError::Poll)?);
        Ok(Reactor { poll, events: Events::with_capacity(capacity), waker })
    }

    /// Registers a std UDP socket under `token`.
    pub(crate) fn register_udp(
        &self,
        socket: &UdpSocket,
        token: Token,
        interest: Interest,
    ) -> Result<(), HostError> {
        sys::register(self.poll.registry(), socket, token, interest).map_err(HostError::Poll)
    }

    /// Registers a serial line under `token`.
    pub(crate) fn register_serial(
        &self,
        port: &crate::net::serial::NativePort,
        token: Token,
    ) -> Result<(), HostError> {
        sys::register_fd(self.poll.registry(), port, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(HostError::Poll)
    }

    /// Stops watching a serial line (before it is closed).
    pub(crate) fn deregister_serial(&self, port: &crate::net::serial::NativePort) {
        let _ = sys::deregister_fd(self.poll.registry(), port);
    }

    /// The registry, for mio's own sources (TCP listeners and streams).
    pub(crate) fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// The waker that gets [`Reactor::wait`] out of its sleep.
    pub(crate) fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Sleeps until a registered source is ready, the waker fires or `timeout` passes
    /// (`None`: no limit). A signal that interrupts the sleep counts as a wake-up.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<(), HostError> {
        let timeout = match (timeout, sys::MAX_SLEEP) {
            (Some(t), Some(max)) => Some(t.min(max)),
            (t, max) => t.or(max),
        };
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                self.events.clear();
                Ok(())
            }
            Err(error) => Err(HostError::Poll(error)),
        }
    }

    /// What the last [`Reactor::wait`] reported.
    pub(crate) fn events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter()
    }
}
