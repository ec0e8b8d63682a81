//! Requests and their answers: `who` (paged), `echo`, `key-of` and the keep-alive `ping`,
//! each resent on its own back-off until answered or given up. `who` and `echo` are Cargo
//! features (off by default, like all the core's; the host turns them on): a firmware
//! client that never asks leaves their code out.

use crate::address::PeerAddress;
use crate::backoff::Backoff;
use crate::client::Client;
#[cfg(any(feature = "who", feature = "echo", feature = "key-of"))]
use crate::client::ClientEvent;
#[cfg(any(feature = "who", feature = "echo", feature = "key-of"))]
use crate::error::ClientError;
use crate::time::Instant;
use crate::transport::Transmit;
#[cfg(any(feature = "who", feature = "echo", feature = "key-of"))]
use crate::wire::Kind;
#[cfg(feature = "who")]
use crate::wire::NameList;
#[cfg(feature = "echo")]
use crate::wire::limits::MAX_TEXT;
#[cfg(feature = "echo")]
use crate::wire::{EchoMode, TextBuf};
use crate::wire::{Message, Token};
#[cfg(feature = "key-of")]
use crate::wire::{Name, NameBuf};

/// A request awaiting its answer, resent with back-off.
#[derive(Debug, Clone, Copy)]
pub(super) struct Request {
    pub(super) req: u32,
    pub(super) backoff: Backoff,
    /// For giving up: only `who`, `echo` and `key-of` do.
    #[cfg(any(feature = "who", feature = "echo", feature = "key-of"))]
    asked_at: Instant,
}

/// The requests waiting for their answers, one of each kind at most.
#[derive(Debug, Clone, Default)]
pub(super) struct Requests {
    /// A `who`, and the index of the page asked for.
    #[cfg(feature = "who")]
    pub(super) who: Option<(Request, u16)>,
    #[cfg(feature = "echo")]
    pub(super) echo: Option<(Request, EchoMode, TextBuf)>,
    /// A `key-of`, and the name asked about.
    #[cfg(feature = "key-of")]
    pub(super) key_of: Option<(Request, NameBuf)>,
    pub(super) ping: Option<Request>,
    next_req: u32,
}

impl Requests {
    /// A new request, due at once.
    pub(super) fn new_request(&mut self, now: Instant, initial: crate::time::Duration) -> Request {
        self.next_req = self.next_req.wrapping_add(1);
        Request {
            req: self.next_req,
            backoff: Backoff::new(now, initial),
            #[cfg(any(feature = "who", feature = "echo", feature = "key-of"))]
            asked_at: now,
        }
    }

    /// Every pending request, to reschedule them.
    pub(super) fn each_mut(&mut self) -> impl Iterator<Item = &mut Request> {
        [
            #[cfg(feature = "who")]
            self.who.as_mut().map(|(r, _)| r),
            #[cfg(feature = "echo")]
            self.echo.as_mut().map(|(r, ..)| r),
            #[cfg(feature = "key-of")]
            self.key_of.as_mut().map(|(r, _)| r),
            self.ping.as_mut(),
        ]
        .into_iter()
        .flatten()
    }

    /// When the next resend is due.
    pub(super) fn next_at(&self) -> Option<Instant> {
        [
            #[cfg(feature = "who")]
            self.who.map(|(r, _)| r),
            #[cfg(feature = "echo")]
            self.echo.as_ref().map(|(r, ..)| *r),
            #[cfg(feature = "key-of")]
            self.key_of.as_ref().map(|(r, _)| *r),
            self.ping,
        ]
        .into_iter()
        .flatten()
        .map(|r| r.backoff.next_at())
        .min()
    }

    /// Forgets every request.
    pub(super) fn clear(&mut self) {
        *self = Requests { next_req: self.next_req, ..Requests::default() };
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
    /// Asks who is connected; the answer comes as [`ClientEvent::Users`] pages.
    #[cfg(feature = "who")]
    pub fn who(&mut self, now: Instant) -> Result<(), ClientError> {
        self.check_open()?;
        if self.requests.who.is_some() {
            return Err(ClientError::RequestPending);
        }
        self.requests.who = Some((self.requests.new_request(now, self.config.rto_initial), 0));
        Ok(())
    }

    /// Asks the server for the key `name`'s user proved when joining; the answer comes as
    /// [`ClientEvent::UserKey`] (feature `key-of`). One at a time: show a key's
    /// fingerprint the first time you meet a user under a name, and warn if it changes.
    #[cfg(feature = "key-of")]
    pub fn key_of(&mut self, now: Instant, name: &str) -> Result<(), ClientError> {
        self.check_open()?;
        if self.requests.key_of.is_some() {
            return Err(ClientError::RequestPending);
        }
        let name = NameBuf::parse(name).map_err(ClientError::InvalidName)?;
        let request = self.requests.new_request(now, self.config.rto_initial);
        self.requests.key_of = Some((request, name));
        Ok(())
    }

    /// Asks the server to echo `text` transformed by `mode`; the answer comes as
    /// [`ClientEvent::EchoReply`].
    #[cfg(feature = "echo")]
    pub fn echo(&mut self, now: Instant, mode: EchoMode, text: &str) -> Result<(), ClientError> {
        self.check_open()?;
        if self.requests.echo.is_some() {
            return Err(ClientError::RequestPending);
        }
        self.check_text(text)?;
        let text = crate::wire::text_buf(text)
            .map_err(|_| ClientError::TextTooLong { len: text.len(), max: MAX_TEXT })?;
        let request = self.requests.new_request(now, self.config.rto_initial);
        self.requests.echo = Some((request, mode, text));
        Ok(())
    }

    /// The next request to send or resend, if one is due.
    pub(super) fn request_transmit(
        &mut self,
        now: Instant,
        token: Token,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let rto_max = self.config.rto_max;
        #[cfg(feature = "who")]
        if let Some((request, start)) =
            self.requests.who.as_mut().filter(|(r, _)| r.backoff.is_due(now))
        {
            let (req, start) = (request.req, *start);
            request.backoff.tried(now, rto_max);
            return self.emit(buf, &Message::Who { token, req, start });
        }
        #[cfg(feature = "echo")]
        if let Some((request, mode, text)) =
            self.requests.echo.as_mut().filter(|(r, ..)| r.backoff.is_due(now))
        {
            request.backoff.tried(now, rto_max);
            let message = Message::Echo { token, req: request.req, mode: *mode, text };
            return Self::transmit(self.config.server, buf, &message);
        }
        #[cfg(feature = "key-of")]
        if let Some((request, name)) =
            self.requests.key_of.as_mut().filter(|(r, _)| r.backoff.is_due(now))
        {
            request.backoff.tried(now, rto_max);
            let message = Message::KeyOf { token, req: request.req, name: name.as_name() };
            return Self::transmit(self.config.server, buf, &message);
        }
        let ping_due = match &self.requests.ping {
            Some(request) => request.backoff.is_due(now),
            None => self.last_sent + self.keepalive <= now,
        };
        if ping_due {
            let initial = self.config.rto_initial;
            let mut request = match self.requests.ping {
                Some(request) => request,
                None => self.requests.new_request(now, initial),
            };
            request.backoff.tried(now, rto_max);
            self.requests.ping = Some(request);
            return self.emit(buf, &Message::Ping { token, req: request.req });
        }
        None
    }

    #[cfg(feature = "who")]
    /// A page of the user list: reported, and the next page asked for if there is one.
    pub(super) fn on_users(
        &mut self,
        now: Instant,
        req: u32,
        total: u16,
        start: u16,
        names: NameList<'_>,
    ) {
        let Some((request, _)) = self.requests.who.filter(|(r, _)| r.req == req) else { return };
        // A page with no room in the event arena is reported empty.
        let encoded = Some(names.encoded()).filter(|e| self.event_texts.fits(e.len()));
        let count = if encoded.is_some() { names.len() } else { 0 };
        let stored = NameList::from_validated(count, &[]);
        let page = ClientEvent::Users { total, start, names: stored };
        self.push_event_with(page, encoded.unwrap_or_default());
        let next = u32::from(start) + u32::from(names.len());
        self.requests.who = match u16::try_from(next) {
            // More pages, and this one made progress: ask for the next.
            Ok(next) if next < total && !names.is_empty() => Some((
                Request { backoff: Backoff::new(now, self.config.rto_initial), ..request },
                next,
            )),
            _ => None,
        };
    }

    /// The answer to our echo.
    #[cfg(feature = "echo")]
    pub(super) fn on_echo_reply(&mut self, req: u32, mode: EchoMode, text: &str) {
        if self.requests.echo.as_ref().is_some_and(|(r, ..)| r.req == req) {
            self.requests.echo = None;
            self.push_event_with(ClientEvent::EchoReply { mode, text: "" }, text.as_bytes());
        }
    }

    /// The answer to our key-of: reported.
    #[cfg(feature = "key-of")]
    pub(super) fn on_user_key(
        &mut self,
        req: u32,
        name: Name<'_>,
        here: bool,
        key: Option<[u8; 32]>,
    ) {
        if self
            .requests
            .key_of
            .as_ref()
            .is_some_and(|(r, asked)| r.req == req && asked.as_name() == name)
        {
            self.requests.key_of = None;
            self.push_event(ClientEvent::UserKey { name: NameBuf::new(name), here, key });
        }
    }

    /// The answer to our ping.
    pub(super) fn on_pong(&mut self, req: u32) {
        if self.requests.ping.is_some_and(|r| r.req == req) {
            self.requests.ping = None;
        }
    }

    /// Requests unanswered for the give-up time are reported and dropped. (A ping never
    /// gives up: a silent server is noticed by the keep-alive.)
    #[cfg(any(feature = "who", feature = "echo", feature = "key-of"))]
    pub(super) fn expire_requests(&mut self, now: Instant) {
        let give_up = self.config.give_up;
        let expired = |r: &Request| r.asked_at + give_up <= now;
        #[cfg(feature = "who")]
        if self.requests.who.is_some_and(|(r, _)| expired(&r)) {
            self.requests.who = None;
            self.push_event(ClientEvent::RequestTimedOut { kind: Kind::Who });
        }
        #[cfg(feature = "echo")]
        if self.requests.echo.as_ref().is_some_and(|(r, ..)| expired(r)) {
            self.requests.echo = None;
            self.push_event(ClientEvent::RequestTimedOut { kind: Kind::Echo });
        }
        #[cfg(feature = "key-of")]
        if self.requests.key_of.as_ref().is_some_and(|(r, _)| expired(r)) {
            self.requests.key_of = None;
            self.push_event(ClientEvent::RequestTimedOut { kind: Kind::KeyOf });
        }
    }

    /// Without `who`, `echo` and `key-of` only pings are asked, and they never give
    /// up.
    #[cfg(not(any(feature = "who", feature = "echo", feature = "key-of")))]
    pub(super) fn expire_requests(&mut self, _now: Instant) {}
}
