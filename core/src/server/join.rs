//! Joining: the stateless cookie, the checks a join must pass (name policy, per-IP limit,
//! the operator's name, a free slot), the welcome or the refusal, and where a re-joining
//! client's deliveries resume.

use crate::address::PeerAddress;
use crate::error::NameError;
use crate::rate::RateLimiter;
use crate::rtt::RttEstimator;
use crate::server::ServerMemory;
use crate::server::delivery::{DeliveryCursor, MAX_WINDOW};
use crate::server::detail::Detail;
#[cfg(feature = "client-keys")]
use crate::server::directory::KeyRefusal;
use crate::server::directory::{ClientKey, Directory};
use crate::server::ring::Member;
use crate::server::session::{Session, nonce_tag};
use crate::server::{LeftReason, Server, ServerEvent};
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::limits::text_in_frame;
use crate::wire::{Cookie, ErrorCode, Message, Name, NameBuf, Token};

/// Sessions that ended by expiry or replacement, remembered so that their clients can
/// resume: a re-join naming one gets what it has not handed over yet, nothing twice.
pub(super) const DEPARTED: usize = 8;

/// Where a session that ended had got to, for its client's re-join.
#[derive(Debug, Clone, Copy)]
pub(super) struct Departed {
    pub(super) member: Member,
    /// The session's delivery cursor was done up to this delivery number and room seq.
    pub(super) done: (u32, u64),
}

/// A join's fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Join<'a> {
    pub(super) cookie: Cookie,
    pub(super) nonce: u64,
    pub(super) window: u16,
    pub(super) resume: Token,
    pub(super) delivered: u32,
    pub(super) name: Name<'a>,
    pub(super) max_frame: u16,
    /// It came in a `hello`: the session is encrypted, and its frames grow when sealed.
    pub(super) sealed: bool,
    /// The client's key, if it came in a `hello-key` (whose handshake proved it). Only with
    /// `client-keys`: 33 bytes every copy of a join would carry for nothing without.
    #[cfg(feature = "client-keys")]
    pub(super) key: Option<ClientKey>,
}

impl<'a> Join<'a> {
    /// The join in `message` (a `join` frame), come in the clear or, `sealed`, in a hello
    /// (whose handshake proved `key`, if a `hello-key`'s); `None` for another kind.
    pub(super) fn from_message(
        message: Message<'a>,
        sealed: bool,
        key: Option<ClientKey>,
    ) -> Option<Join<'a>> {
        let Message::Join { cookie, nonce, window, resume, delivered, name, max_frame } = message
        else {
            return None;
        };
        #[cfg(not(feature = "client-keys"))]
        let _ = key; // always None: no hello-key is read without client keys
        Some(Join {
            cookie,
            nonce,
            window,
            resume,
            delivered,
            name,
            max_frame,
            sealed,
            #[cfg(feature = "client-keys")]
            key,
        })
    }
}

/// What a join comes to. The join's checks decide it; one writer ([`Server::answer_join`])
/// turns it into the frame, in the clear or inside a hello's `answer` (`secure.rs`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Admission {
    /// The address must prove it receives here first: this cookie goes back.
    Cookie(Cookie),
    /// A session: a new one, or the one this very join made before (its welcome was lost).
    Welcomed(Token),
    /// No session, for this reason.
    Refused(Refusal),
    /// No answer: the client's resend tries again (the event queue is full, or a token
    /// collided).
    Unanswered,
}

/// Why a join is refused; each says its code and its sentence.
#[derive(Debug, Clone, Copy)]
pub(super) enum Refusal {
    /// The name breaks the name policy.
    InvalidName(NameError),
    /// The server takes encrypted sessions only.
    EncryptionRequired,
    /// The client's host has as many sessions as `per_ip` allows.
    TooManyFromAddress,
    /// Someone (here, the operator, or a user of a server sharing the room) has the name.
    NameTaken,
    /// Every slot is taken.
    ServerFull,
    /// The directory's records keep the name from the join's key (or from a join
    /// without one). Feature `client-keys`: without it no session has a key, and the
    /// directory is not asked.
    #[cfg(feature = "client-keys")]
    Key(KeyRefusal),
}

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    pub(super) fn on_join<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        from: A,
        join: Join<'_>,
        buf: &mut [u8],
        directory: &D,
    ) -> Option<Transmit<A>> {
        let admission = self.admit(now, from, join, directory, false);
        self.answer_join(from, join, admission, buf)
    }

    /// Whether `cookie` was minted for `from` and is still valid; if not, `Err` with a
    /// fresh one for the client. Stateless: nothing is stored until the client proves it
    /// receives here, and the cookie frame (27 bytes) is smaller than any join (43 or
    /// more) or hello (118 or more).
    pub(super) fn check_cookie(
        &mut self,
        now: Instant,
        from: A,
        cookie: Cookie,
    ) -> Result<(), Cookie> {
        let lifetime = self.config.cookie_lifetime;
        if !cookie.is_empty() && self.secrets.cookie_valid(from, &cookie, now, lifetime) {
            return Ok(());
        }
        self.stats.cookies += 1;
        Err(self.secrets.mint_cookie(from, now))
    }

    /// A join's checks, and what they come to. `verified`: the join came in a hello whose
    /// cookie was checked already (`secure.rs`).
    pub(super) fn admit<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        from: A,
        join: Join<'_>,
        directory: &D,
        verified: bool,
    ) -> Admission {
        let Join { cookie, nonce, name, .. } = join;
        if let Some(slot) = self.table.by_addr(from)
            && let Some(user) = self.table.get(slot)
        {
            // (A plain join never gets an encrypted session's welcome in the clear.)
            let same_kind = verified || !user.state.is_sealed();
            if user.name.as_name().same_user(&name)
                && user.state.join_nonce == nonce_tag(nonce)
                && same_kind
            {
                // A resend of the join that made this session (its welcome was lost): the
                // same answer again.
                let token = user.token;
                self.table.touch(slot, now);
                return Admission::Welcomed(token);
            }
        }
        if !verified && let Err(cookie) = self.check_cookie(now, from, cookie) {
            return Admission::Cookie(cookie);
        }
        if !verified && self.requires_encryption() {
            // Only now, to an address that proved itself: the refusal is longer than
            // the join (PROTOCOL.md section 10, "Amplification").
            self.stats.refused_plaintext += 1;
            return Admission::Refused(Refusal::EncryptionRequired);
        }
        if !self.has_event_room(2) {
            // Joined (and Replaced) must be reported; the client's resend finds room.
            self.stats.events_waited += 1;
            return Admission::Unanswered;
        }
        if let Some(slot) = self.table.by_addr(from) {
            // A new attempt from an address with a session: the client lost its state, so
            // the old session ends and a fresh one starts.
            self.end_session(slot, LeftReason::Replaced);
        }
        self.start_session(now, from, join, directory)
    }

    /// A join from an address that proved itself, and that is no resend: the checks of its
    /// name and host, then a new session, or a refusal.
    fn start_session<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        from: A,
        join: Join<'_>,
        directory: &D,
    ) -> Admission {
        let name = join.name;
        if let Err(reason) = crate::name_policy::check(name.as_str()) {
            self.stats.refused_name += 1;
            return Admission::Refused(Refusal::InvalidName(reason));
        }
        let per_ip = usize::from(self.config.per_ip);
        if per_ip > 0 && self.table.count_same_host(from) >= per_ip {
            self.stats.refused_per_ip += 1;
            return Admission::Refused(Refusal::TooManyFromAddress);
        }
        if self.config.operator.as_name().same_user(&name) || directory.holds(name.key()) {
            self.stats.refused_name += 1;
            return Admission::Refused(Refusal::NameTaken);
        }
        // Before the slot: a key kept out costs the server nothing.
        #[cfg(feature = "client-keys")]
        if let Err(refusal) = directory.admits(name, join.key.as_ref()) {
            self.stats.refused_key += 1;
            return Admission::Refused(Refusal::Key(refusal));
        }
        #[cfg(feature = "client-keys")]
        if !self.replace_same_key(join) {
            self.stats.events_waited += 1;
            return Admission::Unanswered;
        }
        // A 64-bit token repeats only by chance; should it, draw again.
        let mut token = self.secrets.mint_token();
        for _ in 0..4 {
            if self.table.by_token(token).is_none() {
                break;
            }
            token = self.secrets.mint_token();
        }
        let session = self.new_session(now, join);
        match self.table.insert(from, token, name, now, session) {
            Ok(slot) => {
                self.stats.joins += 1;
                self.wake(slot); // history, if any
                self.schedule(slot); // the end of its allowed silence
                self.push_event(ServerEvent::Joined { name: NameBuf::new(name), addr: from });
                Admission::Welcomed(token)
            }
            Err((crate::error::TableError::Full { .. }, _)) => {
                self.stats.refused_full += 1;
                Admission::Refused(Refusal::ServerFull)
            }
            Err((crate::error::TableError::NameTaken, _)) => {
                self.stats.refused_name += 1;
                Admission::Refused(Refusal::NameTaken)
            }
            // A token drawn five times over, or an address taken meanwhile: not this
            // client's fault, and nothing it could fix by another name. No answer; its
            // resend tries again.
            Err(_) => Admission::Unanswered,
        }
    }

    /// A join that proved the key of the session holding its name (the same user, back
    /// from another address: a client that restarted elsewhere) takes the name over: the
    /// old session ends, as one from the same address would. `false` when the event queue
    /// has no room to say so (the client's resend tries again).
    #[cfg(feature = "client-keys")]
    fn replace_same_key(&mut self, join: Join<'_>) -> bool {
        let Some(key) = join.key else { return true };
        let Some(held) = self.table.by_key(join.name.key()) else { return true };
        let same = self
            .table
            .get(held)
            .is_some_and(|user| crate::server::edge::client_key(&user.state.keys) == Some(&key));
        if !same {
            return true;
        }
        if !self.has_event_room(2) {
            return false;
        }
        self.end_session(held, LeftReason::Replaced);
        true
    }

    /// The state of a new session for `join`: where its deliveries start. A client
    /// resuming a session that expired gets exactly what it has not handed over; anyone
    /// else the last `history` entries — marked as history for a newcomer, but not for a
    /// client that was in the chat before (after a server restart, say): to it they are
    /// what it missed.
    fn new_session(&mut self, now: Instant, join: Join<'_>) -> Session {
        let oldest = self.ring.oldest() - 1;
        let (start, history_until) = match self.resume_point(join) {
            Some(resume) => (resume.max(oldest), 0),
            None => {
                let recent = self.ring.newest().saturating_sub(u64::from(self.config.history));
                let history_until = if join.resume.is_none() { self.ring.newest() } else { 0 };
                (recent.max(oldest), history_until)
            }
        };
        Session {
            join_nonce: nonce_tag(join.nonce),
            // At most `MAX_WINDOW` (the configuration's bound): 8 bits hold it.
            window: u8::try_from(self.config.window.min(u32::from(join.window)).max(1))
                .unwrap_or(u8::MAX),
            max_frame: join.max_frame,
            expected: self.config.first_seq(),
            last_reject: None,
            last_reject_low: 0,
            cursor: DeliveryCursor::new(
                start,
                history_until,
                self.config.first_seq(),
                RttEstimator::new(&self.rtt),
            ),
            rate: RateLimiter::new(self.config.burst, now),
            closing: None,
            ack_due: false,
            last_digest: 0,
            keys: None,
        }
    }

    /// The frame that answers `join` from `to`: the one writer of every admission.
    pub(super) fn answer_join(
        &self,
        to: A,
        join: Join<'_>,
        admission: Admission,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let Join { nonce, name, .. } = join;
        let mut detail = Detail::new();
        let message = match admission {
            Admission::Cookie(cookie) => Message::Cookie { cookie, nonce },
            Admission::Welcomed(token) => Message::Welcome {
                token,
                nonce,
                keepalive_ms: self.config.keepalive_ms(),
                max_text: self.max_text_for(join),
                rate_per_sec: self.config.rate_per_sec,
                name,
            },
            Admission::Refused(refusal) => {
                let code = self.refusal_sentence(refusal, name, &mut detail);
                Message::Refused { nonce, code, detail: detail.as_str() }
            }
            Admission::Unanswered => return None,
        };
        Transmit::to_client(buf, to, &message)
    }

    /// The longest text `join`'s client may send and be delivered: the server's limit,
    /// or less if its frames are smaller.
    fn max_text_for(&self, join: Join<'_>) -> u16 {
        let fits = text_in_frame(usize::from(join.max_frame), join.sealed);
        self.config.max_text.min(u16::try_from(fits).unwrap_or(u16::MAX))
    }

    /// Writes why `name` is refused into `detail`; returns the refusal's code.
    fn refusal_sentence(&self, refusal: Refusal, name: Name<'_>, detail: &mut Detail) -> ErrorCode {
        match refusal {
            Refusal::InvalidName(reason) => {
                reason.write_sentence(&mut |piece| detail.push(piece));
                ErrorCode::InvalidName
            }
            Refusal::NameTaken => {
                detail.push("the name ");
                detail.push(name.as_str());
                detail.push(" is taken");
                ErrorCode::NameTaken
            }
            Refusal::EncryptionRequired => {
                detail.push(ErrorCode::EncryptionRequired.describe());
                ErrorCode::EncryptionRequired
            }
            Refusal::TooManyFromAddress => {
                detail.push(ErrorCode::TooManyFromAddress.describe());
                detail.push(" (at most ");
                detail.push_u32(u32::from(self.config.per_ip));
                detail.push(" from one IP address)");
                ErrorCode::TooManyFromAddress
            }
            #[cfg(feature = "client-keys")]
            Refusal::Key(KeyRefusal::NameOwned) => {
                detail.push("the name ");
                detail.push(name.as_str());
                detail.push(" belongs to another key");
                ErrorCode::NameOwned
            }
            #[cfg(feature = "client-keys")]
            Refusal::Key(KeyRefusal::NotAuthorized) => {
                detail.push(ErrorCode::KeyNotAuthorized.describe());
                ErrorCode::KeyNotAuthorized
            }
            #[cfg(feature = "client-keys")]
            Refusal::Key(KeyRefusal::Banned) => {
                detail.push(ErrorCode::KeyBanned.describe());
                ErrorCode::KeyBanned
            }
            Refusal::ServerFull => {
                detail.push(ErrorCode::ServerFull.describe());
                detail.push(" (");
                detail.push_u32(u32::try_from(self.config.capacity).unwrap_or(u32::MAX));
                detail.push(" users)");
                ErrorCode::ServerFull
            }
        }
    }

    /// Where a re-join that names its old session starts: after the last delivery its
    /// client handed over. `None` for a fresh join, or a session not remembered.
    pub(super) fn resume_point(&mut self, join: Join<'_>) -> Option<u64> {
        if join.resume.is_none() {
            return None;
        }
        let key = join.name.key();
        let at = self
            .departed
            .iter()
            .position(|d| d.member.token == join.resume && d.member.key == key)?;
        let departed = *self.departed.iter().nth(at)?;
        let (done_seq, done_room) = departed.done;
        // The client handed over `delivered`; the cursor was sure up to `done_seq`. Walk
        // the ring over the deliveries in between (at most a window's worth).
        let mut ahead = join.delivered.wrapping_sub(done_seq);
        if ahead > MAX_WINDOW {
            ahead = 0; // behind what was done (evicted since), or nonsense
        }
        let mut room = done_room;
        while ahead > 0 && room < self.ring.newest() {
            room += 1;
            if self.ring.get(room).is_some_and(|entry| entry.is_for(departed.member)) {
                ahead -= 1;
            }
        }
        Some(room)
    }

    /// Remembers where the session in `slot` had got to, for its client's re-join.
    pub(super) fn remember_departed(&mut self, slot: crate::table::SlotId) {
        let Some(user) = self.table.get(slot) else { return };
        let member = Member { token: user.token, key: user.key };
        let departed = Departed { member, done: user.state.cursor.done(&self.ring) };
        if self.departed.is_full() {
            self.departed.pop_front();
        }
        let _ = self.departed.push_back(departed);
    }
}
