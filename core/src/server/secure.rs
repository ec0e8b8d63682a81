//! Encrypted sessions on the server (the `secure` feature; `docs/PROTOCOL.md`, section 12):
//! the server's edge with encryption (`clear.rs` is the same seam without).
//!
//! A `hello` passes the cookie check a `join` passes, then its Noise handshake message is
//! read with the server's key; the `join` inside goes through the same join path as a
//! plain one, and what it comes to (a welcome or a refusal) goes back sealed in an
//! `answer`. The new session keeps its keys in its slot: every frame to it is sealed on
//! the way out (`seal`), every `sealed` frame from it opened on the way in (`receive`),
//! and a frame in the clear that names it is dropped. The plain machine sees only the
//! frames inside.

use heapless::{Deque, Vec};

use crate::address::PeerAddress;
use crate::kind_masks::{CLIENT_SEALS, SERVER_READS};
use crate::secure::{
    HANDSHAKE_OVERHEAD, IkPattern, KEY_LEN, KeySource, Keypair, Pattern, SEALED_HEADER, seal_frame,
};
use crate::server::directory::{ClientKey, Directory};
use crate::server::handshake_budget::HandshakeBudget;
use crate::server::handshake_responder::Responding;
use crate::server::join::{Admission, Join};
use crate::server::session::nonce_tag;
use crate::server::{Server, ServerMemory};
use crate::table::SlotId;
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::limits::{HEADER_LEN, MAX_FRAME, MAX_NAME, MAX_SEALED_TEXT, TOKEN_LEN};
use crate::wire::{Cookie, Kind, Message, Token};

/// How many answers a server can send again identically (their clients may not have them
/// yet), server-wide.
const ANSWERS_KEPT: usize = 4;

/// The longest `answer` that carries a `welcome`: the header, the nonce, the server's
/// ephemeral key and the tag ([`HANDSHAKE_OVERHEAD`]), and the longest welcome.
const KEPT_ANSWER: usize = HEADER_LEN + 8 + HANDSHAKE_OVERHEAD + WELCOME_MAX;
const WELCOME_MAX: usize = HEADER_LEN + TOKEN_LEN + 8 + 4 + 2 + 2 + 1 + MAX_NAME;

/// Who the server is to its clients.
#[derive(Debug, Clone)]
pub struct ServerIdentity {
    /// Its static key pair: clients pin the public key, or trust it on first use.
    pub keypair: Keypair,
    /// A key shared by a fleet (`NKpsk0`): only its holders can start a session.
    pub psk: Option<[u8; KEY_LEN]>,
    /// Whether plain joins are still taken (sessions in the clear, beside the encrypted
    /// ones). Off: a plain join is refused with `encryption-required`.
    pub plaintext: bool,
}

impl ServerIdentity {
    /// The handshake clients without a key of their own use.
    pub const fn pattern(&self) -> Pattern {
        match self.psk {
            None => Pattern::Nk,
            Some(psk) => Pattern::NkPsk0(psk),
        }
    }

    /// The handshake clients with a key of their own use.
    pub const fn ik_pattern(&self) -> IkPattern {
        match self.psk {
            None => IkPattern::Ik,
            Some(psk) => IkPattern::IkPsk1(psk),
        }
    }
}

/// An encrypted session's keys, and the client's own key if its handshake proved one.
#[derive(Debug, Clone)]
pub(super) struct SealedSession {
    transport: crate::secure::Session,
    client_key: ProvedKey,
}

/// The key a session's handshake proved: with `client-keys`, the client's own if it has
/// one; without, nothing (and no room for it in every slot).
#[cfg(feature = "client-keys")]
type ProvedKey = Option<ClientKey>;
#[cfg(not(feature = "client-keys"))]
type ProvedKey = NoClientKeys;

/// The key a session proved, without `client-keys`: none.
#[cfg(not(feature = "client-keys"))]
#[derive(Debug, Clone, Copy)]
pub(super) struct NoClientKeys;

#[cfg(not(feature = "client-keys"))]
impl NoClientKeys {
    const fn as_ref(&self) -> Option<&ClientKey> {
        None
    }
}

/// A session's keys, once its handshake is done.
pub(super) type SessionKeys = Option<SealedSession>;

/// The client key a session's handshake proved, if any.
pub(super) fn client_key(keys: &SessionKeys) -> Option<&ClientKey> {
    keys.as_ref()?.client_key.as_ref()
}

/// Room to open a sealed frame in.
pub(super) const fn room_to_open() -> [u8; MAX_FRAME] {
    [0; MAX_FRAME]
}

/// A hello's fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hello<'a> {
    cookie: Cookie,
    nonce: u64,
    handshake: &'a [u8],
    /// A `hello-key`: the client proves a key of its own (`IK`).
    keyed: bool,
}

/// The server's side of encryption: its identity, where its ephemeral keys come from, the
/// answers it may have to send again, and how much handshake work each host may cause.
#[derive(Debug)]
pub(super) struct Security {
    identity: ServerIdentity,
    keys: KeySource,
    answers: Deque<KeptAnswer, ANSWERS_KEPT>,
    budget: HandshakeBudget,
}

/// An `answer` that made a session, kept until the session's first sealed frame: a resend
/// of its `hello` (the same bytes) gets it again without any handshake work.
#[derive(Debug)]
struct KeptAnswer {
    token: Token,
    /// The digest of the hello it answered (`Secrets::hello_digest`).
    hello: u64,
    answer: Vec<u8, KEPT_ANSWER>,
}

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    /// Makes the server speak encrypted sessions as `identity`, with ephemeral keys from a
    /// generator seeded with `seed` (32 unpredictable bytes). Texts become shorter (sealing
    /// takes room): `max_text` is at most [`MAX_SEALED_TEXT`] from now on, for everyone.
    pub fn set_identity(&mut self, identity: ServerIdentity, seed: [u8; 32]) {
        let max = u16::try_from(MAX_SEALED_TEXT).unwrap_or(u16::MAX);
        self.config.max_text = self.config.max_text.min(max);
        self.security = Some(Security {
            identity,
            keys: KeySource::new(seed),
            answers: Deque::new(),
            budget: HandshakeBudget::default(),
        });
    }

    /// Mixes more unpredictable bytes into the generator of ephemeral keys.
    pub fn reseed(&mut self, more: &[u8]) {
        if let Some(security) = &mut self.security {
            security.keys.reseed(more);
        }
    }

    /// The server's static public key, once it has an identity.
    pub fn public_key(&self) -> Option<&[u8; KEY_LEN]> {
        self.security.as_ref().map(|s| s.identity.keypair.public())
    }

    /// Whether a plain join is refused (the server speaks encrypted sessions only).
    pub(super) fn requires_encryption(&self) -> bool {
        self.security.as_ref().is_some_and(|s| !s.identity.plaintext)
    }

    /// Frames in: a key request and a hello are encryption's own, a sealed frame is opened
    /// into `opened`, and a frame in the clear that names an encrypted session is dropped
    /// (nothing in the clear speaks for one). `Ok`: the message, and its frame, for the
    /// plain machine; `Err`: handled here, with this answer.
    #[allow(clippy::too_many_arguments)] // the datagram, room to open it, where to answer
    pub(super) fn receive<'f, D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        from: A,
        message: Message<'f>,
        datagram: &'f [u8],
        opened: &'f mut [u8; MAX_FRAME],
        buf: &mut [u8],
        directory: &D,
    ) -> Result<(Message<'f>, &'f [u8]), Option<Transmit<A>>> {
        match message {
            Message::KeyRequest { nonce } => Err(self.on_key_request(from, nonce, buf)),
            Message::Hello { cookie, nonce, handshake } => {
                let hello = Hello { cookie, nonce, handshake, keyed: false };
                Err(self.on_hello(now, from, hello, buf, directory))
            }
            #[cfg(feature = "client-keys")]
            Message::HelloKey { cookie, nonce, handshake } => {
                let hello = Hello { cookie, nonce, handshake, keyed: true };
                Err(self.on_hello(now, from, hello, buf, directory))
            }
            Message::Sealed { token, counter, sealed } => {
                self.open(from, token, counter, sealed, datagram, opened, buf)
            }
            _ if message.token().is_some_and(|token| self.is_sealed_session(token)) => {
                self.stats.plaintext_refused += 1;
                Err(None)
            }
            _ => Ok((message, datagram)),
        }
    }

    /// Whether the session with `token` is encrypted: nothing in the clear may speak
    /// for it.
    fn is_sealed_session(&self, token: Token) -> bool {
        self.table
            .by_token(token)
            .and_then(|slot| self.table.get(slot))
            .is_some_and(|user| user.state.is_sealed())
    }

    /// A client asks for the server's key: the answer is the size of the request.
    fn on_key_request(&mut self, from: A, nonce: u64, buf: &mut [u8]) -> Option<Transmit<A>> {
        let Some(security) = &self.security else {
            self.stats.unexpected += 1;
            return None;
        };
        let key = *security.identity.keypair.public();
        let fleet = security.identity.psk.is_some();
        Transmit::to_client(buf, from, &Message::ServerKey { nonce, fleet, key })
    }

    fn on_hello<D: Directory + ?Sized>(
        &mut self,
        now: Instant,
        from: A,
        hello: Hello<'_>,
        buf: &mut [u8],
        directory: &D,
    ) -> Option<Transmit<A>> {
        let Hello { cookie, nonce, handshake, keyed } = hello;
        if self.security.is_none() {
            self.stats.unexpected += 1;
            return None;
        }
        // As for a join: stateless, and smaller than the hello.
        if let Err(cookie) = self.check_cookie(now, from, cookie) {
            return Transmit::to_client(buf, from, &Message::Cookie { cookie, nonce });
        }
        let digest = self.secrets.hello_digest(nonce, handshake);
        if let Some(resent) = self.repeated_attempt(now, from, nonce, digest, buf).ok()? {
            return Some(resent);
        }
        // Everything past here costs Diffie-Hellman computations: from the host's budget.
        if !self.within_budget(now, from) {
            return None;
        }
        // The handshake is read in place here, and the answer's written here after.
        let mut message = [0u8; MAX_FRAME];
        let copy = message.get_mut(..handshake.len())?;
        copy.iter_mut().zip(handshake).for_each(|(d, s)| *d = *s);
        let identity = &self.security.as_ref()?.identity;
        let Ok((responder, range)) = Responding::read(identity, keyed, copy) else {
            self.stats.sealed_dropped += 1;
            return None;
        };
        let key = responder.client_key().copied();
        let join = self.join_in_hello(cookie, nonce, key, message.get(range)?)?;
        let admission = self.admit(now, from, join, directory, true);
        let welcomed = match admission {
            Admission::Welcomed(token) => Some(token),
            Admission::Refused(_) => None,
            Admission::Cookie(_) | Admission::Unanswered => return None,
        };
        // The welcome or refusal, in the clear in `buf` for the moment.
        let inner = self.answer_join(from, join, admission, buf)?;
        let security = self.security.as_mut()?;
        let ephemeral = security.keys.next_key();
        let payload = buf.get(..inner.len)?;
        let (transport, len) =
            responder.answer(&security.identity, ephemeral, payload, &mut message).ok()?;
        let handshake = message.get(..len)?;
        let answer = Transmit::to_client(buf, from, &Message::Answer { nonce, handshake })?;
        if let Some(token) = welcomed {
            #[cfg(not(feature = "client-keys"))]
            let key = NoClientKeys;
            let session = SealedSession { transport, client_key: key };
            self.seal_session(token, session, digest, buf.get(..answer.len)?)?;
        }
        Some(answer)
    }

    /// Takes one handshake from the budget of `from`'s host; counts a hello over it.
    #[inline(always)] // one caller: a step of on_hello, not a call of its own
    fn within_budget(&mut self, now: Instant, from: A) -> bool {
        let host = self.secrets.host_key(from);
        let (rate, burst) = (self.config.handshakes_per_sec, self.config.handshake_burst);
        let taken =
            self.security.as_mut().is_some_and(|s| s.budget.try_take(host, now, rate, burst));
        if !taken {
            self.stats.handshakes_limited += 1;
        }
        taken
    }

    /// The `join` inside a hello's opened handshake message (`payload`): it must carry the
    /// hello's nonce, and an empty cookie — or, in a `hello-key` (which proved `key`), the
    /// hello's own cookie: bound to the client's address and authenticated by its key, so
    /// a recording replayed from another address is refused a cookie before it joins.
    #[inline(always)] // one caller: a step of on_hello, not a call of its own
    fn join_in_hello<'m>(
        &mut self,
        cookie: Cookie,
        nonce: u64,
        key: Option<ClientKey>,
        payload: &'m [u8],
    ) -> Option<Join<'m>> {
        let inner = Message::decode_only::<SERVER_READS>(payload).ok();
        let Some(mut join) = inner.and_then(|inner| Join::from_message(inner, true, key)) else {
            self.stats.malformed += 1;
            return None;
        };
        let expected = if key.is_some() { cookie } else { Cookie::EMPTY };
        if join.cookie != expected || join.nonce != nonce {
            self.stats.malformed += 1;
            return None;
        }
        // The cookie the hello proved (the join's own is empty, or the same).
        join.cookie = cookie;
        Some(join)
    }

    /// The new session `token` is encrypted with `keys`; its `answer`, to the hello with
    /// digest `hello`, is kept for a resend of that hello. (A new session has a token of
    /// its own: a repeated attempt never gets here.)
    #[inline(always)] // one caller: a step of on_hello, not a call of its own
    fn seal_session(
        &mut self,
        token: Token,
        keys: SealedSession,
        hello: u64,
        answer: &[u8],
    ) -> Option<()> {
        let slot = self.table.by_token(token)?;
        self.table.get_mut(slot)?.state.keys = Some(keys);
        self.stats.handshakes += 1;
        let security = self.security.as_mut()?;
        if security.answers.is_full() {
            security.answers.pop_front();
        }
        if let Ok(answer) = Vec::from_slice(answer) {
            let _ = security.answers.push_back(KeptAnswer { token, hello, answer });
        }
        Some(())
    }

    /// A hello with the attempt (`nonce`) that made the encrypted session at `from`
    /// gets the answer kept, the same bytes again, with no handshake work and nothing from
    /// the host's budget; `Err` once the answer is no longer kept (its client sealed a
    /// frame, or newer sessions took its place): a recording or a late resend, to drop,
    /// as new keys would break the session and the client's next attempt has a new nonce.
    /// `Ok(None)`: it repeats no attempt.
    fn repeated_attempt(
        &mut self,
        now: Instant,
        from: A,
        nonce: u64,
        digest: u64,
        buf: &mut [u8],
    ) -> Result<Option<Transmit<A>>, ()> {
        let Some(slot) = self.table.by_addr(from) else { return Ok(None) };
        let Some(user) = self.table.get(slot) else { return Ok(None) };
        if user.state.join_nonce != nonce_tag(nonce) || !user.state.is_sealed() {
            return Ok(None);
        }
        let token = user.token;
        let answers = self.security.as_ref().map(|security| &security.answers);
        let kept = answers.and_then(|a| a.iter().find(|k| k.token == token && k.hello == digest));
        let out = kept.and_then(|kept| buf.get_mut(..kept.answer.len()).zip(Some(kept)));
        let Some((out, kept)) = out else {
            self.stats.sealed_dropped += 1;
            return Err(());
        };
        out.iter_mut().zip(&kept.answer).for_each(|(d, s)| *d = *s);
        let len = kept.answer.len();
        self.table.touch(slot, now);
        self.stats.answers_resent += 1;
        Ok(Some(Transmit { destination: from, len }))
    }

    /// Opens the sealed frame of the session `token` into `opened`: the frame inside, if
    /// it opens with the session's keys and speaks for that session.
    #[allow(clippy::too_many_arguments)] // the frame's fields, room to open it, where to answer
    fn open<'f>(
        &mut self,
        from: A,
        token: Token,
        counter: u64,
        sealed: &[u8],
        datagram: &[u8],
        opened: &'f mut [u8; MAX_FRAME],
        buf: &mut [u8],
    ) -> Result<(Message<'f>, &'f [u8]), Option<Transmit<A>>> {
        let Some(slot) = self.table.by_token(token) else {
            // 11 bytes, never more than the sealed frame (at least 35).
            self.stats.unknown_session += 1;
            return Err(Transmit::to_client(buf, from, &Message::UnknownSession { token }));
        };
        let keys = self.table.get_mut(slot).and_then(|user| user.state.keys.as_mut());
        let Some(keys) = keys.map(|keys| &mut keys.transport) else {
            self.stats.sealed_dropped += 1;
            return Err(None);
        };
        let copy = opened.get_mut(..sealed.len()).ok_or(None)?;
        copy.iter_mut().zip(sealed).for_each(|(d, s)| *d = *s);
        let header = datagram.get(..SEALED_HEADER).ok_or(None)?;
        let Ok(len) = keys.open(counter, header, copy) else {
            self.stats.sealed_dropped += 1;
            return Err(None);
        };
        // The client has its answer: no resend of it will come.
        if let Some(security) = &mut self.security
            && let Some(at) = security.answers.iter().position(|kept| kept.token == token)
        {
            forget_at(&mut security.answers, at);
        }
        let opened: &'f [u8] = opened;
        let frame = opened.get(..len).ok_or(None)?;
        let Some(message) = Message::decode_only::<SERVER_READS>(frame)
            .ok()
            .filter(|message| CLIENT_SEALS & message.kind().bit() != 0)
        else {
            self.stats.malformed += 1;
            return Err(None);
        };
        if message.token() != Some(token) {
            self.stats.bad_token += 1;
            return Err(None);
        }
        Ok((message, frame))
    }

    /// Frames out: the frame `transmit` wrote into `buf` is sealed if it belongs to an
    /// encrypted session (its token names one); anything else goes as it is.
    pub(super) fn seal(
        &mut self,
        transmit: Option<Transmit<A>>,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let transmit = transmit?;
        let kind = buf.get(2).and_then(|&b| Kind::from_byte(b).ok());
        if !kind.is_some_and(|kind| kind.has_token() && kind != Kind::Sealed) {
            return Some(transmit);
        }
        let token = Token(u64::from_be_bytes(
            buf.get(HEADER_LEN..HEADER_LEN + TOKEN_LEN)?.try_into().ok()?,
        ));
        match self.table.by_token(token) {
            Some(slot) => self.seal_for(slot, transmit, buf),
            None => Some(transmit),
        }
    }

    /// Seals `transmit`'s frame in `buf` with `slot`'s keys, if its session is encrypted.
    fn seal_for(
        &mut self,
        slot: SlotId,
        transmit: Transmit<A>,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let user = self.table.get_mut(slot)?;
        let token = user.token;
        let Some(keys) = user.state.keys.as_mut().map(|keys| &mut keys.transport) else {
            return Some(transmit);
        };
        let Some(len) = seal_frame(keys, token, buf, transmit.len) else {
            self.stats.sealed_dropped += 1;
            return None;
        };
        Some(Transmit { destination: transmit.destination, len })
    }
}

/// Removes the entry at `at`, keeping the others' order.
fn forget_at<T, const N: usize>(queue: &mut Deque<T, N>, at: usize) {
    for i in 0..queue.len() {
        if let Some(entry) = queue.pop_front()
            && i != at
        {
            let _ = queue.push_back(entry);
        }
    }
}
