//! The chat server as a state machine: datagrams and time in, datagrams and events out.
//!
//! quinn-proto's shape: [`Server::handle`] takes a datagram (and may answer it at once),
//! [`Server::poll_transmit`] yields what else is to be sent (call until `None`),
//! [`Server::poll_timeout`] / [`Server::handle_timeout`] run the timers, and
//! [`Server::poll_event`] reports to the application. No socket, no clock, no allocation:
//! the memory the embedding gives it (`memory.rs`) is all it has.
//!
//! The exchanges are specified in `docs/PROTOCOL.md`, "Exchanges". This file holds the
//! API and the turn (datagram in, transmits out, timers); each concept has its file:
//!
//! - `join.rs`: cookies, the checks a join passes, welcome or refusal, resuming;
//! - `session.rs`: a user's session state, and routing its frames;
//! - `intake.rs`: sequenced messages in (say, tell, leave), in order, into the ring;
//! - `transmit.rs`: what goes to one user next (acks, notices, deliveries);
//! - `timers.rs`: retransmissions and idle expiry, by each user's deadline;
//! - `delivery.rs`: each recipient's delivery cursor; `ring.rs`: recent messages;
//! - `migrate.rs`: address moves; `reply.rs`: immediate answers (errors, user lists);
//! - `operator.rs`: what the operator's console asks (announce, kick, shut down), and
//!   what a bridge brings (other servers' messages); `directory.rs`: their users;
//! - the edge, where frames meet the plain machine (`receive` in, `seal` out):
//!   `secure.rs` (the `secure` feature: encrypted sessions, the handshake and sealed
//!   frames; `handshake_budget.rs`: the handshakes one source host may cause), or
//!   `clear.rs` without it; nothing else knows whether encryption is built;
//! - `memory.rs`: the memory an embedding gives a server (arrays, or allocated once).

// The edge where frames meet the plain machine: `secure.rs` with encryption, `clear.rs`
// without. Each side has one seam: `receive` for frames in, `seal` for frames out.
#[cfg(not(feature = "secure"))]
mod clear;
#[cfg(not(feature = "secure"))]
use clear as edge;
#[cfg(feature = "secure")]
use secure as edge;

mod config;
mod delivery;
mod detail;
mod directory;
mod event;
#[cfg(feature = "secure")]
mod handshake_budget;
#[cfg(feature = "secure")]
mod handshake_responder;
mod intake;
mod join;
mod memory;
mod migrate;
mod operator;
mod reply;
mod ring;
mod secret;
#[cfg(feature = "secure")]
mod secure;
mod session;
mod stats;
mod timers;
mod transmit;

use heapless::Deque;

pub use config::{
    DEFAULT_HANDSHAKES_PER_SEC, DEFAULT_KEEPALIVE, DEFAULT_PER_IP, MAX_IDLE_TIMEOUT, MAX_KEEPALIVE,
    MIN_KEEPALIVE, ServerConfig,
};
pub use delivery::MAX_WINDOW;
pub use directory::{Alone, ClientKey, Directory, KeyRefusal};
pub use event::{LeftReason, RoomMessage, ServerEvent};
pub use memory::{Arrays, ServerMemory, SmallServer, StaticServer, UserSlot};
pub use ring::MessageSlot;
pub use ring::Recipient;
#[cfg(feature = "secure")]
pub use secure::ServerIdentity;
pub use session::Session;
pub use stats::ServerStats;

use crate::address::PeerAddress;
use crate::error::{ServerError, WireError};
use crate::kind_masks::{SERVER_READS, SERVER_READS_FIXED};
use crate::rtt::RttBounds;
use crate::server::join::{DEPARTED, Departed, Join};
use crate::server::migrate::PendingMoves;
use crate::server::ring::Ring;
use crate::server::secret::Secrets;
use crate::table::{IndexEntry, MAX_CAPACITY, SlotId, UserTable};
use crate::time::Instant;
use crate::transport::{Endpoint, Transmit};
use crate::wire::{Frame, Message, Name};

/// How many events may wait for [`Server::poll_event`]. No event is ever dropped: while
/// the queue is full, whatever would make one waits (a join is left unanswered and comes
/// again, an expiry or a kick waits for the next turn).
pub const EVENT_QUEUE: usize = 64;

/// The bytes of names and texts the message ring holds unless the embedding says
/// otherwise: 64 full-length messages, many more short ones. A server whose arena is
/// smaller than the longest message accepts shorter texts (`max_text`, told in the
/// welcome), so every message it accepts fits.
pub const RING_BYTES: usize = 64 * 1024;

/// The chat server, for peers addressed by `A`, in the memory `M` ([`ServerMemory`]):
/// arrays ([`StaticServer`]) or memory the embedding allocated ([`Server::with_memory`]).
#[derive(Debug)]
pub struct Server<A, M: ServerMemory<A>> {
    config: ServerConfig,
    /// The retransmission timeout's bounds from `config`, for every user's cursor.
    rtt: RttBounds,
    table: UserTable<Session, A, M::Users, M::Index>,
    /// Address proofs and `moved` notices in progress (`migrate.rs`).
    moves: PendingMoves<A>,
    ring: Ring<M::Messages, M::Bytes>,
    secrets: Secrets,
    events: Deque<ServerEvent<A>, EVENT_QUEUE>,
    departed: Deque<Departed, DEPARTED>,
    stats: ServerStats,
    /// Where the next round-robin walk of `poll_transmit` starts (a table that scans).
    next_slot: usize,
    /// Something may be ready to send; cleared when a full walk finds nothing (a table
    /// that scans; an indexed one queues the users who may have something).
    work: bool,
    /// A session's closing notice waits for room in the event queue.
    closing_waits: bool,
    /// The session that ends once the frame being sent is on its way (`outgoing`).
    ending: Option<(SlotId, LeftReason)>,
    /// Encrypted sessions: the server's identity, once it has one.
    security: Option<edge::Security>,
}

impl<
    A: PeerAddress,
    const USERS: usize,
    const MESSAGES: usize,
    const BYTES: usize,
    const INDEX: usize,
> StaticServer<USERS, MESSAGES, A, BYTES, INDEX>
{
    /// A server with `config` in arrays. See [`Server::with_memory`].
    pub fn new(config: ServerConfig) -> Result<Self, ServerError> {
        Server::with_memory(
            config,
            [const { None }; USERS],
            [IndexEntry::EMPTY; INDEX],
            [MessageSlot::EMPTY; MESSAGES],
            [0; BYTES],
        )
    }
}

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    /// A server with `config` in the memory given: `users` (all free), `index` (one entry
    /// per user slot, or none to scan), the ring's `messages` and its `bytes`. The capacity
    /// is the user slots if it is `usize::MAX` (the default), and refused if it is larger
    /// than they are. The memory bounds two settings (see [`Server::config`] for the values
    /// in force): the longest text comes down to what the ring's arena holds beside two
    /// names, the delivery window to the messages the ring keeps.
    pub fn with_memory(
        mut config: ServerConfig,
        users: M::Users,
        index: M::Index,
        messages: M::Messages,
        bytes: M::Bytes,
    ) -> Result<Self, ServerError> {
        let slots = users.as_ref().len().min(MAX_CAPACITY);
        if config.capacity == usize::MAX {
            config.capacity = slots;
        }
        if config.capacity > slots {
            return Err(ServerError::CapacityTooLarge { asked: config.capacity, max: slots });
        }
        let ring = Ring::with_storage(messages, bytes);
        // The longest message must fit the ring's arena (its sender's and recipient's
        // names and its text): a small arena means shorter texts, told in the welcome.
        let arena_text = ring.arena_len().saturating_sub(2 * crate::wire::limits::MAX_NAME);
        config.max_text = config.max_text.min(u16::try_from(arena_text).unwrap_or(u16::MAX));
        // No more deliveries in flight than the ring keeps messages.
        let kept = u32::try_from(ring.slot_count()).unwrap_or(u32::MAX);
        config.window = config.window.min(kept.max(1));
        let secrets = Secrets::new(config.secret, config.boot);
        Ok(Server {
            rtt: RttBounds::new(config.rto_initial, config.rto_min, config.rto_max),
            table: UserTable::with_storage(users, index, config.capacity, || secrets.table_key()),
            ring,
            moves: PendingMoves::new(),
            secrets,
            events: Deque::new(),
            departed: Deque::new(),
            stats: ServerStats::default(),
            next_slot: 0,
            work: false,
            closing_waits: false,
            ending: None,
            security: None,
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
    pub fn users(&self) -> impl Iterator<Item = (Name<'_>, A)> + '_ {
        self.table.iter().map(|(_, user)| (user.name.as_name(), user.addr))
    }

    /// The connected users' names and addresses, each with the client key its handshake
    /// proved (`None`: a session without one). An embedding that keeps records of keys
    /// reads who holds a name here, to record an owner or to end the sessions of a key it
    /// no longer admits ([`Server::kick`]).
    pub fn users_with_keys(&self) -> impl Iterator<Item = (Name<'_>, A, Option<&ClientKey>)> + '_ {
        self.table
            .iter()
            .map(|(_, user)| (user.name.as_name(), user.addr, edge::client_key(&user.state.keys)))
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
            from: entry.from,
            to: entry.to,
            to_name: entry.to_name,
            text: entry.text,
        })
    }

    /// How many events wait for [`Server::poll_event`]. A loop that takes many datagrams
    /// in one go takes the events before the queue fills ([`EVENT_QUEUE`]): a join that
    /// finds no room for its event is left unanswered until its client sends it again.
    pub fn events_waiting(&self) -> usize {
        self.events.len()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ServerEvent<A>> {
        let event = self.events.pop_front()?;
        // A kick or shutdown notice may have waited for room in the queue.
        self.work = true;
        if self.table.indexed() && self.closing_waits {
            self.closing_waits = false;
            self.wake_closing();
        }
        Some(event)
    }

    /// Takes one received datagram; may write an immediate answer into `buf` (an ack, a
    /// cookie, a welcome, a pong, ...). Deliveries to others come from
    /// [`Server::poll_transmit`]. Datagrams that are not frames are ignored (counted).
    pub fn handle(
        &mut self,
        now: Instant,
        from: A,
        datagram: &[u8],
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        self.handle_with(now, from, datagram, buf, &Alone)
    }

    /// [`Server::handle`] for a server that shares its room with others (a bridge's):
    /// `directory` holds their users, whose names are taken here too, to whom a `tell` is
    /// accepted as [`Recipient::Elsewhere`], and whom `who` lists after this server's own.
    pub fn handle_with<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        from: A,
        datagram: &[u8],
        buf: &mut [u8],
        directory: &D,
    ) -> Option<Transmit<A>> {
        self.stats.datagrams += 1;
        let frame = match Frame::new_checked(datagram) {
            Ok(frame) => frame,
            Err(WireError::NotAFrame) => {
                self.stats.not_frames += 1;
                return None;
            }
            Err(error) => return self.malformed(now, from, None, error, datagram.len(), buf),
        };
        // Only what clients send: the readers of the server's own kinds are not in it.
        let parsed = if A::ROAMS {
            Message::parse_only::<SERVER_READS, _>(&frame)
        } else {
            Message::parse_only::<SERVER_READS_FIXED, _>(&frame)
        };
        let message = match parsed {
            Ok(message) => message,
            Err(WireError::UnexpectedKind(_)) => {
                // A kind only servers send: nothing a client would do, so no answer.
                self.stats.unexpected += 1;
                return None;
            }
            Err(error) => {
                return self.malformed(now, from, frame.token(), error, datagram.len(), buf);
            }
        };
        // The edge: encryption's own frames are handled there, a sealed one is opened,
        // and what is left is the plain machine's.
        let mut opened = edge::room_to_open();
        let (message, frame) =
            match self.receive(now, from, message, datagram, &mut opened, buf, directory) {
                Ok(plain) => plain,
                Err(answer) => return answer,
            };
        let reply = match message {
            Message::Join { .. } => {
                let join = Join::from_message(message, false, None)?;
                return self.on_join(now, from, join, buf, directory);
            }
            Message::ChallengeResponse { token, nonce } if A::ROAMS => {
                self.on_challenge_response(now, from, token, nonce, buf)
            }
            _ => {
                let token = message.token()?;
                self.on_session_frame(now, from, token, message, frame, buf, directory)
            }
        };
        self.outgoing(reply, buf)
    }

    /// Every frame of a session goes out through here: sealed at the edge if the session
    /// is encrypted. A session that ends with this frame (a leave's acknowledgement, a
    /// kick's notice) ends once the frame is on its way.
    pub(super) fn outgoing(
        &mut self,
        transmit: Option<Transmit<A>>,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let transmit = self.seal(transmit, buf);
        if let Some((slot, reason)) = self.ending.take() {
            self.end_session(slot, reason);
        }
        transmit
    }

    /// The next datagram to send (deliveries, resends, notices), written into `buf`. Call
    /// until `None`.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit<A>> {
        if self.table.indexed() {
            // Only users queued as having work, each sending one frame per turn.
            for _ in 0..=self.table.len() {
                let slot = self.table.pop_ready()?;
                if let Some(transmit) = self.transmit_for(now, slot, buf) {
                    self.table.mark_ready(slot);
                    self.schedule(slot);
                    return Some(transmit);
                }
            }
            return None;
        }
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

    /// `slot`'s user may have something to send.
    pub(super) fn wake(&mut self, slot: SlotId) {
        self.work = true;
        self.table.mark_ready(slot);
    }

    /// Every user may have something to send.
    pub(super) fn wake_all(&mut self) {
        self.work = true;
        self.table.mark_all_ready();
    }

    /// The users whose closing notice waited.
    fn wake_closing(&mut self) {
        for i in 0..self.table.capacity() {
            if let Some(slot) = self.table.slot_at(i)
                && self.table.get(slot).is_some_and(|user| user.state.closing.is_some())
            {
                self.table.mark_ready(slot);
            }
        }
    }

    fn end_session(&mut self, slot: SlotId, reason: LeftReason) {
        if matches!(reason, LeftReason::TimedOut | LeftReason::Replaced) {
            self.remember_departed(slot);
        }
        if let Some(user) = self.table.remove(slot) {
            if A::ROAMS {
                self.moves.forget(user.token);
            }
            self.push_event(ServerEvent::Left { name: user.name, addr: user.addr, reason });
        }
    }

    fn has_event_room(&self, n: usize) -> bool {
        EVENT_QUEUE - self.events.len() >= n
    }

    fn push_event(&mut self, event: ServerEvent<A>) {
        if self.events.push_back(event).is_err() {
            self.stats.events_dropped += 1;
        }
    }
}

impl<A: PeerAddress, M: ServerMemory<A>> Endpoint for Server<A, M> {
    type Addr = A;

    fn handle(
        &mut self,
        now: Instant,
        from: A,
        datagram: &[u8],
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        Server::handle(self, now, from, datagram, buf)
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit<A>> {
        Server::poll_transmit(self, now, buf)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Server::poll_timeout(self)
    }

    fn handle_timeout(&mut self, now: Instant) {
        Server::handle_timeout(self, now);
    }
}
