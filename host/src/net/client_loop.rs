//! A client's event loop, shared by `chat` and `send`: one connected UDP socket, the
//! core's driver and client, a clock, and a `poll` that also wakes for input and Ctrl-C.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

use minichat_core::client::{Client, ClientConfig, ClientEvent};
use minichat_core::error::TransportError;
use minichat_core::time::{Duration, Instant};
use minichat_core::transport::{Driver, RECEIVE_BUDGET};
use minichat_core::wire::NameBuf;
use mio::{Interest, Token, Waker};

use crate::clock::Clock;
use crate::error::HostError;
use crate::net::peer_error::is_peer_trouble;
use crate::net::reactor::Reactor;

/// The client the host runs: 32 messages in flight, 64 events waiting, 32 early
/// deliveries held.
pub(crate) type HostClient = Client<32, 64, 32>;

const SOCKET: Token = Token(0);

/// What `chat` and `send` say while no server answers their join.
pub(crate) fn no_answer_notice(server: SocketAddr, refused: bool, retry_in: Duration) -> String {
    let why = if refused { " (connection refused)" } else { "" };
    format!("no server answers at {server}{why}; retrying in {}", crate::clock::seconds(retry_in))
}

/// A client, its socket and its loop.
pub(crate) struct ClientLoop {
    pub(crate) client: HostClient,
    driver: Driver<UdpSocket>,
    reactor: Reactor,
    clock: Clock,
    /// The system said the server's port is closed (ICMP port unreachable).
    refused: bool,
}

impl std::fmt::Debug for ClientLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLoop").field("server", &self.server()).finish()
    }
}

impl ClientLoop {
    /// A client called `name` for `server`, whose messages fail after `give_up`.
    pub(crate) fn connect(
        name: NameBuf,
        server: SocketAddr,
        give_up: Duration,
    ) -> Result<ClientLoop, HostError> {
        let local: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
            .parse()
            .map_err(|_| HostError::Poll(std::io::ErrorKind::InvalidInput.into()))?;
        let socket = UdpSocket::bind(local).map_err(|source| HostError::Bind {
            addr: local,
            protocol: "udp",
            source,
        })?;
        // Connected, so the system reports a closed port as "connection refused".
        socket.connect(server).map_err(|source| HostError::Connect { addr: server, source })?;
        socket.set_nonblocking(true).map_err(HostError::Poll)?;
        let reactor = Reactor::new(16)?;
        reactor.register_udp(&socket, SOCKET, Interest::READABLE)?;
        let clock = Clock::new();
        let mut config = ClientConfig::new(name, server);
        config.give_up = give_up;
        config.entropy = getrandom::u64().map_err(HostError::Random)?;
        Ok(ClientLoop {
            client: HostClient::new(config, clock.now()),
            driver: Driver::new(socket),
            reactor,
            clock,
            refused: false,
        })
    }

    /// The waker that gets [`ClientLoop::wait`] out of `poll` (for input, Ctrl-C).
    pub(crate) fn waker(&self) -> Arc<Waker> {
        self.reactor.waker()
    }

    pub(crate) fn server(&self) -> SocketAddr {
        self.client.config().server
    }

    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Whether the last attempt found the server's port closed.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }

    /// Fires timers, takes every datagram waiting and sends what the client has to send.
    pub(crate) fn pump(&mut self) -> Result<(), HostError> {
        for _round in 0..64 {
            let now = self.clock.now();
            match self.driver.pump(&mut self.client, now, |_, _, _| {}) {
                Ok(pumped) => {
                    if pumped.received > 0 {
                        self.refused = false;
                    }
                    if pumped.received < RECEIVE_BUDGET {
                        return Ok(());
                    }
                }
                Err(TransportError::Receive(error) | TransportError::Send(error))
                    if is_peer_trouble(&error) =>
                {
                    // The server cannot be reached now (reported once per ICMP
                    // message): note it and keep trying.
                    self.refused = error.kind() == std::io::ErrorKind::ConnectionRefused;
                }
                Err(TransportError::Receive(error) | TransportError::Send(error)) => {
                    return Err(HostError::Network { addr: self.server(), source: error });
                }
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }

    /// The next event from the client.
    pub(crate) fn next_event(&mut self) -> Option<ClientEvent> {
        self.client.poll_event()
    }

    /// Waits for a datagram, a wake-up, the client's next timer or `max`, whichever comes
    /// first.
    pub(crate) fn wait(&mut self, max: std::time::Duration) -> Result<(), HostError> {
        let timer = self.client.poll_timeout().map(|at| self.clock.until(at));
        let timeout = timer.map_or(max, |t| t.min(max));
        self.reactor.wait(Some(timeout))
    }
}
