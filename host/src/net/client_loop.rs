//! A client's event loop, shared by `chat` and `send`: the way to the server (UDP, TCP or
//! a serial line: `client_link.rs`), the core's driver and client, a clock, and a wait
//! that also wakes for input and Ctrl-C.

use std::sync::Arc;

use minichat_core::client::{Client, ClientConfig, OwnedClientEvent};
use minichat_core::error::TransportError;
use minichat_core::time::{Duration, Instant};
use minichat_core::transport::{Driver, RECEIVE_BUDGET};
use minichat_core::wire::NameBuf;
use mio::Waker;

use crate::clock::Clock;
use crate::error::HostError;
use crate::key_log::KeyLog;
use crate::keys::{Encryption, Trust};
use crate::net::capture::{Capture, Captured};
use crate::net::client_link::{ClientLink, Target};
use crate::net::peer::Peer;
use crate::net::peer_error::is_peer_trouble;
use crate::net::reactor::Reactor;
use crate::term::output::{self, Stream};

/// The client the host runs: 32 messages in flight (their texts in 32 KiB: 33 of the
/// longest), 64 events waiting (their texts in 64 KiB), 32 early deliveries held.
pub(crate) type HostClient = Client<32, 64, 32, Peer, 32_768, 65_535>;

/// A client, its link and its loop.
pub(crate) struct ClientLoop {
    pub(crate) client: HostClient,
    /// How the server's key is trusted (encrypted sessions), and whether a fleet's key
    /// was given.
    trust: Option<Trust>,
    fleet_key: bool,
    /// Where each session's keys go, when the user asked (`MINICHAT_KEYLOGFILE`).
    key_log: Option<KeyLog>,
    /// Where the keys of the users met are remembered (encrypted sessions).
    known_users: Option<std::path::PathBuf>,
    link: Captured<ClientLink>,
    driver: Driver,
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
    /// A client called `name` for the server at `target`, whose messages fail after
    /// `give_up`; everything it sends and receives goes to `capture` too, if given.
    pub(crate) fn connect(
        name: NameBuf,
        target: &Target,
        give_up: Duration,
        capture: Option<Capture>,
        encryption: Encryption,
    ) -> Result<ClientLoop, HostError> {
        let reactor = Reactor::new(16)?;
        let link = ClientLink::open(target, &reactor)?;
        let local = link.local_addr();
        let link = Captured::new(link, capture, local);
        let clock = Clock::new();
        let seed = getrandom::u64().map_err(HostError::Random)?;
        let mut config = ClientConfig::new(name.as_str(), target.peer(), seed)?;
        config.set_give_up(give_up)?;
        let mut client = HostClient::new(config, clock.now());
        let (trust, fleet_key, key_log, known_users) = match encryption {
            Encryption::Off => (None, false, None, None),
            Encryption::On { trust, fleet_key, client_key, known_users } => {
                let psk = fleet_key.as_deref().map(crate::keys::fleet_key).transpose()?;
                let (keypair, _) = crate::keys::keypair(&client_key)?;
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(HostError::Random)?;
                client.discover_server_key(psk, seed);
                client.set_client_key(keypair);
                (Some(trust), psk.is_some(), KeyLog::from_env()?, Some(known_users))
            }
        };
        Ok(ClientLoop {
            client,
            trust,
            fleet_key,
            key_log,
            known_users,
            link,
            driver: Driver::new(),
            reactor,
            clock,
            refused: false,
        })
    }

    /// What happened to a stream link since the last call (lost, back).
    pub(crate) fn take_link_notices(&mut self) -> Vec<String> {
        self.link.inner.take_notices()
    }

    /// The waker that gets [`ClientLoop::wait`] out of `poll` (for input, Ctrl-C).
    pub(crate) fn waker(&self) -> Arc<Waker> {
        self.reactor.waker()
    }

    pub(crate) fn server(&self) -> Peer {
        *self.client.config().server()
    }

    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The server offered its key (an encrypted session's first step): trusted as the
    /// user said — pinned, remembered, or on first use (then with something to tell the
    /// user) — the join goes on; otherwise the loud refusal, and the caller stops.
    pub(crate) fn trust_key(
        &mut self,
        key: [u8; 32],
        fleet: bool,
    ) -> Result<Option<String>, HostError> {
        let server = self.server_name();
        if fleet && !self.fleet_key {
            return Err(HostError::FleetKeyNeeded { server });
        }
        let Some(trust) = &self.trust else { return Ok(None) };
        let notice = trust.decide(&server, &key)?;
        let now = self.clock.now();
        self.client.trust_server_key(now, key);
        Ok(notice)
    }

    /// The server as the known-servers and known-users files name it: its address, or
    /// its serial line.
    pub(crate) fn server_name(&self) -> String {
        match self.server() {
            Peer::Udp(addr) | Peer::Tcp(addr) => addr.to_string(),
            other => other.to_string(),
        }
    }

    /// Where the keys of the users met are remembered, in an encrypted session.
    pub(crate) fn known_users(&self) -> Option<&std::path::Path> {
        self.known_users.as_deref()
    }

    /// Whether the session is encrypted.
    pub(crate) fn encrypted(&self) -> bool {
        self.trust.is_some()
    }

    /// Whether the last attempt found the server's port closed.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }

    /// Fires timers, takes every datagram waiting and sends what the client has to send.
    pub(crate) fn turn(&mut self) -> Result<(), HostError> {
        self.link.inner.maintain(&self.reactor, std::time::Instant::now());
        for _round in 0..64 {
            let now = self.clock.now();
            match self.driver.turn(now, &mut self.link, &mut self.client, |_| {}) {
                Ok(turned) => {
                    if turned.received > 0 {
                        self.refused = false;
                    }
                    if turned.received < RECEIVE_BUDGET {
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
                    return Err(HostError::Network { peer: self.server(), source: error });
                }
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }

    /// Stops capturing: the capture (`--capture`), to finish.
    pub(crate) fn take_capture(&mut self) -> Option<Capture> {
        self.link.take_capture()
    }

    /// The next event from the client. A session that begins has its keys recorded in
    /// the key log, if there is one (a key log that cannot be written is said once, and
    /// closed).
    pub(crate) fn next_event(&mut self) -> Option<OwnedClientEvent> {
        let event = self.client.poll_event()?.into_owned();
        if let OwnedClientEvent::Joined { .. } = event
            && let Some(key_log) = &mut self.key_log
            && let Some(entry) = self.client.key_log_entry()
            && let Err(error) = key_log.record(&entry)
        {
            output::line(Stream::Stderr, format!("minichat: {error}; no more keys are logged"));
            self.key_log = None;
        }
        Some(event)
    }

    /// Waits for a datagram, a wake-up, the client's next timer or `max`, whichever comes
    /// first.
    pub(crate) fn wait(&mut self, max: std::time::Duration) -> Result<(), HostError> {
        let timer = self.client.poll_timeout().map(|at| self.clock.until(at));
        let reopen = self.link.inner.next_reopen();
        let reopen = reopen.map(|at| at.saturating_duration_since(std::time::Instant::now()));
        let timeout = [timer, reopen].into_iter().flatten().fold(max, std::time::Duration::min);
        self.reactor.wait(Some(timeout))
    }
}
