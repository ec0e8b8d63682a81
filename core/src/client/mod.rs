//! The chat client as a state machine: datagrams and time in, datagrams and events out.
//!
//! Same shape as the server: [`Client::handle`], [`Client::poll_transmit`] (until `None`),
//! [`Client::poll_timeout`] / [`Client::handle_timeout`], [`Client::poll_event`]. The
//! application queues messages with [`Client::say`] and [`Client::tell`] at any time —
//! before the server is up, too: the client joins (and re-joins after a server restart or
//! expiry) by itself, resends what was not acknowledged, and reports each message as
//! delivered, refused or failed. Incoming messages arrive exactly once and in order.
//!
//! Its capacities are its parameters: `UNACKED` messages may wait for acknowledgement at
//! once; `EVENTS` events wait for the application; `EARLY` deliveries that arrive early
//! (after a gap) are held until the gap is filled, so a loss costs one resend, not a window
//! of them (0 is allowed: the server then resends everything after a gap).
//! [`SmallClient`] is a preset for firmware.
//!
//! This file holds the API and the turn; each concept has its file: `session.rs` (joining,
//! re-joining, moves), `sending.rs` (our messages out and their acknowledgements,
//! `outbox.rs` their queue), `inbox.rs` (deliveries in, in order, and our
//! acknowledgements), `request.rs` (who, echo, ping), `frames.rs` (the one reader and
//! writer of frames), `event_queue.rs` (events and their texts, handed out), and the edge: `secure.rs` or `clear.rs`.

// The edge where frames meet the plain machine: `secure.rs` with encryption, `clear.rs`
// without. Frames in go through `receive`, a session's frames out through `send`, joins
// through `send_join`.
#[cfg(not(feature = "secure"))]
mod clear;
#[cfg(not(feature = "secure"))]
use clear as edge;
#[cfg(feature = "secure")]
mod secure;
#[cfg(feature = "secure")]
use secure as edge;

mod config;
mod event;
mod event_queue;
mod frames;
mod inbox;
mod outbox;
mod request;
mod sending;
mod session;
mod stats;
mod text_ring;

use core::net::SocketAddr;

use heapless::Deque;

pub use config::{ClientConfig, MAX_ACK_DELAY, MAX_RTO};
pub use event::{ClientEvent, Event, MessageId};
#[cfg(feature = "std")]
pub use event::{OwnedClientEvent, OwnedListedName};
#[cfg(feature = "secure")]
pub use secure::ServerKey;
pub use stats::ClientStats;
use stats::tally;

use crate::address::PeerAddress;
use crate::backoff::Backoff;
use crate::client::inbox::Inbox;
use crate::client::outbox::{Outbox, Outgoing};
use crate::client::request::Requests;
use crate::client::text_ring::{Span, TextRing};
use crate::error::ClientError;
use crate::retransmit::Retransmission;
use crate::rtt::{RttBounds, RttEstimator};
use crate::time::{Duration, Instant, earliest};
use crate::transport::Transmit;
use crate::wire::{Cookie, Message, NameBuf, Token};

/// A client for firmware: 4 messages awaiting acknowledgement in 1 KiB, 4 events whose
/// texts share 1 KiB, 4 early deliveries (what the footprint report measures). It sends
/// and takes texts up to the protocol's longest.
pub type SmallClient<A = SocketAddr> = Client<4, 4, 4, A, 1024, 1024>;

/// Where the client is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Sending joins: first with an empty cookie, then with the server's; every join of
    /// this attempt carries `nonce`.
    Joining { cookie: Cookie, nonce: u64, attempts: u32, rejoin: bool },
    /// In a session.
    Joined { token: Token },
    /// Done: left, kicked or refused.
    Closed,
}

/// The chat client, with room for `UNACKED` unacknowledged messages whose texts share
/// `OUTBOX_BYTES`, `EVENTS` pending events whose texts share `EVENT_BYTES`, and `EARLY`
/// early deliveries.
///
/// `OUTBOX_BYTES` bounds the longest text [`Client::say`] takes; a message longer than
/// `EVENT_BYTES` reaches the application as a loss it is told of
/// ([`ClientEvent::Missed`]).
#[derive(Debug)]
pub struct Client<
    const UNACKED: usize = 8,
    const EVENTS: usize = 8,
    const EARLY: usize = 8,
    A = SocketAddr,
    const OUTBOX_BYTES: usize = 8192,
    const EVENT_BYTES: usize = 8192,
> {
    config: ClientConfig<A>,
    phase: Phase,
    /// When the next join goes, and the wait after it.
    join: Backoff,
    keepalive: Duration,
    max_text: u16,
    outbox: Outbox<UNACKED, OUTBOX_BYTES>,
    retransmission: Retransmission,
    /// The retransmission timeout's bounds, from `config`.
    rtt: RttBounds,
    inbox: Inbox<EARLY>,
    requests: Requests,
    challenge_reply: Option<u32>,
    /// The nonce of the last challenge answered in this session: a `moved` with it
    /// confirms our own move, any other says someone else took the session.
    challenge_answered: Option<u32>,
    /// The session we lost and the last delivery of it we handed over, sent with our
    /// re-join so the server offers only what we have not seen.
    resume: (Token, u32),
    last_sent: Instant,
    last_heard: Instant,
    next_id: u32,
    /// How many attempts to join were started, for their nonces.
    join_attempts: u64,
    /// Events waiting for the application; their texts lie in `event_texts`.
    events: Deque<(ClientEvent<'static>, Span), EVENTS>,
    event_texts: TextRing<EVENT_BYTES>,
    /// The text of the event handed out last: kept until the next [`Client::poll_event`].
    handed_out: Span,
    stats: ClientStats,
    /// Encrypted sessions: the server's key, once set.
    security: Option<edge::Security>,
}

impl<
    const UNACKED: usize,
    const EVENTS: usize,
    const EARLY: usize,
    A: PeerAddress,
    const OUTBOX_BYTES: usize,
    const EVENT_BYTES: usize,
> Client<UNACKED, EVENTS, EARLY, A, OUTBOX_BYTES, EVENT_BYTES>
{
    /// A client that starts joining at `now`.
    pub fn new(config: ClientConfig<A>, now: Instant) -> Self {
        let rtt = RttBounds::new(config.rto_initial, config.rto_min, config.rto_max);
        Client {
            phase: Phase::Joining {
                cookie: Cookie::EMPTY,
                nonce: join_nonce(config.seed, 0),
                attempts: 0,
                rejoin: false,
            },
            join: Backoff::new(now, config.rto_initial),
            keepalive: config.keepalive,
            max_text: session::frame_text(config.max_frame, false),
            outbox: Outbox::EMPTY,
            retransmission: Retransmission::new(RttEstimator::new(&rtt)),
            rtt,
            inbox: Inbox::new(0),
            requests: Requests::default(),
            challenge_reply: None,
            challenge_answered: None,
            resume: (Token::NONE, 0),
            last_sent: now,
            last_heard: now,
            next_id: 0,
            join_attempts: 1,
            events: Deque::new(),
            event_texts: TextRing::EMPTY,
            handed_out: Span::EMPTY,
            stats: ClientStats::default(),
            security: None,
            config,
        }
    }

    /// The settings in force.
    pub const fn config(&self) -> &ClientConfig<A> {
        &self.config
    }

    /// The counters.
    pub const fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// Whether a session is established.
    pub const fn is_joined(&self) -> bool {
        matches!(self.phase, Phase::Joined { .. })
    }

    /// The session token, while joined. It is the session's secret: whoever has it can
    /// speak for this client (from a new address, after a challenge).
    pub const fn session_token(&self) -> Option<Token> {
        match self.phase {
            Phase::Joined { token } => Some(token),
            _ => None,
        }
    }

    /// Whether the client is done (left, kicked, refused).
    pub const fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// How many queued messages await the server's answer.
    pub fn pending(&self) -> usize {
        self.outbox.len()
    }

    /// The longest text [`Client::say`] takes: what the server accepts (its `welcome`
    /// says; the protocol's limit before that), and what the outbox holds.
    pub fn max_text(&self) -> u16 {
        self.max_text.min(u16::try_from(OUTBOX_BYTES).unwrap_or(u16::MAX))
    }

    /// Queues `text` for the room.
    pub fn say(&mut self, now: Instant, text: &str) -> Result<MessageId, ClientError> {
        self.check_text(text)?;
        self.queue(now, Outgoing::Say, text)
    }

    /// Queues `text` for the user called `to`.
    pub fn tell(&mut self, now: Instant, to: &str, text: &str) -> Result<MessageId, ClientError> {
        let to = NameBuf::parse(to).map_err(ClientError::InvalidName)?;
        self.check_text(text)?;
        self.queue(now, Outgoing::Tell(to), text)
    }

    /// Leaves after everything queued before: the server removes us once it has it all.
    pub fn leave(&mut self, now: Instant) -> Result<MessageId, ClientError> {
        if !self.is_joined() && self.outbox.is_empty() {
            // Never joined, nothing to deliver: nothing to leave.
            self.phase = Phase::Closed;
            let id = self.new_id();
            self.push_event(ClientEvent::Left);
            return Ok(id);
        }
        self.queue(now, Outgoing::Leave, "")
    }

    /// Takes one datagram. Replies are queued for [`Client::poll_transmit`]; this never
    /// writes to `buf`.
    pub fn handle(&mut self, now: Instant, from: A, datagram: &[u8]) {
        tally(&mut self.stats.datagrams);
        if from != self.config.server {
            tally(&mut self.stats.foreign);
            return;
        }
        let Ok(message) = Self::read(datagram) else {
            tally(&mut self.stats.ignored);
            return;
        };
        self.receive(now, message, datagram);
    }

    /// A frame for the plain machine (in the clear, or opened at the edge): an answer to
    /// our join, or a frame of our session.
    fn take(&mut self, now: Instant, message: Message<'_>) {
        match self.phase {
            Phase::Joining { .. } => self.handle_joining(now, message),
            Phase::Joined { token } if message.token() == Some(token) => {
                self.last_heard = now;
                self.handle_session(now, message);
            }
            _ => tally(&mut self.stats.ignored),
        }
    }

    /// The next datagram to send, written into `buf`. Call until `None`.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit<A>> {
        let transmit = match self.phase {
            Phase::Closed => None,
            Phase::Joining { .. } => self.join_transmit(now, buf),
            Phase::Joined { token } => self.send(now, token, buf),
        };
        if transmit.is_some() {
            self.last_sent = now;
        }
        transmit
    }

    /// When [`Client::handle_timeout`] should run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let give_up = self.outbox.front().map(|entry| entry.queued_at + self.config.give_up);
        let requests = self.requests.next_at();
        let session = match self.phase {
            Phase::Closed => return None,
            Phase::Joining { .. } => [self.join_timer(), None, None, None],
            Phase::Joined { .. } => [
                self.retransmission.at(),
                self.inbox.ack_at,
                // Once a ping is out, its own resend time counts, not the keep-alive:
                // a keep-alive already past would otherwise stay due forever.
                self.requests.ping.is_none().then(|| self.last_sent + self.keepalive),
                Some(self.last_heard + self.dead_after()),
            ],
        };
        let [a, b, c, d] = session;
        [a, b, c, d, requests, give_up].into_iter().fold(None, earliest)
    }

    /// Runs the timers: retransmission, giving up, noticing a silent server.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        if self.outbox.front().is_some_and(|entry| entry.queued_at + self.config.give_up <= now) {
            // The oldest message waited too long: the server is not taking anything.
            // Everything queued is reported as not delivered (a leave too: the
            // application learns it did not get through); a fresh session starts
            // whenever the application sends again.
            self.fail_queued(true);
            self.retransmission.stop();
            if self.is_joined() {
                self.lose_session(now, ClientEvent::ServerLost);
            }
        }
        self.expire_requests(now);
        if let Phase::Joined { .. } = self.phase {
            self.inbox.on_timeout(now);
            if self.retransmission.fire_if_due(now, &self.rtt) {
                self.resend_all();
                tally(&mut self.stats.retransmits);
            }
            // As a deadline, not an age: a poll up to 24.8 days late still sees it.
            if self.last_heard + self.dead_after() <= now {
                self.lose_session(now, ClientEvent::ServerLost);
            }
        }
    }

    fn session_transmit(
        &mut self,
        now: Instant,
        token: Token,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        // Never set where the address cannot move; the constant lets the compiler drop
        // this path there.
        if let Some(nonce) = self.challenge_reply.take().filter(|_| A::ROAMS) {
            return self.emit(buf, &Message::ChallengeResponse { token, nonce });
        }
        if self.inbox.ack_due {
            let (seq, sack) = self.inbox.take_ack();
            return self.emit(buf, &Message::Ack { token, seq, sack });
        }
        if let Some(transmit) = self.outbox_transmit(now, token, buf) {
            return Some(transmit);
        }
        self.request_transmit(now, token, buf)
    }

    fn handle_session(&mut self, now: Instant, message: Message<'_>) {
        match message {
            Message::Deliver { seq, direct, history, from, text, .. } => {
                self.on_deliver(now, seq, direct, history, from, text);
            }
            Message::Missed { seq, .. } => self.on_missed(seq),
            Message::Ack { seq, .. } => self.on_ack(now, seq),
            Message::Error { code, seq, detail, .. } => self.on_error(now, code, seq, detail),
            #[cfg(feature = "who")]
            Message::Users { req, total, start, names, .. } => {
                self.on_users(now, req, total, start, names);
            }
            #[cfg(feature = "echo")]
            Message::EchoReply { req, mode, text, .. } => self.on_echo_reply(req, mode, text),
            Message::Pong { req, .. } => self.on_pong(req),
            #[cfg(feature = "key-of")]
            Message::UserKey { req, name, here, key, .. } => self.on_user_key(req, name, here, key),
            Message::Challenge { nonce, .. } if A::ROAMS => {
                self.challenge_reply = Some(nonce);
                self.challenge_answered = Some(nonce);
            }
            Message::Moved { nonce, seq, digest, .. } if A::ROAMS => {
                self.on_moved(now, nonce, seq, digest);
            }
            Message::UnknownSession { .. } => {
                if self.outbox.only_leave_sent() {
                    // Our leave arrived and its acknowledgement was lost: we are out.
                    self.close(ClientEvent::Left);
                } else {
                    self.lose_session(now, ClientEvent::SessionLost);
                }
            }
            _ => tally(&mut self.stats.ignored),
        }
    }

    fn close(&mut self, event: ClientEvent<'static>) {
        self.close_with(event, "");
    }

    /// Closes, with `event` showing `detail` (the server's words).
    fn close_with(&mut self, event: ClientEvent<'static>, detail: &str) {
        self.phase = Phase::Closed;
        // A leave needs no report of its own: `event` says how the client closed.
        self.fail_queued(false);
        self.requests.clear();
        self.retransmission.stop();
        self.push_event_with(event, detail.as_bytes());
    }

    /// Empties the queue: every message in it is reported failed (a leave too, if
    /// `leave_too`).
    #[inline(never)] // inlined twice, or as two loops, it costs 130 B more (thumbv7em)
    fn fail_queued(&mut self, leave_too: bool) {
        let mut failed: heapless::Vec<MessageId, UNACKED> = heapless::Vec::new();
        self.outbox.fail_all(|entry| {
            if leave_too || entry.what != Outgoing::Leave {
                let _ = failed.push(entry.id);
            }
        });
        for id in failed {
            self.push_event(ClientEvent::Failed { id });
        }
    }

    /// Silence from the server for this long means it is gone.
    fn dead_after(&self) -> Duration {
        self.keepalive.times(2) + self.config.rto_max
    }

    fn check_open(&self) -> Result<(), ClientError> {
        if self.is_closed() { Err(ClientError::Closed) } else { Ok(()) }
    }

    /// Checks `text` against the server's limit (the outbox checks its own).
    fn check_text(&self, text: &str) -> Result<(), ClientError> {
        let max = usize::from(self.max_text);
        if text.len() > max {
            return Err(ClientError::TextTooLong { len: text.len(), max });
        }
        Ok(())
    }

    fn queue(
        &mut self,
        now: Instant,
        what: Outgoing,
        text: &str,
    ) -> Result<MessageId, ClientError> {
        self.check_open()?;
        let id = MessageId(self.next_id);
        self.outbox.push(id, what, text, now)?;
        self.next_id = self.next_id.wrapping_add(1);
        Ok(id)
    }

    fn new_id(&mut self) -> MessageId {
        let id = MessageId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        id
    }
}

/// The nonce of attempt `n` to join: SplitMix64 of the entropy and `n`, so attempts differ
/// and clients with different entropy differ.
fn join_nonce(entropy: u64, n: u64) -> u64 {
    let mut z = entropy.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
