//! The events waiting for the application, their texts in the event arena: queued by the
//! machine's steps, handed out one at a time by [`Client::poll_event`], each text a view
//! valid until the next call.

use crate::address::PeerAddress;
use crate::client::stats::tally;
use crate::client::text_ring::Span;
use crate::client::{Client, ClientEvent};

impl<
    const UNACKED: usize,
    const EVENTS: usize,
    const EARLY: usize,
    A: PeerAddress,
    const OUTBOX_BYTES: usize,
    const EVENT_BYTES: usize,
> Client<UNACKED, EVENTS, EARLY, A, OUTBOX_BYTES, EVENT_BYTES>
{
    /// The next event for the application. Its text (if it has one) is a view into the
    /// client, valid until this is called again: the call lets the previous event's text
    /// go.
    pub fn poll_event(&mut self) -> Option<ClientEvent<'_>> {
        self.event_texts.pop(core::mem::take(&mut self.handed_out));
        let (mut event, span) = self.events.pop_front()?;
        self.handed_out = span;
        let bytes = self.event_texts.get(span);
        match &mut event {
            ClientEvent::Message { text, .. } => *text = as_text(bytes),
            #[cfg(feature = "echo")]
            ClientEvent::EchoReply { text, .. } => *text = as_text(bytes),
            ClientEvent::Refused { detail, .. }
            | ClientEvent::RejoinRefused { detail, .. }
            | ClientEvent::Rejected { detail, .. }
            | ClientEvent::NameTaken { detail } => *detail = as_text(bytes),
            ClientEvent::Users { names, .. } => {
                *names = crate::wire::NameList::from_validated(names.len(), bytes);
            }
            _ => {}
        }
        Some(event)
    }

    pub(super) fn push_event(&mut self, event: ClientEvent<'static>) {
        self.push_event_with(event, &[]);
    }

    /// Queues `event` with its text, which the event shows once handed out. A text with no
    /// room in the arena is left out (callers that must not lose one check
    /// [`Client::event_room`] first).
    pub(super) fn push_event_with(&mut self, event: ClientEvent<'static>, text: &[u8]) {
        if self.events.is_full() {
            tally(&mut self.stats.events_dropped);
            return;
        }
        let span = self.event_texts.push(text).unwrap_or(Span::EMPTY);
        let _ = self.events.push_back((event, span));
    }
}

/// Text the client stored itself, from a frame that was checked: always UTF-8.
fn as_text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or_default()
}
