//! The chat server as a state machine: datagrams and time in, datagrams and events out.
//!
//! quinn-proto's shape: [`Server::handle`] takes a datagram (and may answer it at once),
//! [`Server::poll_transmit`] yields what else is to be sent (call until `None`),
//! [`Server::poll_timeout`] / [`Server::handle_timeout`] run the timers, and
//! [`Server::poll_event`] reports to the application. No socket, no clock, no allocation:
//! `N` user slots and a ring of `R` recent messages are all the memory it has.
//!
//! The exchanges are specified in `docs/PROTOCOL.md`, "Exchanges". Joining (cookies,
//! checks, welcome or refusal, resuming) is in `join.rs`, address moves in `migrate.rs`,
//! each recipient's delivery cursor in `delivery.rs`.

mod config;
mod delivery;
mod detail;
mod event;
mod join;
mod migrate;
mod ring;
mod secret;

use core::fmt::Write as _;
use core::net::SocketAddr;

use heapless::Deque;

pub use config::{DEFAULT_KEEPALIVE, DEFAULT_PER_IP, ServerConfig};
pub use event::{LeftReason, RoomMessage, ServerEvent};
pub use ring::Recipient;

use crate::error::{ErrorCode, ServerError, WireError};
use crate::rate::RateLimiter;
use crate::seq::after;
use crate::server::delivery::{MAX_WINDOW, Next, Outbound};
use crate::server::detail::Detail;
use crate::server::join::{DEPARTED, Departed, Join};
use crate::server::migrate::Challenge;
use crate::server::ring::{Member, Ring};
use crate::server::secret::Secrets;
use crate::table::{SlotId, UserTable};
use crate::time::{Duration, Instant};
use crate::transport::{Endpoint, Transmit};
use crate::wire::limits::{HEADER_LEN, MAX_FRAME, TOKEN_LEN};
use crate::wire::{EchoMode, Frame, Kind, Message, Name, NameBuf, NameList, Token, message_digest};

/// How many events may wait for [`Server::poll_event`]. No event is ever dropped: while
/// the queue is full, whatever would make one waits (a join is left unanswered and comes
/// again, an expiry or a kick waits for the next turn).
pub const EVENT_QUEUE: usize = 64;

/// The length of an `error` frame without its detail.
const ERROR_OVERHEAD: usize = HEADER_LEN + TOKEN_LEN + 1 + 4 + 1;
/// The length of a `challenge` frame.
const CHALLENGE_LEN: usize = HEADER_LEN + TOKEN_LEN + 4;
/// Where the text starts in an `echo` frame: header, token, req, mode, text length.
const ECHO_TEXT_AT: usize = HEADER_LEN + TOKEN_LEN + 4 + 1 + 2;
/// Room for names in a `users` frame: the frame less header, token, req, total, start,
/// count.
const USERS_ROOM: usize = MAX_FRAME - (HEADER_LEN + TOKEN_LEN + 4 + 2 + 2 + 1);

/// Counters, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Datagrams handled.
    pub datagrams: u64,
    /// Datagrams that were not frames (legacy text, left to the embedding).
    pub not_frames: u64,
    /// Frames that could not be parsed.
    pub malformed: u64,
    /// Frames whose token did not match their address's session: dropped, no reply.
    pub bad_token: u64,
    /// Frames from addresses with no session, answered `unknown-session`.
    pub unknown_session: u64,
    /// Frames of kinds a server never receives.
    pub unexpected: u64,
    /// Cookies sent (first-step joins answered).
    pub cookies: u64,
    /// Users admitted.
    pub joins: u64,
    /// Joins refused because the table was full.
    pub refused_full: u64,
    /// Joins refused because the name was taken.
    pub refused_name: u64,
    /// Joins refused because their source IP address held `per_ip` sessions already.
    pub refused_per_ip: u64,
    /// Things that waited because the event queue was full (see [`EVENT_QUEUE`]).
    pub events_waited: u64,
    /// Messages accepted into the ring.
    pub messages: u64,
    /// `deliver` frames sent (retransmissions included).
    pub deliveries: u64,
    /// Retransmission timeouts that rewound a cursor.
    pub retransmits: u64,
    /// `missed` frames sent.
    pub missed_notices: u64,
    /// Messages refused for the rate limit.
    pub rate_limited: u64,
    /// Address challenges sent.
    pub challenges: u64,
    /// Sessions moved to a new address.
    pub migrations: u64,
    /// Events dropped. Stays 0: whatever would raise an event waits for room instead.
    pub events_dropped: u64,
}

/// The server's per-user state, kept in the table slot.
#[derive(Debug, Clone)]
struct Session {
    /// The nonce of the join that made this session: a join with it again is a resend.
    join_nonce: u64,
    /// The most deliveries outstanding: the server's window or the client's, the smaller.
    window: u32,
    /// The client sequence number expected next.
    expected: u32,
    /// The last message refused, to answer its retransmissions the same way.
    last_reject: Option<(u32, ErrorCode)>,
    outbound: Outbound,
    rate: RateLimiter,
    challenge: Option<Challenge>,
    /// When the user was last told its frame was malformed (at most once a second).
    malformed_reported_at: Option<Instant>,
    /// An error to send before the session ends (kicked, shutting down).
    closing: Option<ErrorCode>,
    /// The session moved: tell its old address (with the challenge's nonce), so a client
    /// that did not move itself learns its session was taken and joins again.
    moved_from: Option<(SocketAddr, u32)>,
    /// Messages were accepted and not yet acknowledged: one `ack` covers all of them.
    ack_due: bool,
    /// Ring entries up to this room seq were said before the user joined: history.
    history_until: u64,
    /// The digest of the last sequenced message accepted (`expected - 1`), for `moved`.
    last_digest: u32,
}

/// What a sequenced client message asks for.
#[derive(Debug, Clone, Copy)]
enum Sequenced<'a> {
    Say(&'a str),
    Tell(Name<'a>, &'a str),
    Leave,
}

impl Sequenced<'_> {
    fn digest(self) -> u32 {
        match self {
            Sequenced::Say(text) => message_digest(Kind::Say, None, text),
            Sequenced::Tell(to, text) => message_digest(Kind::Tell, Some(to), text),
            Sequenced::Leave => message_digest(Kind::Leave, None, ""),
        }
    }
}

/// The chat server, with `N` user slots and a ring of `R` messages.
#[derive(Debug)]
pub struct Server<const N: usize, const R: usize> {
    config: ServerConfig,
    table: UserTable<Session, N>,
    ring: Ring<R>,
    secrets: Secrets,
    events: Deque<ServerEvent, EVENT_QUEUE>,
    departed: Deque<Departed, DEPARTED>,
    stats: ServerStats,
    /// Where the next round-robin walk of `poll_transmit` starts.
    next_slot: usize,
    /// Something may be ready to send; cleared when a full walk finds nothing.
    work: bool,
}

impl<const N: usize, const R: usize> Server<N, R> {
    /// A server with `config`. The capacity is clamped to `N` if it is `usize::MAX` (the
    /// default), and refused if it is larger otherwise.
    pub fn new(mut config: ServerConfig) -> Result<Self, ServerError> {
        if config.capacity == usize::MAX {
            config.capacity = N;
        }
        if config.capacity > N {
            return Err(ServerError::CapacityTooLarge { asked: config.capacity, max: N });
        }
        config.max_text = config.max_text.min(crate::wire::limits::MAX_TEXT_U16);
        config.window =
            config.window.clamp(1, u32::try_from(R).unwrap_or(u32::MAX).clamp(1, MAX_WINDOW));
        Ok(Server {
            table: UserTable::new(config.capacity),
            ring: Ring::new(),
            secrets: Secrets::new(config.secret, config.boot),
            events: Deque::new(),
            departed: Deque::new(),
            stats: ServerStats::default(),
            next_slot: 0,
            work: false,
            config,
        })
    }

    /// The settings in force.
    pub const fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The counters.
    pub const fn stats(&self) -> &ServerStats {
        &self.stats
    }

    /// How many users are connected.
    pub const fn user_count(&self) -> usize {
        self.table.len()
    }

    /// The connected users' names and addresses.
    pub fn users(&self) -> impl Iterator<Item = (Name<'_>, SocketAddr)> {
        self.table.iter().map(|(_, user)| (user.name.as_name(), user.addr))
    }

    /// The newest message's room sequence number: 1, 2, 3, … for every message accepted
    /// (0 before the first). An application that shows messages remembers the last number
    /// it showed and reads on with [`Server::message`].
    pub const fn newest_message(&self) -> u64 {
        self.ring.newest()
    }

    /// The oldest message the ring still holds; what came before it can no longer be read.
    pub const fn oldest_message(&self) -> u64 {
        self.ring.oldest()
    }

    /// A message still in the ring, by its room sequence number.
    pub fn message(&self, seq: u64) -> Option<RoomMessage<'_>> {
        let entry = self.ring.get(seq)?;
        Some(RoomMessage {
            seq,
            from: entry.from.as_name(),
            to: entry.to,
            to_name: entry.to_name.as_ref().map(NameBuf::as_name),
            text: &entry.text,
        })
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        let event = self.events.pop_front()?;
        // A kick or shutdown notice may have waited for room in the queue.
        self.work = true;
        Some(event)
    }

    /// The operator says `text`, to the room or to one user; delivered like any message,
    /// from the operator's name.
    pub fn announce(
        &mut self,
        now: Instant,
        text: &str,
        to: Option<Name<'_>>,
    ) -> Result<u64, ServerError> {
        let max = usize::from(self.config.max_text);
        if text.len() > max {
            return Err(ServerError::TextTooLong { len: text.len(), max });
        }
        let (recipient, to_name) = match to {
            None => (Recipient::Room, None),
            Some(name) => {
                let slot = self.table.by_name(name).ok_or(ServerError::NoSuchUser)?;
                let user = self.table.get(slot).ok_or(ServerError::NoSuchUser)?;
                (Recipient::User(user.token), Some(user.name))
            }
        };
        let operator = self.config.operator;
        Ok(self.store(now, operator, recipient, to_name, text))
    }

    /// Removes the user called `name`, telling it so.
    pub fn kick(&mut self, name: Name<'_>) -> Result<(), ServerError> {
        let slot = self.table.by_name(name).ok_or(ServerError::NoSuchUser)?;
        if let Some(user) = self.table.get_mut(slot) {
            user.state.closing = Some(ErrorCode::Kicked);
        }
        self.work = true;
        Ok(())
    }

    /// Tells every user the server is going away, then forgets them. Pump until
    /// [`Server::poll_transmit`] is `None` to send the notices.
    pub fn shutdown(&mut self) {
        for (_, user) in self.table.iter_mut() {
            user.state.closing = Some(ErrorCode::ShuttingDown);
        }
        self.work = true;
    }

    /// Takes one received datagram; may write an immediate answer into `buf` (an ack, a
    /// cookie, a welcome, a pong, ...). Deliveries to others come from
    /// [`Server::poll_transmit`]. Datagrams that are not frames are ignored (counted).
    pub fn handle(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        buf: &mut [u8],
    ) -> Option<Transmit> {
        self.stats.datagrams += 1;
        let frame = match Frame::new_checked(datagram) {
            Ok(frame) => frame,
            Err(WireError::NotAFrame) => {
                self.stats.not_frames += 1;
                return None;
            }
            Err(error) => return self.malformed(now, from, None, error, datagram.len(), buf),
        };
        let message = match Message::parse(&frame) {
            Ok(message) => message,
            Err(error) => {
                return self.malformed(now, from, frame.token(), error, datagram.len(), buf);
            }
        };
        match message {
            Message::Join { cookie, nonce, window, resume, delivered, name } => {
                let join = Join { cookie, nonce, window, resume, delivered, name };
                self.on_join(now, from, join, buf)
            }
            Message::ChallengeResponse { token, nonce } => {
                self.on_challenge_response(now, from, token, nonce, buf)
            }
            _ => {
                let token = message.token()?;
                self.on_session_frame(now, from, token, message, datagram, buf)
            }
        }
    }

    /// The next datagram to send (deliveries, resends, notices), written into `buf`. Call
    /// until `None`.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if !self.work {
            return None;
        }
        let slots = self.table.capacity();
        for k in 0..slots {
            let index = (self.next_slot + k) % slots;
            let Some(slot) = self.table.slot_at(index) else { continue };
            if let Some(transmit) = self.transmit_for(now, slot, buf) {
                self.next_slot = index + 1;
                return Some(transmit);
            }
        }
        self.work = false;
        None
    }

    /// When [`Server::handle_timeout`] should run next: the earliest retransmission or
    /// idle expiry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let idle = self.config.idle_timeout;
        self.table
            .iter()
            .flat_map(|(_, user)| {
                [user.state.outbound.retransmit_at(), Some(user.last_heard + idle)]
            })
            .flatten()
            .min()
    }

    /// Expires silent users and rewinds cursors whose retransmission time has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(slot) = self.table.first_expired(now, self.config.idle_timeout) {
            if !self.has_event_room(1) {
                self.stats.events_waited += 1;
                break; // the rest expire once the application took its events
            }
            self.end_session(slot, LeftReason::TimedOut);
        }
        for (_, user) in self.table.iter_mut() {
            if user.state.outbound.on_timeout(now) {
                self.stats.retransmits += 1;
                self.work = true;
            }
        }
    }

    fn transmit_for(&mut self, now: Instant, slot: SlotId, buf: &mut [u8]) -> Option<Transmit> {
        let user = self.table.get_mut(slot)?;
        let (token, addr) = (user.token, user.addr);
        if user.state.ack_due {
            user.state.ack_due = false;
            let seq = user.state.expected.wrapping_sub(1);
            return emit(buf, addr, &Message::Ack { token, seq, sack: 0 });
        }
        if let Some((old, nonce)) = user.state.moved_from.take() {
            let seq = user.state.expected.wrapping_sub(1);
            let digest = user.state.last_digest;
            return emit(buf, old, &Message::Moved { token, nonce, seq, digest });
        }
        if let Some(code) = user.state.closing {
            if self.events.is_full() {
                self.stats.events_waited += 1;
                return None; // the notice goes once the application took its events
            }
            let transmit =
                emit(buf, addr, &Message::Error { token, code, seq: 0, detail: code.describe() });
            let reason = match code {
                ErrorCode::Kicked => LeftReason::Kicked,
                _ => LeftReason::ServerShutdown,
            };
            self.end_session(slot, reason);
            return transmit;
        }
        if user.state.outbound.on_timeout(now) {
            self.stats.retransmits += 1;
        }
        let window = user.state.window;
        let me = Member { token, key: user.key };
        let history_until = user.state.history_until;
        match user.state.outbound.next(&self.ring, me, window, now)? {
            Next::Missed { seq } => {
                self.stats.missed_notices += 1;
                emit(buf, addr, &Message::Missed { token, seq })
            }
            Next::Deliver { seq, room_seq } => {
                let entry = self.ring.get(room_seq)?;
                self.stats.deliveries += 1;
                let direct = matches!(entry.to, Recipient::User(_));
                let message = Message::Deliver {
                    token,
                    seq,
                    direct,
                    history: room_seq <= history_until,
                    from: entry.from.as_name(),
                    text: &entry.text,
                };
                emit(buf, addr, &message)
            }
        }
    }

    fn on_session_frame(
        &mut self,
        now: Instant,
        from: SocketAddr,
        token: Token,
        message: Message<'_>,
        datagram: &[u8],
        buf: &mut [u8],
    ) -> Option<Transmit> {
        if let Some(slot) = self.table.by_addr(from) {
            if self.table.get(slot)?.token != token {
                // Someone else's token, or a guess: no reply, so nothing to learn from.
                self.stats.bad_token += 1;
                return None;
            }
            self.table.touch(slot, now);
            return self.dispatch(now, slot, message, datagram, buf);
        }
        if !is_client_kind(message.kind()) {
            // A kind only servers send, from an address without a session: nothing a
            // client would do, so no answer at all.
            self.stats.unexpected += 1;
            return None;
        }
        if let Some(slot) = self.table.by_token(token) {
            return self.challenge(now, slot, from, datagram.len(), buf);
        }
        // 11 bytes, never more than the frame that provoked it.
        self.stats.unknown_session += 1;
        emit(buf, from, &Message::UnknownSession { token })
    }

    fn dispatch(
        &mut self,
        now: Instant,
        slot: SlotId,
        message: Message<'_>,
        datagram: &[u8],
        buf: &mut [u8],
    ) -> Option<Transmit> {
        let user = self.table.get_mut(slot)?;
        let (token, addr) = (user.token, user.addr);
        match message {
            Message::Say { seq, text, .. } => {
                self.on_sequenced(now, slot, seq, Sequenced::Say(text), buf)
            }
            Message::Tell { seq, to, text, .. } => {
                self.on_sequenced(now, slot, seq, Sequenced::Tell(to, text), buf)
            }
            Message::Leave { seq, .. } => self.on_sequenced(now, slot, seq, Sequenced::Leave, buf),
            Message::Ack { seq, sack, .. } => {
                let me = Member { token, key: user.key };
                if user.state.outbound.on_ack(seq, sack, &self.ring, me, now) {
                    self.work = true;
                }
                None
            }
            Message::Who { req, start, .. } => self.users_reply(addr, token, req, start, buf),
            Message::Echo { mode, .. } => echo_in_place(datagram, mode, addr, buf),
            Message::Ping { req, .. } => emit(buf, addr, &Message::Pong { token, req }),
            _ => {
                self.stats.unexpected += 1;
                None
            }
        }
    }

    fn on_sequenced(
        &mut self,
        now: Instant,
        slot: SlotId,
        seq: u32,
        what: Sequenced<'_>,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        let (rate, burst, max_text) =
            (self.config.rate_per_sec, self.config.burst, self.config.max_text);
        let user = self.table.get_mut(slot)?;
        let (token, addr, name) = (user.token, user.addr, user.name);
        let session = &mut user.state;
        let expected = session.expected;
        let last_accepted = expected.wrapping_sub(1);
        if seq != expected {
            if after(expected, seq)
                && let Some((rejected, code)) = session.last_reject.filter(|(s, _)| *s == seq)
            {
                return self.reject_reply(addr, token, rejected, code, what, buf);
            }
            // A duplicate, or a gap before it: say what was accepted, so the client resends.
            return emit(buf, addr, &Message::Ack { token, seq: last_accepted, sack: 0 });
        }
        let text = match what {
            Sequenced::Say(text) | Sequenced::Tell(_, text) => Some(text),
            Sequenced::Leave => None,
        };
        if let Some(text) = text {
            if !session.rate.try_take(now, rate, burst) {
                // Not accepted and not acknowledged: the client's resend brings it back.
                self.stats.rate_limited += 1;
                if !session.rate.should_report(now) {
                    return None;
                }
                let mut detail = Detail::new();
                let _ = write!(detail, "slow down: at most {rate} messages a second");
                let message = Message::Error {
                    token,
                    code: ErrorCode::RateLimited,
                    seq,
                    detail: detail.as_str(),
                };
                return emit(buf, addr, &message);
            }
            if text.len() > usize::from(max_text) {
                session.expected = expected.wrapping_add(1);
                session.last_digest = what.digest();
                session.last_reject = Some((seq, ErrorCode::TextTooLong));
                return self.reject_reply(addr, token, seq, ErrorCode::TextTooLong, what, buf);
            }
        }
        match what {
            Sequenced::Say(text) => {
                session.expected = expected.wrapping_add(1);
                session.last_digest = what.digest();
                session.ack_due = true;
                self.store(now, name, Recipient::Room, None, text);
            }
            Sequenced::Tell(to, text) => {
                let recipient = if self.config.operator.as_name().same_user(&to) {
                    Some((Recipient::Operator, self.config.operator))
                } else {
                    let target = self.table.by_name(to).and_then(|s| self.table.get(s));
                    target.map(|t| (Recipient::User(t.token), t.name))
                };
                let session = &mut self.table.get_mut(slot)?.state;
                session.expected = expected.wrapping_add(1);
                session.last_digest = what.digest();
                let Some((recipient, to_name)) = recipient else {
                    session.last_reject = Some((seq, ErrorCode::NoSuchUser));
                    return self.reject_reply(addr, token, seq, ErrorCode::NoSuchUser, what, buf);
                };
                session.ack_due = true;
                self.store(now, name, recipient, Some(to_name), text);
            }
            Sequenced::Leave => {
                if self.events.is_full() {
                    // Not accepted, so not acknowledged: the resend finds room for `Left`.
                    self.stats.events_waited += 1;
                    return None;
                }
                let session = &mut self.table.get_mut(slot)?.state;
                session.expected = expected.wrapping_add(1);
                let ack = emit(buf, addr, &Message::Ack { token, seq, sack: 0 });
                self.end_session(slot, LeftReason::Left);
                return ack;
            }
        }
        // The acknowledgement goes from poll_transmit: after a batch of messages from
        // this sender, one covers them all.
        None
    }

    fn reject_reply(
        &self,
        addr: SocketAddr,
        token: Token,
        seq: u32,
        code: ErrorCode,
        what: Sequenced<'_>,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        let mut detail = Detail::new();
        let _ = match (code, what) {
            (ErrorCode::NoSuchUser, Sequenced::Tell(to, _)) => {
                write!(detail, "no user named {to} is connected")
            }
            (ErrorCode::TextTooLong, _) => {
                write!(detail, "this server accepts at most {} bytes of text", self.config.max_text)
            }
            _ => detail.write_str(code.describe()),
        };
        emit(buf, addr, &Message::Error { token, code, seq, detail: detail.as_str() })
    }

    fn users_reply(
        &self,
        addr: SocketAddr,
        token: Token,
        req: u32,
        start: u16,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        let mut names = [0u8; USERS_ROOM];
        let list = NameList::encode(
            self.table.iter().skip(usize::from(start)).map(|(_, user)| user.name.as_name()),
            &mut names,
        );
        let total = u16::try_from(self.table.len()).unwrap_or(u16::MAX);
        // A start past the end gets an empty page at the end.
        let start = start.min(total);
        emit(buf, addr, &Message::Users { token, req, total, start, names: list })
    }

    fn malformed(
        &mut self,
        now: Instant,
        from: SocketAddr,
        token: Option<Token>,
        error: WireError,
        received: usize,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        self.stats.malformed += 1;
        let code = ErrorCode::from(error);
        let mut detail = Detail::new();
        let _ = write!(detail, "{error}");
        if let Some(slot) = self.table.by_addr(from) {
            let user = self.table.get_mut(slot)?;
            if token.is_some_and(|t| t != user.token) {
                self.stats.bad_token += 1;
                return None;
            }
            let session = &mut user.state;
            if session
                .malformed_reported_at
                .is_some_and(|at| now.saturating_since(at) < Duration::from_secs(1))
            {
                return None;
            }
            session.malformed_reported_at = Some(now);
            let message =
                Message::Error { token: user.token, code, seq: 0, detail: detail.as_str() };
            return emit(buf, from, &message);
        }
        // An unverified source: only a version mismatch is answered, and never with more
        // bytes than it sent.
        if code != ErrorCode::UnsupportedVersion || received < ERROR_OVERHEAD {
            return None;
        }
        let fits = detail.truncated(received - ERROR_OVERHEAD);
        emit(buf, from, &Message::Error { token: Token::NONE, code, seq: 0, detail: fits })
    }

    fn store(
        &mut self,
        now: Instant,
        from: NameBuf,
        to: Recipient,
        to_name: Option<NameBuf>,
        text: &str,
    ) -> u64 {
        let (seq, evicted) =
            self.ring.push(from.as_name(), to, to_name.as_ref().map(NameBuf::as_name), text);
        if let Some(evicted) = evicted {
            for (_, user) in self.table.iter_mut() {
                let me = Member { token: user.token, key: user.key };
                user.state.outbound.on_evict(&evicted, me, now);
            }
        }
        self.stats.messages += 1;
        self.work = true;
        seq
    }

    fn end_session(&mut self, slot: SlotId, reason: LeftReason) {
        if matches!(reason, LeftReason::TimedOut | LeftReason::Replaced) {
            self.remember_departed(slot);
        }
        if let Some(user) = self.table.remove(slot) {
            self.push_event(ServerEvent::Left { name: user.name, addr: user.addr, reason });
        }
    }

    fn has_event_room(&self, n: usize) -> bool {
        EVENT_QUEUE - self.events.len() >= n
    }

    fn push_event(&mut self, event: ServerEvent) {
        if self.events.push_back(event).is_err() {
            self.stats.events_dropped += 1;
        }
    }
}

impl<const N: usize, const R: usize> Endpoint for Server<N, R> {
    fn handle(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
        buf: &mut [u8],
    ) -> Option<Transmit> {
        Server::handle(self, now, from, datagram, buf)
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        Server::poll_transmit(self, now, buf)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Server::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) {
        Server::handle_timeout(self, now);
    }
}

/// Kinds a client sends; only these get an `unknown-session` answer.
fn is_client_kind(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Say | Kind::Tell | Kind::Leave | Kind::Ack | Kind::Who | Kind::Echo | Kind::Ping
    )
}

/// Writes `message` into `buf` as a transmit to `to`; `None` if it does not fit (which a
/// buffer of [`MAX_FRAME`] bytes rules out).
fn emit(buf: &mut [u8], to: SocketAddr, message: &Message<'_>) -> Option<Transmit> {
    let len = message.encode(buf).ok()?;
    Some(Transmit { destination: to, len })
}

/// Answers an echo by copying the frame, flipping its kind and mapping its text in place:
/// the layouts are the same.
fn echo_in_place(
    datagram: &[u8],
    mode: EchoMode,
    to: SocketAddr,
    buf: &mut [u8],
) -> Option<Transmit> {
    let len = datagram.len();
    let out = buf.get_mut(..len)?;
    // Same length by construction; a zip cannot panic either way.
    out.iter_mut().zip(datagram).for_each(|(d, s)| *d = *s);
    *out.get_mut(2)? = Kind::EchoReply.to_byte();
    mode.apply(out.get_mut(ECHO_TEXT_AT..)?);
    Some(Transmit { destination: to, len })
}
