//! Our own messages out: the acknowledgements and refusals that settle them, and the
//! retransmission that resends what the server did not confirm.

use crate::address::PeerAddress;
use crate::client::outbox::{Entry, Outgoing};
use crate::client::stats::tally;
use crate::client::{Client, ClientEvent};
use crate::time::{Duration, Instant};
use crate::transport::Transmit;
use crate::wire::{ErrorCode, Message, Token};

/// How long to wait before re-joining a server that said it is shutting down.
pub(super) const SHUTDOWN_BACKOFF: Duration = Duration::from_secs(1);

impl<
    const UNACKED: usize,
    const EVENTS: usize,
    const EARLY: usize,
    A: PeerAddress,
    const OUTBOX_BYTES: usize,
    const EVENT_BYTES: usize,
> Client<UNACKED, EVENTS, EARLY, A, OUTBOX_BYTES, EVENT_BYTES>
{
    /// The next queued message to send or resend, if any.
    pub(super) fn outbox_transmit(
        &mut self,
        now: Instant,
        token: Token,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let (entry, text) = self.outbox.next_to_send()?;
        let (seq, first) = (entry.seq, entry.transmissions == 1);
        let message = match &entry.what {
            Outgoing::Say => Message::Say { token, seq, text },
            Outgoing::Tell(to) => Message::Tell { token, seq, to: to.as_name(), text },
            Outgoing::Leave => Message::Leave { token, seq },
        };
        let transmit = Self::transmit(self.config.server, buf, &message);
        self.retransmission.on_send(seq, first, now);
        transmit
    }

    pub(super) fn on_ack(&mut self, now: Instant, seq: u32) {
        let mut done: heapless::Vec<Entry, UNACKED> = heapless::Vec::new();
        if !self.outbox.ack(seq, |entry| {
            let _ = done.push(entry);
        }) {
            // Nothing new: the server got something after a gap. Three in a row, and
            // everything unacknowledged goes again at once. (With one message out at a
            // time there is no gap to point at: the timer resends.)
            if UNACKED > 1 && self.outbox.awaiting() && self.retransmission.on_duplicate() {
                self.resend_all();
            }
            return;
        }
        self.retransmission.on_progress(seq, now, &self.rtt);
        for entry in done {
            if entry.what == Outgoing::Leave {
                self.close(ClientEvent::Left);
                return;
            }
            self.push_event(ClientEvent::Delivered { id: entry.id });
        }
        self.progress(now);
    }

    pub(super) fn on_error(&mut self, now: Instant, code: ErrorCode, seq: u32, detail: &str) {
        match code {
            ErrorCode::NoSuchUser | ErrorCode::TextTooLong => {
                if let Some(entry) = self.outbox.refuse(seq) {
                    let rejected = ClientEvent::Rejected { id: entry.id, code, detail: "" };
                    self.push_event_with(rejected, detail.as_bytes());
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
            // Only a session gets this (seq 0): the room's other server holds the name.
            ErrorCode::NameTaken => self.close_with(ClientEvent::NameTaken { detail: "" }, detail),
            ErrorCode::ShuttingDown => {
                self.lose_session(now, ClientEvent::ServerShutdown);
                self.join.due_at(now + SHUTDOWN_BACKOFF);
            }
            _ => tally(&mut self.stats.ignored),
        }
    }

    /// The server answered: the timer covers what is still out.
    pub(super) fn progress(&mut self, now: Instant) {
        self.retransmission.restart(now, self.outbox.awaiting());
    }

    /// Everything unacknowledged goes again, in order.
    pub(super) fn resend_all(&mut self) {
        self.outbox.rewind();
        self.retransmission.on_resend();
    }
}
