//! What the client tells its application.

use crate::time::Duration;
#[cfg(feature = "echo")]
use crate::wire::EchoMode;
use crate::wire::{ErrorCode, Kind, NameBuf, NameList};

/// Names a message the application queued; stays the same across re-joins.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u32);

/// What [`crate::client::Client::poll_event`] hands out: an [`Event`] whose texts are
/// views into the client's event arena, valid until the next call (that call lets the
/// text go). An event is a few dozen bytes, however long its text. Copy what must
/// outlive the next call ([`Event::map`]; with `std`, [`ClientEvent::into_owned`]).
pub type ClientEvent<'a> = Event<&'a str, NameList<'a>>;

/// An event that owns its texts (`std`): to keep, or to send to another thread.
#[cfg(feature = "std")]
pub type OwnedClientEvent = Event<std::string::String, std::vec::Vec<OwnedListedName>>;

/// A user in an [`OwnedClientEvent`]'s list.
#[cfg(feature = "std")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedListedName {
    /// The user's name.
    pub name: NameBuf,
    /// The server it is on, if that is another server sharing the room.
    pub place: Option<NameBuf>,
}

/// Something the application should know: a message arrived, a message was delivered or
/// not, the session changed. Its texts are `T` and a user list is `N`: borrowed in a
/// [`ClientEvent`], owned in an `OwnedClientEvent` (`std`).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<T, N> {
    /// The server admitted us (again, after a restart or expiry, when `rejoined`).
    Joined {
        /// The name we joined as.
        name: NameBuf,
        /// Whether this is a re-join of an earlier session.
        rejoined: bool,
    },
    /// A join got no answer and is being sent again.
    JoinRetry {
        /// How many joins were sent so far.
        attempt: u32,
        /// How long until the next one.
        retry_in: Duration,
    },
    /// The server refused the first join (name taken or not allowed, server full, too
    /// many sessions from this address). The client is closed.
    Refused {
        /// Why.
        code: ErrorCode,
        /// What the server said, for people.
        detail: T,
    },
    /// The server refused a re-join (after a restart, an expiry or a lost session), for
    /// instance because the old session still holds the name. The client keeps trying.
    RejoinRefused {
        /// Why.
        code: ErrorCode,
        /// What the server said, for people.
        detail: T,
        /// How long until the next try.
        retry_in: Duration,
    },
    /// A message for us.
    Message {
        /// The sender, as the server's table knows it.
        from: NameBuf,
        /// The text.
        text: T,
        /// Sent to us alone (`tell`) rather than to the room.
        direct: bool,
        /// Said before we joined: recent history the server offers a newcomer, not news.
        history: bool,
    },
    /// Messages for us were lost: our backlog overflowed the server's ring, or a message
    /// was longer than this client's event arena holds.
    Missed {
        /// How many.
        count: u32,
    },
    /// The server accepted a message we queued.
    Delivered {
        /// The message.
        id: MessageId,
    },
    /// The server refused a message we queued (no such user, text too long).
    Rejected {
        /// The message.
        id: MessageId,
        /// Why.
        code: ErrorCode,
        /// What the server said, for people ("no user named bob is connected").
        detail: T,
    },
    /// A message we queued got no acknowledgement in time: not delivered.
    Failed {
        /// The message.
        id: MessageId,
    },
    /// The session moved to a new address while this message was unacknowledged, and the
    /// server had accepted a message under its number: it may have been this one, or
    /// someone else's who held the session meanwhile. It may be lost.
    MaybeLost {
        /// The message.
        id: MessageId,
    },
    /// An answer to [`crate::client::Client::who`] (feature `who`); lists longer than
    /// one frame come as several pages.
    Users {
        /// How many users are connected in all.
        total: u16,
        /// The index of this page's first name.
        start: u16,
        /// The names.
        names: N,
    },
    /// An answer to [`crate::client::Client::echo`].
    #[cfg(feature = "echo")]
    EchoReply {
        /// The mode that was applied.
        mode: EchoMode,
        /// The transformed text.
        text: T,
    },
    /// A request (`who`, `echo`) got no answer in time and was dropped.
    RequestTimedOut {
        /// The request's kind.
        kind: Kind,
    },
    /// The server says we send too fast; our messages wait and go again.
    RateLimited,
    /// The server no longer knows our session (it restarted, or we were silent too
    /// long). Re-joining; unacknowledged messages will be sent again.
    SessionLost,
    /// The server moved our session to another address that answered a challenge we
    /// never saw: someone else holds it now. Re-joining; unacknowledged messages will be
    /// sent again.
    SessionMoved,
    /// The server stopped answering. Re-joining; unacknowledged messages will be sent
    /// again.
    ServerLost,
    /// The server is shutting down. Re-joining, in case it comes back.
    ServerShutdown,
    /// The operator removed us. The client is closed.
    Kicked,
    /// The server sent its static public key, as asked
    /// ([`crate::client::Client::discover_server_key`]). It is unauthenticated: trust it
    /// on first use, or if its fingerprint matches a pinned one
    /// ([`crate::client::Client::trust_server_key`]); the join waits until then.
    #[cfg(feature = "secure")]
    ServerKeyOffered {
        /// The key.
        key: [u8; 32],
        /// The server also wants a fleet's key.
        fleet: bool,
    },
    /// The answer to [`crate::client::Client::key_of`] (feature `key-of`).
    #[cfg(feature = "key-of")]
    UserKey {
        /// The user asked about.
        name: NameBuf,
        /// Whether a user of the server holds the name.
        here: bool,
        /// The key that user proved when joining, if it proved one.
        key: Option<[u8; 32]>,
    },
    /// The server ended our session: a user of another server that shares the room
    /// holds our name (they joined at once, and the other won). The client is closed.
    NameTaken {
        /// What the server said, for people.
        detail: T,
    },
    /// Our leave was acknowledged. The client is closed.
    Left,
}

impl<T, N> Event<T, N> {
    /// The same event, its text (or detail) turned by `text` and its user list by
    /// `names`: to copy it out of the client, for one.
    pub fn map<U, M>(self, text: impl FnOnce(T) -> U, names: impl FnOnce(N) -> M) -> Event<U, M> {
        match self {
            Event::Joined { name, rejoined } => Event::Joined { name, rejoined },
            Event::JoinRetry { attempt, retry_in } => Event::JoinRetry { attempt, retry_in },
            Event::Refused { code, detail } => Event::Refused { code, detail: text(detail) },
            Event::RejoinRefused { code, detail, retry_in } => {
                Event::RejoinRefused { code, detail: text(detail), retry_in }
            }
            Event::Message { from, text: t, direct, history } => {
                Event::Message { from, text: text(t), direct, history }
            }
            Event::Missed { count } => Event::Missed { count },
            Event::Delivered { id } => Event::Delivered { id },
            Event::Rejected { id, code, detail } => {
                Event::Rejected { id, code, detail: text(detail) }
            }
            Event::Failed { id } => Event::Failed { id },
            Event::MaybeLost { id } => Event::MaybeLost { id },
            Event::Users { total, start, names: n } => {
                Event::Users { total, start, names: names(n) }
            }
            #[cfg(feature = "echo")]
            Event::EchoReply { mode, text: t } => Event::EchoReply { mode, text: text(t) },
            Event::RequestTimedOut { kind } => Event::RequestTimedOut { kind },
            Event::RateLimited => Event::RateLimited,
            Event::SessionLost => Event::SessionLost,
            Event::SessionMoved => Event::SessionMoved,
            Event::ServerLost => Event::ServerLost,
            Event::ServerShutdown => Event::ServerShutdown,
            Event::Kicked => Event::Kicked,
            #[cfg(feature = "secure")]
            Event::ServerKeyOffered { key, fleet } => Event::ServerKeyOffered { key, fleet },
            #[cfg(feature = "key-of")]
            Event::UserKey { name, here, key } => Event::UserKey { name, here, key },
            Event::NameTaken { detail } => Event::NameTaken { detail: text(detail) },
            Event::Left => Event::Left,
        }
    }
}

#[cfg(feature = "std")]
impl ClientEvent<'_> {
    /// The event with its texts copied out of the client.
    pub fn into_owned(self) -> OwnedClientEvent {
        use std::borrow::ToOwned;
        self.map(ToOwned::to_owned, |names| {
            names
                .entries()
                .map(|user| OwnedListedName {
                    name: NameBuf::new(user.name),
                    place: user.place.map(NameBuf::new),
                })
                .collect()
        })
    }
}
