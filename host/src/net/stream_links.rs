//! The server's stream links: TCP connections accepted on the server's port, and serial
//! lines named on the command line. Each carries one peer ([`Peer::Tcp`], [`Peer::Serial`])
//! with the core's stream framing. A connection that closes is forgotten; a serial line
//! that goes away (a USB adapter unplugged, an emulator stopped) is reported and reopened
//! with back-off, while the server goes on serving everyone else.

use std::collections::{HashMap, HashSet};
use std::io;
use std::time::{Duration, Instant};

use minichat_core::wire::is_frame;
use minichat_core::wire::limits::MAX_FRAME;
use mio::net::TcpListener;
use mio::{Interest, Token};

use crate::error::HostError;
use crate::net::peer::Peer;
use crate::net::reactor::{self, Reactor};
use crate::net::serial::{self, Reopen};
use crate::net::stream_link::{LinkIo, Next, StreamLink};
use crate::net::tcp_guard::{MAX_CONNECTIONS, Refused, TcpGuard, TcpLimits, TcpStats};

/// The listener's token; serial lines and connections count up from [`FIRST_LINK`].
const TCP_LISTENER: Token = Token(1);
const FIRST_LINK: usize = 2;

/// How long after a failed `accept` (out of file descriptors, say) it is tried again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// How often the operator hears of connections the guard closed, at most.
const NOTICE_EVERY: Duration = Duration::from_secs(10);

/// A serial line to serve: its device and speed.
#[derive(Debug, Clone)]
pub(crate) struct SerialSpec {
    pub(crate) path: String,
    pub(crate) baud: u32,
}

/// A serial line the server keeps open: its link while open, when to reopen otherwise.
#[derive(Debug)]
struct SerialLine {
    spec: SerialSpec,
    peer: Peer,
    token: Token,
    reopen: Option<Reopen>,
}

/// Every stream link of one server.
#[derive(Debug)]
pub(crate) struct StreamLinks {
    tcp: Option<TcpListener>,
    /// Per-address limits and deadlines of the TCP connections.
    guard: TcpGuard,
    /// When to try `accept` again after it failed.
    accept_retry: Option<Instant>,
    /// Connections whose deadline passed, being closed (kept, so closing allocates nothing).
    expired: Vec<Token>,
    /// What the guard had done when the operator last heard of it, and when.
    reported: (TcpStats, Option<Instant>),
    links: HashMap<Token, (Peer, Box<StreamLink<LinkIo>>)>,
    by_peer: HashMap<Peer, Token>,
    serials: Vec<SerialLine>,
    next_token: usize,
    /// Links to look at on the next turn: reported ready, or not drained last time.
    ready: HashSet<Token>,
    /// Links that yielded with input left during this turn: ready again once every other
    /// ready link had its go, so one busy link cannot hold the loop.
    busy: Vec<Token>,
    /// What the operator should hear about (a line lost, reopened).
    notices: Vec<String>,
}

impl StreamLinks {
    /// Takes `tcp` (if the server listens on TCP too) and opens every serial line: one
    /// that cannot be opened at start is an error, so a mistyped path is caught at once.
    /// TCP connections are held to `limits`.
    pub(crate) fn new(
        tcp: Option<TcpListener>,
        serial: &[SerialSpec],
        reactor: &Reactor,
        limits: TcpLimits,
    ) -> Result<Self, HostError> {
        // Sized once for every link there may be, so the tables never grow.
        let most = if tcp.is_some() { MAX_CONNECTIONS } else { 0 } + serial.len();
        let mut links = StreamLinks {
            tcp,
            guard: TcpGuard::new(limits),
            accept_retry: None,
            expired: Vec::with_capacity(most),
            reported: (TcpStats::default(), None),
            links: HashMap::with_capacity(most),
            by_peer: HashMap::with_capacity(most),
            serials: Vec::new(),
            next_token: FIRST_LINK,
            ready: HashSet::with_capacity(most + 1),
            busy: Vec::with_capacity(most),
            notices: Vec::new(),
        };
        if let Some(listener) = links.tcp.as_mut() {
            reactor
                .registry()
                .register(listener, TCP_LISTENER, Interest::READABLE)
                .map_err(HostError::Poll)?;
        }
        for spec in serial {
            let port = serial::open(&spec.path, spec.baud)
                .map_err(|source| HostError::Serial { path: spec.path.clone(), source })?;
            let token = links.new_token();
            let peer = Peer::serial(&spec.path);
            reactor.register_serial(&port, token)?;
            links.insert(token, peer, LinkIo::Serial(port));
            links.serials.push(SerialLine { spec: spec.clone(), peer, token, reopen: None });
        }
        Ok(links)
    }

    /// What the server listens on besides UDP, for the start-up line: `, tcp`,
    /// `, serial:/dev/ttyUSB0`.
    pub(crate) fn describe(&self) -> String {
        let mut out = String::new();
        if self.tcp.is_some() {
            out.push_str(", tcp");
        }
        for line in &self.serials {
            out.push_str(&format!(", {}", line.peer));
        }
        out
    }

    /// Notes which links the last wait reported ready.
    pub(crate) fn note_ready(&mut self, reactor: &Reactor) {
        if reactor::SOCKET_EVENTS {
            self.ready.extend(reactor.events().map(|event| event.token()));
        } else {
            // No readiness events here: look at every link on every turn.
            self.ready.extend(self.links.keys().copied());
            self.ready.insert(TCP_LISTENER);
        }
    }

    /// Accepts waiting connections, closes those past their deadline and reopens serial
    /// lines whose time has come.
    pub(crate) fn maintain(&mut self, reactor: &Reactor, now: Instant) {
        let retry = self.accept_retry.is_some_and(|at| at <= now);
        if self.ready.remove(&TCP_LISTENER) || retry {
            self.accept_retry = None;
            self.accept(reactor, now);
        }
        self.guard.expire(now, &mut self.expired);
        for i in 0..self.expired.len() {
            let Some(&token) = self.expired.get(i) else { continue };
            let error = io::Error::new(io::ErrorKind::TimedOut, "no frame in time");
            self.lose(reactor, token, &error, now);
        }
        self.expired.clear();
        self.report_guard(now);
        for i in 0..self.serials.len() {
            let Some(line) = self.serials.get_mut(i) else { continue };
            let Some(reopen) = line.reopen.as_mut().filter(|r| r.at <= now) else { continue };
            match serial::open(&line.spec.path, line.spec.baud) {
                Ok(port) => {
                    let (token, peer) = (line.token, line.peer);
                    line.reopen = None;
                    if let Err(error) = reactor.register_serial(&port, token) {
                        tracing::warn!(%error, %peer, "cannot watch a reopened serial line");
                    }
                    self.notices.push(format!("{peer} is back"));
                    self.insert(token, peer, LinkIo::Serial(port));
                    self.ready.insert(token);
                }
                Err(_) => {
                    reopen.failed(now);
                }
            }
        }
    }

    /// The next frame from any ready link, copied into `buf`, with its peer. `None` when
    /// no ready link has one; links that still hold input are ready again for the next
    /// turn ([`StreamLinks::has_more`]).
    pub(crate) fn next_frame(
        &mut self,
        reactor: &Reactor,
        now: Instant,
        buf: &mut [u8; MAX_FRAME],
    ) -> Option<(Peer, usize)> {
        while let Some(&token) = self.ready.iter().next() {
            let Some((peer, link)) = self.links.get_mut(&token) else {
                self.ready.remove(&token);
                continue;
            };
            let peer = *peer;
            let outcome = link.flush().and_then(|()| link.next_frame(buf));
            match outcome {
                Ok(Next::Frame(len)) => {
                    // A minichat frame, not merely a good check: noise with a CRC keeps
                    // nothing open.
                    if matches!(peer, Peer::Tcp(_)) && is_frame(buf.get(..len).unwrap_or_default())
                    {
                        self.guard.framed(token, now);
                    }
                    return Some((peer, len));
                }
                Ok(Next::Empty) => {
                    self.ready.remove(&token);
                }
                Ok(Next::Busy) => {
                    // Input remains: a later turn goes on (after the others had theirs).
                    self.ready.remove(&token);
                    self.busy.push(token);
                }
                Err(error) => self.lose(reactor, token, &error, now),
            }
        }
        self.ready.extend(self.busy.drain(..));
        None
    }

    /// Sends `frame` to `peer`'s link; a frame for a link that is gone is dropped (the
    /// protocol resends what matters, once the peer is back).
    pub(crate) fn send(&mut self, reactor: &Reactor, peer: Peer, frame: &[u8], now: Instant) {
        let Some(&token) = self.by_peer.get(&peer) else { return };
        let Some((_, link)) = self.links.get_mut(&token) else { return };
        if let Err(error) = link.send(frame) {
            self.lose(reactor, token, &error, now);
        }
    }

    /// Whether links may have more waiting than this turn took.
    pub(crate) fn has_more(&self) -> bool {
        !self.ready.is_empty()
    }

    /// When the links next need a look without an event: a serial line to reopen, a
    /// connection's deadline, an `accept` to try again.
    pub(crate) fn next_wakeup(&self) -> Option<Instant> {
        let reopen = self.serials.iter().filter_map(|line| line.reopen.map(|r| r.at));
        reopen.chain(self.guard.next_deadline()).chain(self.accept_retry).min()
    }

    /// What the TCP guard did, if the server takes TCP.
    pub(crate) fn tcp_stats(&self) -> Option<TcpStats> {
        self.tcp.as_ref().map(|_| self.guard.stats())
    }

    /// Tells the operator, at most every [`NOTICE_EVERY`], of connections the guard
    /// closed since the last time.
    fn report_guard(&mut self, now: Instant) {
        let (before, at) = self.reported;
        let stats = self.guard.stats();
        if stats == before || at.is_some_and(|at| now < at + NOTICE_EVERY) {
            return;
        }
        let mut parts = Vec::new();
        let refused = stats.refused_per_ip - before.refused_per_ip;
        if refused > 0 {
            parts.push(format!("{refused} refused (too many from one address)"));
        }
        let full = stats.refused_full - before.refused_full;
        if full > 0 {
            parts.push(format!(
                "{full} refused (all {MAX_CONNECTIONS} taken by connections carrying frames)"
            ));
        }
        let late = stats.no_first_frame - before.no_first_frame;
        if late > 0 {
            parts.push(format!("{late} closed for sending no frame in time"));
        }
        let silent = stats.silent - before.silent;
        if silent > 0 {
            parts.push(format!("{silent} closed after a silence"));
        }
        let evicted = stats.evicted - before.evicted;
        if evicted > 0 {
            parts.push(format!("{evicted} closed to make room (no frame yet)"));
        }
        self.reported = (stats, Some(now));
        if !parts.is_empty() {
            self.notices.push(format!("tcp connections: {}", parts.join(", ")));
        }
    }

    /// What happened to the links since the last call, for the operator.
    pub(crate) fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    fn accept(&mut self, reactor: &Reactor, now: Instant) {
        loop {
            let Some(listener) = self.tcp.as_ref() else { return };
            let (mut stream, remote) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    // Out of file descriptors, say: the listener raises no new event for
                    // connections already waiting, so look again soon.
                    tracing::warn!(%error, "accepting a connection failed");
                    self.accept_retry = Some(now + ACCEPT_RETRY);
                    return;
                }
            };
            match self.guard.admit(remote) {
                Ok(None) => {}
                Ok(Some(oldest)) => {
                    let error = io::Error::other("closed to make room for a new connection");
                    self.lose(reactor, oldest, &error, now);
                }
                Err(refused) => {
                    match refused {
                        Refused::PerIp(most) => {
                            tracing::debug!(%remote, most, "too many connections from one address; closing the new one")
                        }
                        Refused::Full => {
                            tracing::debug!(%remote, "every connection is taken; closing the new one")
                        }
                    }
                    continue;
                }
            }
            let token = self.new_token();
            let interest = Interest::READABLE | Interest::WRITABLE;
            if let Err(error) = reactor.registry().register(&mut stream, token, interest) {
                tracing::warn!(%remote, %error, "cannot watch a new connection; closing it");
                continue;
            }
            let _ = stream.set_nodelay(true);
            tracing::debug!(%remote, "tcp connection accepted");
            self.insert(token, Peer::Tcp(remote), LinkIo::Tcp(stream));
            self.guard.opened(token, remote, now);
            self.ready.insert(token);
        }
    }

    fn insert(&mut self, token: Token, peer: Peer, io: LinkIo) {
        self.links.insert(token, (peer, Box::new(StreamLink::over(io))));
        self.by_peer.insert(peer, token);
    }

    /// The link is gone: a connection is forgotten, a serial line reopened later.
    fn lose(&mut self, reactor: &Reactor, token: Token, error: &io::Error, now: Instant) {
        self.ready.remove(&token);
        let Some((peer, link)) = self.links.remove(&token) else { return };
        self.by_peer.remove(&peer);
        let stats = *link.stats();
        match link.into_io() {
            LinkIo::Tcp(mut stream) => {
                self.guard.closed(token);
                let _ = reactor.registry().deregister(&mut stream);
                tracing::debug!(%peer, %error, "tcp connection closed");
            }
            LinkIo::Serial(port) => {
                reactor.deregister_serial(&port);
                drop(port);
                let reopen = Reopen::after_loss(now);
                if let Some(line) = self.serials.iter_mut().find(|line| line.token == token) {
                    line.reopen = Some(reopen);
                }
                tracing::warn!(%peer, %error, bad_checks = stats.bad_checks, "serial line lost");
                self.notices.push(format!(
                    "{peer} is gone ({error}); trying to reopen it every few seconds"
                ));
            }
        }
    }

    fn new_token(&mut self) -> Token {
        let token = Token(self.next_token);
        // Tokens are never reused while the server runs: usize does not wrap in practice.
        self.next_token = self.next_token.saturating_add(1);
        token
    }
}
