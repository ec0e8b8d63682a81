//! Encrypted sessions on the client (the `secure` feature; `docs/PROTOCOL.md`, section
//! 12): the client's edge with encryption (`clear.rs` is the same seam without). With the
//! server's key set, every join goes out as a `hello` whose handshake
//! carries it, only an `answer` that authenticates (with its welcome or refusal inside)
//! is believed, and every frame of the session is sealed on the way out and opened on the
//! way in. Nothing in the clear is taken from the server but a cookie and the news that it
//! no longer knows the session (`unknown-session`).

use crate::address::PeerAddress;
use crate::client::stats::tally;
use crate::client::{Client, ClientEvent, Phase};
use crate::error::SecureError;
#[cfg(feature = "client-keys")]
use crate::secure::{IkInitiator, IkPattern};
use crate::secure::{
    Initiator, KEY_LEN, KeyLogEntry, KeySource, Keypair, PROLOGUE, Pattern, SEALED_HEADER, Session,
    seal_behind_header,
};
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::limits::{MAX_FRAME, SEAL_TAG_LEN};
use crate::wire::{Cookie, Message, Token};

/// The server as the client knows it: its static public key (pinned, or trusted on first
/// use by the application), and the fleet's key if it asks for one.
#[derive(Debug, Clone, Copy)]
pub struct ServerKey {
    /// The server's static public key.
    pub public: [u8; KEY_LEN],
    /// A key shared by a fleet (`NKpsk0`).
    pub psk: Option<[u8; KEY_LEN]>,
}

/// The client's side of encryption.
#[derive(Debug)]
pub(super) struct Security {
    /// The server's key, once known: given, or offered by the server and trusted by the
    /// application.
    server: Option<[u8; KEY_LEN]>,
    /// The key the server offered, waiting for the application's word.
    offered: Option<[u8; KEY_LEN]>,
    pattern: Pattern,
    /// The client's own key pair, if it has one: its joins go as `hello-key` (`IK`).
    #[cfg(feature = "client-keys")]
    client: Option<Keypair>,
    keys: KeySource,
    /// The current attempt to join: its nonce and its ephemeral key (every resend of its
    /// hello carries the same handshake).
    attempt: Option<(u64, [u8; KEY_LEN])>,
    /// The handshake after its first message, waiting for the answer.
    initiator: Option<Initiating>,
    /// The session's keys, once the answer authenticated.
    session: Option<Session>,
}

impl Security {
    /// The client's own key pair, if it has one (never, without `client-keys`).
    fn client_key(&self) -> Option<&Keypair> {
        #[cfg(feature = "client-keys")]
        return self.client.as_ref();
        #[cfg(not(feature = "client-keys"))]
        None
    }
}

/// The client's side of a handshake, between its first message and the answer.
#[derive(Debug, Clone)]
enum Initiating {
    /// `NK`: the server's key alone.
    Nk(Initiator),
    /// `IK`: the client proves a key of its own.
    #[cfg(feature = "client-keys")]
    Ik(IkInitiator),
}

impl Initiating {
    /// Starts the handshake `pattern` calls for (with `client`'s key: `IK`), its first
    /// message (with `payload`) written into `out`.
    fn start(
        pattern: &Pattern,
        client: Option<&Keypair>,
        server: &[u8; KEY_LEN],
        ephemeral: [u8; KEY_LEN],
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<(Initiating, usize), SecureError> {
        #[cfg(feature = "client-keys")]
        if let Some(client) = client {
            let ik = ik(pattern);
            let (initiator, len) =
                IkInitiator::start(&ik, PROLOGUE, server, client, ephemeral, payload, out)?;
            return Ok((Initiating::Ik(initiator), len));
        }
        #[cfg(not(feature = "client-keys"))]
        let _ = client; // always None: a build without client keys has none to prove
        let (initiator, len) =
            Initiator::start(pattern, PROLOGUE, server, ephemeral, payload, out)?;
        Ok((Initiating::Nk(initiator), len))
    }

    /// Reads the server's answer in place: the session's keys and the payload's range.
    fn finish(
        self,
        pattern: &Pattern,
        message: &mut [u8],
    ) -> Result<(Session, core::ops::Range<usize>), SecureError> {
        match self {
            Initiating::Nk(initiator) => initiator.finish(pattern, message),
            #[cfg(feature = "client-keys")]
            Initiating::Ik(initiator) => initiator.finish(&ik(pattern), message),
        }
    }
}

/// The `IK` pattern beside an `NK` one: with the same fleet key, if any.
#[cfg(feature = "client-keys")]
const fn ik(pattern: &Pattern) -> IkPattern {
    match pattern {
        Pattern::Nk => IkPattern::Ik,
        Pattern::NkPsk0(psk) => IkPattern::IkPsk1(*psk),
    }
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
    /// Joins (from now on, and every re-join) in encrypted sessions with the server whose
    /// key is `server`, ephemeral keys coming from a generator seeded with `seed` (32
    /// unpredictable bytes). Call it before the first [`Client::poll_transmit`].
    pub fn set_server_key(&mut self, server: ServerKey, seed: [u8; 32]) {
        let pattern = match server.psk {
            None => Pattern::Nk,
            Some(psk) => Pattern::NkPsk0(psk),
        };
        self.security = Some(Security {
            server: Some(server.public),
            offered: None,
            pattern,
            #[cfg(feature = "client-keys")]
            client: None,
            keys: KeySource::new(seed),
            attempt: None,
            initiator: None,
            session: None,
        });
        let sealed_text = super::session::frame_text(self.config.max_frame, true);
        self.max_text = self.max_text.min(sealed_text);
    }

    /// Joins (from now on, and every re-join) with `client` as this client's own key pair:
    /// the handshake (`IK`, a `hello-key`) proves it to the server, which may keep names
    /// for their keys and let in only the keys its operator listed (`docs/PROTOCOL.md`,
    /// "Client keys"). Call it after [`Client::set_server_key`] or
    /// [`Client::discover_server_key`] (it does nothing before: a key proves itself
    /// only in an encrypted session). Feature `client-keys`.
    #[cfg(feature = "client-keys")]
    pub fn set_client_key(&mut self, client: Keypair) {
        if let Some(security) = self.security.as_mut() {
            security.client = Some(client);
        }
    }

    /// Joins in encrypted sessions with a server whose key is not known yet: the client
    /// asks the server for it first, and reports it as [`ClientEvent::ServerKeyOffered`];
    /// nothing more happens until the application trusts it
    /// ([`Client::trust_server_key`]) — the first use of a server, or a check against a
    /// pinned fingerprint — or gives up. `psk` is the fleet's key, if the application has
    /// one.
    pub fn discover_server_key(&mut self, psk: Option<[u8; KEY_LEN]>, seed: [u8; 32]) {
        self.set_server_key(ServerKey { public: [0; KEY_LEN], psk }, seed);
        if let Some(security) = self.security.as_mut() {
            security.server = None;
        }
    }

    /// The application trusts `key` as the server's: the join goes on with it (its
    /// attempts counted afresh: asking for the key was not a join that went unanswered).
    pub fn trust_server_key(&mut self, now: Instant, key: [u8; KEY_LEN]) {
        if let Some(security) = self.security.as_mut() {
            security.server = Some(key);
            security.offered = None;
            self.join = crate::backoff::Backoff::new(now, self.config.rto_initial);
            if let Phase::Joining { cookie, nonce, rejoin, .. } = self.phase {
                self.phase = Phase::Joining { cookie, nonce, attempts: 0, rejoin };
            }
        }
    }

    /// Frames in. Once joins go encrypted, only cookies, answers, the server's key, sealed
    /// frames (opened here) and `unknown-session` count; the plain machine takes what is
    /// inside.
    pub(super) fn receive(&mut self, now: Instant, message: Message<'_>, datagram: &[u8]) {
        if !self.is_secure() {
            return self.take(now, message);
        }
        match (self.phase, message) {
            (Phase::Joining { .. }, Message::Cookie { .. }) => self.take(now, message),
            (Phase::Joining { .. }, Message::Answer { nonce, handshake }) => {
                self.on_answer(now, nonce, handshake);
            }
            (Phase::Joining { .. }, Message::ServerKey { nonce, fleet, key }) => {
                self.on_server_key(nonce, fleet, key);
            }
            (Phase::Joined { token }, Message::Sealed { token: to, counter, sealed })
                if to == token =>
            {
                self.on_sealed(now, token, counter, sealed, datagram);
            }
            // In the clear, and so unauthenticated: the server no longer knows the
            // session (it restarted). Whoever sees the token can say so too; the worst it
            // does is a re-join.
            (Phase::Joined { token }, Message::UnknownSession { token: to }) if to == token => {
                self.take(now, message);
            }
            _ => tally(&mut self.stats.ignored),
        }
    }

    /// A session's frames out: sealed once joins go encrypted.
    pub(super) fn send(
        &mut self,
        now: Instant,
        token: Token,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        if self.is_secure() {
            self.sealed_transmit(now, token, buf)
        } else {
            self.session_transmit(now, token, buf)
        }
    }

    /// The cookie a join carries: none once joins go encrypted (the hello carries the
    /// server's cookie) — but the hello's own inside a `hello-key`, where the client's key
    /// authenticates it (a recording replayed from elsewhere does not join).
    pub(super) fn cookie_in_join(&self, cookie: Cookie) -> Cookie {
        match &self.security {
            Some(security) if security.client_key().is_none() => Cookie::EMPTY,
            _ => cookie,
        }
    }

    /// Joins out: carried by a hello, with the server's `cookie`, once joins go
    /// encrypted.
    pub(super) fn send_join(
        &mut self,
        cookie: Cookie,
        join: &Message<'_>,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        if self.is_secure() { self.hello_transmit(cookie, join, buf) } else { self.emit(buf, join) }
    }

    /// Whether joins wait for the application: the server offered its key and the
    /// application has not decided yet.
    pub(super) fn join_held(&self) -> bool {
        self.security.as_ref().is_some_and(|s| s.offered.is_some())
    }

    /// The server offered its key, for a request of ours.
    fn on_server_key(&mut self, nonce: u64, fleet: bool, key: [u8; KEY_LEN]) {
        let Phase::Joining { nonce: attempt, .. } = self.phase else { return };
        let Some(security) = self.security.as_mut() else { return };
        if nonce != attempt || security.server.is_some() || security.offered.is_some() {
            tally(&mut self.stats.ignored);
            return;
        }
        security.offered = Some(key);
        self.push_event(ClientEvent::ServerKeyOffered { key, fleet });
    }

    /// The session's keys for a key log (the host's `MINICHAT_KEYLOGFILE`): once the
    /// session is encrypted, and until its first rekey. Whoever holds them reads the
    /// session; write them only where the user asked.
    pub fn key_log_entry(&self) -> Option<KeyLogEntry> {
        let Phase::Joined { token } = self.phase else { return None };
        let session = self.security.as_ref()?.session.as_ref()?;
        let (client_to_server, server_to_client) = session.first_keys()?;
        Some(KeyLogEntry { token, client_to_server, server_to_client })
    }

    /// Whether the session is encrypted (its handshake done).
    pub fn is_encrypted(&self) -> bool {
        self.security.as_ref().is_some_and(|s| s.session.is_some())
    }

    /// Whether joins go encrypted.
    fn is_secure(&self) -> bool {
        self.security.is_some()
    }

    /// The hello that carries `join` (a join with an empty cookie) in its handshake, with
    /// `cookie`; or, while the server's key is not known, a request for it.
    fn hello_transmit(
        &mut self,
        cookie: Cookie,
        join: &Message<'_>,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let Message::Join { nonce, .. } = *join else { return None };
        let security = self.security.as_ref()?;
        let Some(server) = security.server else {
            if security.offered.is_some() {
                return None; // the application has the key to decide on
            }
            let request = Message::KeyRequest { nonce };
            return self.emit(buf, &request);
        };
        let mut payload = [0u8; MAX_FRAME];
        let len = Self::write(&mut payload, join)?;
        let security = self.security.as_mut()?;
        let ephemeral = match security.attempt {
            Some((attempt, key)) if attempt == nonce => key,
            _ => {
                let key = security.keys.next_key();
                security.attempt = Some((nonce, key));
                key
            }
        };
        let mut handshake = [0u8; MAX_FRAME];
        let client = security.client_key();
        let (initiator, len) = Initiating::start(
            &security.pattern,
            client,
            &server,
            ephemeral,
            payload.get(..len)?,
            &mut handshake,
        )
        .ok()?;
        let keyed = client.is_some();
        security.initiator = Some(initiator);
        let handshake = handshake.get(..len)?;
        let hello = if keyed {
            Message::HelloKey { cookie, nonce, handshake }
        } else {
            Message::Hello { cookie, nonce, handshake }
        };
        self.emit(buf, &hello)
    }

    /// An answer to our hello: if it authenticates, the welcome or refusal inside it is the
    /// server's answer to our join.
    fn on_answer(&mut self, now: Instant, nonce: u64, handshake: &[u8]) {
        let Phase::Joining { nonce: attempt, .. } = self.phase else { return };
        let Some(security) = self.security.as_mut() else { return };
        // A copy: a forged answer must not use up the handshake the real one finishes.
        let Some(initiator) = security.initiator.clone().filter(|_| nonce == attempt) else {
            tally(&mut self.stats.ignored);
            return;
        };
        let mut message = [0u8; MAX_FRAME];
        let Some(copy) = message.get_mut(..handshake.len()) else { return };
        copy.iter_mut().zip(handshake).for_each(|(d, s)| *d = *s);
        let Ok((session, range)) = initiator.finish(&security.pattern, copy) else {
            tally(&mut self.stats.ignored);
            return;
        };
        let Some(inner) = copy.get(range) else { return };
        let Ok(inner) = Self::read(inner) else {
            tally(&mut self.stats.ignored);
            return;
        };
        match inner {
            Message::Welcome { nonce: welcomed, .. } if welcomed == nonce => {
                security.session = Some(session);
                security.initiator = None;
            }
            Message::Refused { nonce: refused, .. } if refused == nonce => {}
            _ => {
                tally(&mut self.stats.ignored);
                return;
            }
        }
        self.handle_joining(now, inner);
    }

    /// A sealed frame of the session `token`: opened, it is handled as if it came in the
    /// clear; anything that does not open is dropped.
    fn on_sealed(
        &mut self,
        now: Instant,
        token: Token,
        counter: u64,
        sealed: &[u8],
        datagram: &[u8],
    ) {
        let Some(session) = self.security.as_mut().and_then(|s| s.session.as_mut()) else {
            tally(&mut self.stats.ignored);
            return;
        };
        let mut inner = [0u8; MAX_FRAME];
        let Some(copy) = inner.get_mut(..sealed.len()) else { return };
        copy.iter_mut().zip(sealed).for_each(|(d, s)| *d = *s);
        let Some(header) = datagram.get(..SEALED_HEADER) else { return };
        let Ok(len) = session.open(counter, header, copy) else {
            tally(&mut self.stats.ignored);
            return;
        };
        let Some(frame) = copy.get(..len) else { return };
        // Any kind parses here; a sealed kind inside is ignored like any other stray, though,
        // being authenticated, it counts as hearing the server.
        match Self::read(frame) {
            Ok(message) if message.token() == Some(token) => self.take(now, message),
            _ => tally(&mut self.stats.ignored),
        }
    }

    /// The session's next frame, sealed: written behind room for the clear part, so it
    /// seals in place. Without the session's keys nothing goes (never a frame in the
    /// clear).
    fn sealed_transmit(
        &mut self,
        now: Instant,
        token: Token,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let end = buf.len().checked_sub(SEAL_TAG_LEN)?;
        let transmit = self.session_transmit(now, token, buf.get_mut(SEALED_HEADER..end)?)?;
        let session = self.security.as_mut()?.session.as_mut()?;
        let len = seal_behind_header(session, token, buf, transmit.len)?;
        Some(Transmit { destination: transmit.destination, len })
    }

    /// The session is gone: so are its keys.
    pub(super) fn forget_keys(&mut self) {
        if let Some(security) = self.security.as_mut() {
            security.session = None;
            security.initiator = None;
        }
    }
}
