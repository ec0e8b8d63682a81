//! A session's life seen from the client: answers to its join (cookie, welcome, refusal),
//! a move confirmed or taken by someone else, and losing the session to re-join.

use crate::address::PeerAddress;
use crate::backoff::Backoff;
use crate::client::inbox::Inbox;
use crate::client::outbox::{Entry, Outgoing};
use crate::client::sending::SHUTDOWN_BACKOFF;
use crate::client::stats::tally;
use crate::client::{Client, ClientEvent, Phase, join_nonce};
use crate::seq::after;
use crate::server::{MAX_KEEPALIVE, MIN_KEEPALIVE};
use crate::time::{Duration, Instant};
use crate::transport::Transmit;
use crate::wire::limits::text_in_frame;
use crate::wire::{Cookie, Message, NameBuf, Token};

impl<
    const UNACKED: usize,
    const EVENTS: usize,
    const EARLY: usize,
    A: PeerAddress,
    const OUTBOX_BYTES: usize,
    const EVENT_BYTES: usize,
> Client<UNACKED, EVENTS, EARLY, A, OUTBOX_BYTES, EVENT_BYTES>
{
    /// The next join, if one is due: with an empty cookie, or the server's.
    pub(super) fn join_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit<A>> {
        let Phase::Joining { cookie, nonce, attempts, rejoin } = self.phase else { return None };
        if !self.join.is_due(now) || self.join_held() {
            return None;
        }
        let attempts = attempts.saturating_add(1);
        self.phase = Phase::Joining { cookie, nonce, attempts, rejoin };
        let retry_in = self.join.tried(now, self.config.rto_max);
        if attempts > 1 && cookie.is_empty() {
            self.push_event(ClientEvent::JoinRetry { attempt: attempts, retry_in });
        }
        let name = self.config.name;
        let join = self.join_message(&name, self.cookie_in_join(cookie), nonce);
        self.send_join(cookie, &join, buf)
    }

    /// Our join for the attempt `nonce`, with `cookie`: the one place a join is made.
    fn join_message<'n>(&self, name: &'n NameBuf, cookie: Cookie, nonce: u64) -> Message<'n> {
        // The next delivery, and the early ones it can hold.
        let window = u16::try_from(EARLY.saturating_add(1)).unwrap_or(u16::MAX);
        let (resume, delivered) = self.resume;
        let (name, max_frame) = (name.as_name(), self.config.max_frame);
        Message::Join { cookie, nonce, window, resume, delivered, name, max_frame }
    }

    /// When the next join goes: not while the application decides on the server's key.
    pub(super) fn join_timer(&self) -> Option<Instant> {
        if self.join_held() {
            return None;
        }
        Some(self.join.next_at())
    }

    pub(super) fn handle_joining(&mut self, now: Instant, message: Message<'_>) {
        let Phase::Joining { nonce: attempt, attempts, rejoin, .. } = self.phase else { return };
        match message {
            Message::Cookie { cookie, nonce } if nonce == attempt => {
                // Answer at once with the cookie.
                self.phase = Phase::Joining { cookie, nonce: attempt, attempts, rejoin };
                self.join.due_at(now);
            }
            Message::Welcome { token, nonce, keepalive_ms, max_text, name, .. }
                if nonce == attempt && self.config.name == name =>
            {
                self.phase = Phase::Joined { token };
                self.resume = (Token::NONE, 0);
                // Within what a server may announce: the spans derived from it fit, and a
                // server that says 1 ms does not make its client ping a thousand times a
                // second.
                self.keepalive = Duration::from_millis(u64::from(keepalive_ms))
                    .max(MIN_KEEPALIVE)
                    .min(MAX_KEEPALIVE);
                let sealed = self.security.is_some();
                self.max_text = max_text.min(frame_text(self.config.max_frame, sealed));
                self.inbox = Inbox::new(self.config.first_seq().wrapping_sub(1));
                self.outbox.renumber(self.config.first_seq());
                self.retransmission.reset();
                self.challenge_reply = None;
                self.challenge_answered = None;
                self.last_heard = now;
                // Requests of the old session go again under the new token.
                for request in self.requests.each_mut() {
                    request.backoff.due_at(now);
                }
                tally(&mut self.stats.joins);
                self.push_event(ClientEvent::Joined { name: self.config.name, rejoined: rejoin });
            }
            Message::Refused { nonce, code, detail } if nonce == attempt => {
                if !rejoin {
                    // The user's own first join: the name or the server will not do.
                    self.close_with(ClientEvent::Refused { code, detail: "" }, detail);
                    return;
                }
                // A re-join: the old session may still hold the name, or the server may
                // be briefly full. Start over later; the user is told.
                let retry_in = self.join.wait().max(SHUTDOWN_BACKOFF);
                self.phase =
                    Phase::Joining { cookie: Cookie::EMPTY, nonce: attempt, attempts, rejoin };
                self.join.due_at(now + retry_in);
                let refused = ClientEvent::RejoinRefused { code, detail: "", retry_in };
                self.push_event_with(refused, detail.as_bytes());
            }
            _ => tally(&mut self.stats.ignored),
        }
    }

    /// The session moved to the address that answered the challenge `nonce`; the server
    /// accepted our numbers up to `seq`, the last with `digest`.
    pub(super) fn on_moved(&mut self, now: Instant, nonce: u32, seq: u32, digest: u32) {
        if self.challenge_answered != Some(nonce) || after(seq, self.outbox.sent_up_to()) {
            // Not our move, or the server accepted numbers we never sent: someone else
            // holds the session. Start a new one; what is unacknowledged goes again.
            self.lose_session(now, ClientEvent::SessionMoved);
            return;
        }
        // Our own move (a NAT rebinding, say). While the session was elsewhere only that
        // address could speak in it, after anything we had said: so if the last message
        // accepted is ours, all before it are too.
        if self.outbox.get(seq).is_none_or(|entry| self.outbox.digest(entry) == digest) {
            self.on_ack(now, seq);
            return;
        }
        // Someone else spoke under our numbers: what we sent in that span may be lost,
        // and whoever it was knows our token. Say so, and start a new session.
        let mut uncertain: heapless::Vec<Entry, UNACKED> = heapless::Vec::new();
        self.outbox.ack(seq, |entry| {
            let _ = uncertain.push(entry);
        });
        for entry in uncertain {
            if entry.what == Outgoing::Leave {
                self.close(ClientEvent::Left);
                return;
            }
            self.push_event(ClientEvent::MaybeLost { id: entry.id });
        }
        self.lose_session(now, ClientEvent::SessionMoved);
    }

    /// The session is gone; join again and resend everything unacknowledged.
    pub(super) fn lose_session(&mut self, now: Instant, event: ClientEvent<'static>) {
        if let Phase::Joined { token } = self.phase {
            self.resume = (token, self.inbox.delivered);
        }
        let nonce = join_nonce(self.config.seed, self.join_attempts);
        self.join_attempts = self.join_attempts.wrapping_add(1);
        self.phase = Phase::Joining { cookie: Cookie::EMPTY, nonce, attempts: 0, rejoin: true };
        self.join = Backoff::new(now, self.config.rto_initial);
        self.retransmission.stop();
        self.inbox.ack_due = false;
        self.requests.ping = None;
        self.outbox.rewind();
        self.forget_keys();
        self.push_event(event);
    }
}

/// The longest text a client whose frames hold `max_frame` bytes can be delivered (its
/// `say` and `tell` are held to it too, so what it sends can come back to it).
pub(super) fn frame_text(max_frame: u16, sealed: bool) -> u16 {
    u16::try_from(text_in_frame(usize::from(max_frame), sealed)).unwrap_or(u16::MAX)
}
