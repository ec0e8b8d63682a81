//! The chat client as a state machine: datagrams and time in, datagrams and events out.
//!
//! Same shape as the server: [`Client::handle`], [`Client::poll_transmit`] (until `None`),
//! [`Client::poll_timeout`] / [`Client::handle_timeout`], [`Client::poll_event`]. The
//! application queues messages with [`Client::say`] and [`Client::tell`] at any time —
//! before the server is up, too: the client joins (and re-joins after a server restart or
//! expiry) by itself, resends what was not acknowledged, and reports each message as
//! delivered, refused or failed. Incoming messages arrive exactly once and in order.
//!
//! `Q` messages may wait for acknowledgement at once; `E` events wait for the application;
//! `B` deliveries that arrive early (after a gap) are held until the gap is filled, so a
//! loss costs one resend, not a window of them (0 is allowed: the server then resends
//! everything after a gap).

mod config;
mod event;
mod outbox;
mod session;

use core::net::SocketAddr;

use heapless::Deque;

pub use config::ClientConfig;
pub use event::{ClientEvent, MessageId, UserPage};

use crate::client::outbox::{Entry, Outbox, Outgoing};
use crate::error::{ClientError, ErrorCode};
use crate::retransmit::Retransmission;
use crate::rtt::RttEstimator;
use crate::seq::after;
use crate::time::{Duration, Instant};
use crate::transport::{Endpoint, Transmit};
use crate::wire::limits::MAX_TEXT_U16;
use crate::wire::{Cookie, EchoMode, Kind, Message, Name, NameBuf, TextBuf, Token, text_buf};

/// Event slots kept free for reports about our own messages: a new incoming message is
/// accepted only while more than this many slots are free (otherwise it is left
/// unacknowledged, and the server sends it again later).
const EVENT_RESERVE: usize = 2;

/// Deliveries accepted in order before an acknowledgement goes without waiting.
const ACK_EVERY: u8 = 8;

/// How long to wait before re-joining a server that said it is shutting down.
const SHUTDOWN_BACKOFF: Duration = Duration::from_secs(1);

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

/// A request awaiting its answer, resent with back-off.
#[derive(Debug, Clone, Copy)]
struct Request {
    req: u32,
    next_at: Instant,
    rto: Duration,
    asked_at: Instant,
}

/// Counters, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Datagrams handled.
    pub datagrams: u64,
    /// Datagrams from addresses other than the server's: ignored.
    pub foreign: u64,
    /// Frames that did not parse, or carried a token not ours: ignored.
    pub ignored: u64,
    /// Retransmission timeouts (everything unacknowledged sent again).
    pub retransmits: u64,
    /// Sessions joined, the first one included.
    pub joins: u64,
    /// Deliveries refused because the application had not taken its events.
    pub deferred: u64,
    /// Events dropped because the application did not poll them.
    pub events_dropped: u64,
}

/// A delivery that arrived before the one it must follow.
#[derive(Debug, Clone)]
struct Held {
    seq: u32,
    history: bool,
    from: NameBuf,
    text: TextBuf,
    direct: bool,
}

/// The chat client, with room for `Q` unacknowledged messages, `E` pending events and `B`
/// early deliveries.
#[derive(Debug)]
pub struct Client<const Q: usize = 8, const E: usize = 8, const B: usize = 8> {
    config: ClientConfig,
    phase: Phase,
    join_at: Instant,
    join_rto: Duration,
    keepalive: Duration,
    max_text: u16,
    outbox: Outbox<Q>,
    retransmission: Retransmission,
    /// The last delivery number accepted in order.
    delivered: u32,
    /// Early deliveries, at index `seq % B`.
    held: [Option<Held>; B],
    ack_due: bool,
    /// Deliveries accepted in order since the last acknowledgement.
    unacked: u8,
    /// When the delayed acknowledgement is due.
    ack_at: Option<Instant>,
    who: Option<(Request, u16)>,
    echo: Option<(Request, EchoMode, TextBuf)>,
    ping: Option<Request>,
    challenge_reply: Option<u32>,
    /// The nonce of the last challenge answered in this session: a `moved` with it
    /// confirms our own move, any other says someone else took the session.
    challenge_answered: Option<u32>,
    /// The session we lost and the last delivery of it we handed over, sent with our
    /// re-join so the server offers only what we have not seen.
    resume: (Token, u32),
    last_sent: Instant,
    last_heard: Instant,
    next_req: u32,
    next_id: u32,
    /// How many attempts to join were started, for their nonces.
    join_attempts: u64,
    events: Deque<ClientEvent, E>,
    stats: ClientStats,
}

impl<const Q: usize, const E: usize, const B: usize> Client<Q, E, B> {
    /// A client that starts joining at `now`.
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        Client {
            phase: Phase::Joining {
                cookie: Cookie::EMPTY,
                nonce: join_nonce(config.entropy, 0),
                attempts: 0,
                rejoin: false,
            },
            join_at: now,
            join_rto: config.rto_initial,
            keepalive: config.keepalive,
            max_text: MAX_TEXT_U16,
            outbox: Outbox::new(),
            retransmission: Retransmission::new(RttEstimator::new(
                config.rto_initial,
                config.rto_min,
                config.rto_max,
            )),
            delivered: 0,
            held: [const { None }; B],
            ack_due: false,
            unacked: 0,
            ack_at: None,
            who: None,
            echo: None,
            ping: None,
            challenge_reply: None,
            challenge_answered: None,
            resume: (Token::NONE, 0),
            last_sent: now,
            last_heard: now,
            next_req: 1,
            next_id: 0,
            join_attempts: 1,
            events: Deque::new(),
            stats: ClientStats::default(),
            config,
        }
    }

    /// The settings in force.
    pub const fn config(&self) -> &ClientConfig {
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

    /// The longest text the server accepts (its `welcome` says; the protocol's limit
    /// before that).
    pub const fn max_text(&self) -> u16 {
        self.max_text
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Queues `text` for the room.
    pub fn say(&mut self, now: Instant, text: &str) -> Result<MessageId, ClientError> {
        let text = self.check_text(text)?;
        self.queue(now, Outgoing::Say(text))
    }

    /// Queues `text` for the user called `to`.
    pub fn tell(&mut self, now: Instant, to: &str, text: &str) -> Result<MessageId, ClientError> {
        let to = NameBuf::parse(to).map_err(ClientError::InvalidName)?;
        let text = self.check_text(text)?;
        self.queue(now, Outgoing::Tell(to, text))
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
        self.queue(now, Outgoing::Leave)
    }

    /// Asks who is connected; the answer comes as [`ClientEvent::Users`] pages.
    pub fn who(&mut self, now: Instant) -> Result<(), ClientError> {
        self.check_open()?;
        if self.who.is_some() {
            return Err(ClientError::RequestPending);
        }
        self.who = Some((self.new_request(now), 0));
        Ok(())
    }

    /// Asks the server to echo `text` transformed by `mode`; the answer comes as
    /// [`ClientEvent::EchoReply`].
    pub fn echo(&mut self, now: Instant, mode: EchoMode, text: &str) -> Result<(), ClientError> {
        self.check_open()?;
        if self.echo.is_some() {
            return Err(ClientError::RequestPending);
        }
        let text = self.check_text(text)?;
        self.echo = Some((self.new_request(now), mode, text));
        Ok(())
    }

    /// Takes one datagram. Replies are queued for [`Client::poll_transmit`]; this never
    /// writes to `buf`.
    pub fn handle(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.stats.datagrams += 1;
        if from != self.config.server {
            self.stats.foreign += 1;
            return;
        }
        let Ok(message) = Message::decode(datagram) else {
            self.stats.ignored += 1;
            return;
        };
        match self.phase {
            Phase::Joining { .. } => self.handle_joining(now, message),
            Phase::Joined { token } if message.token() == Some(token) => {
                self.last_heard = now;
                self.handle_session(now, message);
            }
            _ => self.stats.ignored += 1,
        }
    }

    /// The next datagram to send, written into `buf`. Call until `None`.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        let transmit = match self.phase {
            Phase::Closed => None,
            Phase::Joining { cookie, nonce, attempts, rejoin } => {
                if self.join_at > now {
                    return None;
                }
                let attempts = attempts.saturating_add(1);
                self.phase = Phase::Joining { cookie, nonce, attempts, rejoin };
                let retry_in = self.join_rto;
                self.join_at = now + retry_in;
                self.join_rto = self.join_rto.doubled(self.config.rto_max);
                if attempts > 1 && cookie.is_empty() {
                    self.push_event(ClientEvent::JoinRetry { attempt: attempts, retry_in });
                }
                let name = self.config.name;
                // The next delivery, and the early ones it can hold.
                let window = u16::try_from(B.saturating_add(1)).unwrap_or(u16::MAX);
                let (resume, delivered) = self.resume;
                let join = Message::Join {
                    cookie,
                    nonce,
                    window,
                    resume,
                    delivered,
                    name: name.as_name(),
                };
                self.emit(buf, &join)
            }
            Phase::Joined { token } => self.session_transmit(now, token, buf),
        };
        if transmit.is_some() {
            self.last_sent = now;
        }
        transmit
    }

    /// When [`Client::handle_timeout`] should run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let give_up = self.outbox.front().map(|entry| entry.queued_at + self.config.give_up);
        let requests = [
            self.who.map(|(r, _)| r.next_at),
            self.echo.as_ref().map(|(r, ..)| r.next_at),
            self.ping.map(|r| r.next_at),
        ];
        let session = match self.phase {
            Phase::Closed => return None,
            Phase::Joining { .. } => [Some(self.join_at), None, None, None],
            Phase::Joined { .. } => [
                self.retransmission.at(),
                self.ack_at,
                // Once a ping is out, its own resend time counts, not the keep-alive:
                // a keep-alive already past would otherwise stay due forever.
                self.ping.is_none().then(|| self.last_sent + self.keepalive),
                Some(self.last_heard + self.dead_after()),
            ],
        };
        session.into_iter().chain(requests).chain([give_up]).flatten().min()
    }

    /// Runs the timers: retransmission, giving up, noticing a silent server.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        if self.outbox.front().is_some_and(|entry| entry.queued_at + self.config.give_up <= now) {
            // The oldest message waited too long: the server is not taking anything.
            // Everything queued is reported as not delivered; a fresh session starts
            // whenever the application sends again.
            let mut failed: heapless::Vec<MessageId, Q> = heapless::Vec::new();
            self.outbox.fail_all(|entry| {
                let _ = failed.push(entry.id);
            });
            for id in failed {
                self.push_event(ClientEvent::Failed { id });
            }
            self.retransmission.stop();
            if self.is_joined() {
                self.lose_session(now, ClientEvent::ServerLost);
            }
        }
        self.expire_requests(now);
        if let Phase::Joined { .. } = self.phase {
            if self.ack_at.is_some_and(|at| at <= now) {
                self.ack_due = true;
                self.ack_at = None;
            }
            if self.retransmission.expired(now) {
                self.resend_all();
                self.stats.retransmits += 1;
            }
            if now.saturating_since(self.last_heard) >= self.dead_after() {
                self.lose_session(now, ClientEvent::ServerLost);
            }
        }
    }

    fn session_transmit(&mut self, now: Instant, token: Token, buf: &mut [u8]) -> Option<Transmit> {
        if let Some(nonce) = self.challenge_reply.take() {
            return self.emit(buf, &Message::ChallengeResponse { token, nonce });
        }
        if self.ack_due {
            self.ack_due = false;
            self.unacked = 0;
            self.ack_at = None;
            return self.emit(buf, &Message::Ack { token, seq: self.delivered, sack: self.sack() });
        }
        if let Some(entry) = self.outbox.next_to_send() {
            let (seq, first) = (entry.seq, entry.transmissions == 1);
            let message = match &entry.what {
                Outgoing::Say(text) => Message::Say { token, seq, text },
                Outgoing::Tell(to, text) => Message::Tell { token, seq, to: to.as_name(), text },
                Outgoing::Leave => Message::Leave { token, seq },
            };
            let transmit = emit(buf, self.config.server, &message);
            self.retransmission.on_send(seq, first, now);
            return transmit;
        }
        let rto_max = self.config.rto_max;
        if let Some((request, start)) = self.who.as_mut().filter(|(r, _)| r.next_at <= now) {
            let (req, start) = (request.req, *start);
            request.resend_later(now, rto_max);
            return self.emit(buf, &Message::Who { token, req, start });
        }
        if let Some((request, mode, text)) = self.echo.as_mut().filter(|(r, ..)| r.next_at <= now) {
            request.resend_later(now, rto_max);
            let message = Message::Echo { token, req: request.req, mode: *mode, text };
            return emit(buf, self.config.server, &message);
        }
        let ping_due = match &self.ping {
            Some(request) => request.next_at <= now,
            None => now.saturating_since(self.last_sent) >= self.keepalive,
        };
        if ping_due {
            let mut request = match self.ping {
                Some(request) => request,
                None => self.new_request(now),
            };
            request.resend_later(now, rto_max);
            self.ping = Some(request);
            return self.emit(buf, &Message::Ping { token, req: request.req });
        }
        None
    }

    fn handle_session(&mut self, now: Instant, message: Message<'_>) {
        match message {
            Message::Deliver { seq, direct, history, from, text, .. } => {
                let Ok(text) = text_buf(text) else { return };
                let delivery = Held { seq, history, from: NameBuf::new(from), text, direct };
                if seq == self.delivered.wrapping_add(1) {
                    if !self.event_room(1) {
                        // No room to hand it over: leave it unacknowledged; it comes again.
                        self.stats.deferred += 1;
                        return;
                    }
                    self.accept(delivery);
                    self.release_held();
                    if self.sack() == 0 {
                        // In order, nothing held: acknowledge with the next few, or soon.
                        self.acknowledge_later(now);
                        return;
                    }
                } else if after(seq, self.delivered) {
                    self.hold(delivery);
                }
                // Early, duplicate, or a gap still open: say at once what we have, so the
                // server resends what is missing.
                self.ack_due = true;
            }
            Message::Missed { seq, .. } => {
                if after(seq, self.delivered) {
                    let span = seq.wrapping_sub(self.delivered);
                    // Only the first B + 1 numbers after the gap can be held: the work is
                    // bounded by what the client holds, never by the number a peer sent.
                    let reach = span.min(u32::try_from(B).unwrap_or(u32::MAX).saturating_add(1));
                    let held = (1..=reach)
                        .filter(|i| self.is_held(self.delivered.wrapping_add(*i)))
                        .count();
                    if !self.event_room(held.saturating_add(1)) {
                        self.stats.deferred += 1;
                        return;
                    }
                    // What was lost is reported; what is held is handed over, in order.
                    let count = span.saturating_sub(u32::try_from(held).unwrap_or(span));
                    if count > 0 {
                        self.push_event(ClientEvent::Missed { count });
                    }
                    for _ in 0..reach {
                        let next = self.delivered.wrapping_add(1);
                        match self.take_held(next) {
                            Some(delivery) => self.accept(delivery),
                            None => self.delivered = next,
                        }
                    }
                    self.delivered = seq;
                    self.release_held();
                }
                self.ack_due = true;
            }
            Message::Ack { seq, .. } => self.on_ack(now, seq),
            Message::Error { code, seq, .. } => self.on_error(now, code, seq),
            Message::Users { req, total, start, names, .. } => {
                let Some((request, _)) = self.who.filter(|(r, _)| r.req == req) else { return };
                self.push_event(ClientEvent::Users { total, start, names: UserPage::copy(&names) });
                let next = u32::from(start) + u32::from(names.len());
                self.who = match u16::try_from(next) {
                    // More pages, and this one made progress: ask for the next.
                    Ok(next) if next < total && !names.is_empty() => Some((
                        Request { next_at: now, rto: self.config.rto_initial, ..request },
                        next,
                    )),
                    _ => None,
                };
            }
            Message::EchoReply { req, mode, text, .. } => {
                if self.echo.as_ref().is_some_and(|(r, ..)| r.req == req) {
                    self.echo = None;
                    if let Ok(text) = text_buf(text) {
                        self.push_event(ClientEvent::EchoReply { mode, text });
                    }
                }
            }
            Message::Pong { req, .. } => {
                if self.ping.is_some_and(|r| r.req == req) {
                    self.ping = None;
                }
            }
            Message::Challenge { nonce, .. } => {
                self.challenge_reply = Some(nonce);
                self.challenge_answered = Some(nonce);
            }
            Message::Moved { nonce, seq, digest, .. } => self.on_moved(now, nonce, seq, digest),
            Message::UnknownSession { .. } => {
                if self.outbox.only_leave_sent() {
                    // Our leave arrived and its acknowledgement was lost: we are out.
                    self.close(ClientEvent::Left);
                } else {
                    self.lose_session(now, ClientEvent::SessionLost);
                }
            }
            _ => self.stats.ignored += 1,
        }
    }

    /// One more delivery accepted in order: the acknowledgement goes with every
    /// [`ACK_EVERY`]th, or after the configured delay, whichever comes first — one datagram
    /// for several deliveries.
    fn acknowledge_later(&mut self, now: Instant) {
        self.unacked = self.unacked.saturating_add(1);
        if self.unacked >= ACK_EVERY {
            self.ack_due = true;
        } else if self.ack_at.is_none() {
            self.ack_at = Some(now + self.config.ack_delay);
        }
    }

    /// Whether `n` more events fit, keeping the reserve for reports about our own
    /// messages.
    fn event_room(&self, n: usize) -> bool {
        E.saturating_sub(self.events.len()) > EVENT_RESERVE.saturating_add(n.saturating_sub(1))
    }

    /// Hands a delivery to the application: it is the next in order.
    fn accept(&mut self, delivery: Held) {
        self.delivered = delivery.seq;
        let Held { from, text, direct, history, .. } = delivery;
        self.push_event(ClientEvent::Message { from, text, direct, history });
    }

    /// Hands over held deliveries that are now next in order, while there is room.
    fn release_held(&mut self) {
        while self.event_room(1) {
            let Some(delivery) = self.take_held(self.delivered.wrapping_add(1)) else { return };
            self.accept(delivery);
        }
    }

    /// Keeps an early delivery, if it falls within the `B` numbers after the gap.
    fn hold(&mut self, delivery: Held) {
        let ahead = delivery.seq.wrapping_sub(self.delivered).wrapping_sub(1);
        if usize::try_from(ahead).is_ok_and(|ahead| (1..=B).contains(&ahead))
            && let Some(slot) = Self::slot(delivery.seq).and_then(|i| self.held.get_mut(i))
        {
            *slot = Some(delivery);
        }
    }

    fn is_held(&self, seq: u32) -> bool {
        Self::slot(seq)
            .and_then(|i| self.held.get(i))
            .is_some_and(|held| held.as_ref().is_some_and(|h| h.seq == seq))
    }

    fn take_held(&mut self, seq: u32) -> Option<Held> {
        let slot = self.held.get_mut(Self::slot(seq)?)?;
        if slot.as_ref().is_some_and(|h| h.seq == seq) { slot.take() } else { None }
    }

    fn slot(seq: u32) -> Option<usize> {
        usize::try_from(seq).ok()?.checked_rem(B)
    }

    /// The selective acknowledgement: bit `i` for delivery `delivered + 2 + i`, held.
    fn sack(&self) -> u32 {
        (0..32u32)
            .filter(|i| self.is_held(self.delivered.wrapping_add(2).wrapping_add(*i)))
            .fold(0, |bits, i| bits | 1 << i)
    }

    fn on_ack(&mut self, now: Instant, seq: u32) {
        let mut done: heapless::Vec<Entry, Q> = heapless::Vec::new();
        if !self.outbox.ack(seq, |entry| {
            let _ = done.push(entry);
        }) {
            // Nothing new: the server got something after a gap. Three in a row, and
            // everything unacknowledged goes again at once.
            if self.outbox.awaiting() && self.retransmission.on_duplicate() {
                self.resend_all();
            }
            return;
        }
        self.retransmission.on_progress(seq, now);
        for entry in done {
            if entry.what == Outgoing::Leave {
                self.close(ClientEvent::Left);
                return;
            }
            self.push_event(ClientEvent::Delivered { id: entry.id });
        }
        self.progress(now);
    }

    fn on_error(&mut self, now: Instant, code: ErrorCode, seq: u32) {
        match code {
            ErrorCode::NoSuchUser | ErrorCode::TextTooLong => {
                if let Some(entry) = self.outbox.refuse(seq) {
                    self.push_event(ClientEvent::Rejected { id: entry.id, code });
                    self.progress(now);
                }
            }
            ErrorCode::RateLimited => {
                // Give the bucket time to refill before the resend.
                let later = now + Duration::from_secs(1);
                self.retransmission.defer(later);
                self.push_event(ClientEvent::RateLimited);
            }
            ErrorCode::Kicked => self.close(ClientEvent::Kicked),
            ErrorCode::ShuttingDown => {
                self.lose_session(now, ClientEvent::ServerShutdown);
                self.join_at = now + SHUTDOWN_BACKOFF;
            }
            _ => self.stats.ignored += 1,
        }
    }

    /// The server answered: the timer covers what is still out.
    fn progress(&mut self, now: Instant) {
        self.retransmission.restart(now, self.outbox.awaiting());
    }

    /// Everything unacknowledged goes again, in order.
    fn resend_all(&mut self) {
        self.outbox.rewind();
        self.retransmission.on_resend();
    }

    fn close(&mut self, event: ClientEvent) {
        self.phase = Phase::Closed;
        let mut failed: heapless::Vec<MessageId, Q> = heapless::Vec::new();
        self.outbox.fail_all(|entry| {
            if entry.what != Outgoing::Leave {
                let _ = failed.push(entry.id);
            }
        });
        for id in failed {
            self.push_event(ClientEvent::Failed { id });
        }
        self.who = None;
        self.echo = None;
        self.ping = None;
        self.retransmission.stop();
        self.push_event(event);
    }

    fn expire_requests(&mut self, now: Instant) {
        let give_up = self.config.give_up;
        let expired = |r: &Request| now.saturating_since(r.asked_at) >= give_up;
        if self.who.is_some_and(|(r, _)| expired(&r)) {
            self.who = None;
            self.push_event(ClientEvent::RequestTimedOut { kind: Kind::Who });
        }
        if self.echo.as_ref().is_some_and(|(r, ..)| expired(r)) {
            self.echo = None;
            self.push_event(ClientEvent::RequestTimedOut { kind: Kind::Echo });
        }
    }

    /// Silence from the server for this long means it is gone.
    fn dead_after(&self) -> Duration {
        self.keepalive.times(2) + self.config.rto_max
    }

    fn check_open(&self) -> Result<(), ClientError> {
        if self.is_closed() { Err(ClientError::Closed) } else { Ok(()) }
    }

    fn check_text(&self, text: &str) -> Result<TextBuf, ClientError> {
        let max = usize::from(self.max_text);
        if text.len() > max {
            return Err(ClientError::TextTooLong { len: text.len(), max });
        }
        text_buf(text).map_err(|_| ClientError::TextTooLong { len: text.len(), max })
    }

    fn queue(&mut self, now: Instant, what: Outgoing) -> Result<MessageId, ClientError> {
        self.check_open()?;
        let id = MessageId(self.next_id);
        self.outbox.push(id, what, now)?;
        self.next_id = self.next_id.wrapping_add(1);
        Ok(id)
    }

    fn new_id(&mut self) -> MessageId {
        let id = MessageId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    fn new_request(&mut self, now: Instant) -> Request {
        let req = self.next_req;
        self.next_req = self.next_req.wrapping_add(1);
        Request { req, next_at: now, rto: self.config.rto_initial, asked_at: now }
    }

    fn push_event(&mut self, event: ClientEvent) {
        if self.events.push_back(event).is_err() {
            self.stats.events_dropped += 1;
        }
    }

    fn emit(&self, buf: &mut [u8], message: &Message<'_>) -> Option<Transmit> {
        emit(buf, self.config.server, message)
    }
}

impl Request {
    fn resend_later(&mut self, now: Instant, max: Duration) {
        self.next_at = now + self.rto;
        self.rto = self.rto.doubled(max);
    }
}

impl<const Q: usize, const E: usize, const B: usize> Endpoint for Client<Q, E, B> {
    fn handle(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        _buf: &mut [u8],
    ) -> Option<Transmit> {
        Client::handle(self, now, from, datagram);
        None
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        Client::poll_transmit(self, now, buf)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Client::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) {
        Client::handle_timeout(self, now);
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

fn emit(buf: &mut [u8], to: SocketAddr, message: &Message<'_>) -> Option<Transmit> {
    let len = message.encode(buf).ok()?;
    Some(Transmit { destination: to, len })
}

/// Used by [`Client::tell`]'s callers to check a name before queueing.
pub fn valid_name(name: &str) -> Result<Name<'_>, ClientError> {
    Name::new(name).map_err(ClientError::InvalidName)
}
