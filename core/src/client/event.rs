//! What the client tells its application.

use crate::time::Duration;
#[cfg(feature = "echo")]
use crate::wire::EchoMode;
use crate::wire::{DetailBuf, ErrorCode, Kind, NameBuf, TextBuf};
#[cfg(feature = "who")]
use crate::wire::{ListedNames, NameIter, NameList};

/// Names a message the application queued; stays the same across re-joins.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u32);

/// One page of the user list, as a `users` frame carried it.
#[cfg(feature = "who")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    count: u8,
    encoded: heapless::Vec<u8, { crate::wire::limits::MAX_FRAME }>,
}

#[cfg(feature = "who")]
impl UserPage {
    pub(crate) fn copy(names: &NameList<'_>) -> Self {
        let mut encoded = heapless::Vec::new();
        // A name list from a frame always fits a frame-sized buffer.
        let fits = encoded.extend_from_slice(names.encoded()).is_ok();
        UserPage { count: if fits { names.len() } else { 0 }, encoded }
    }

    /// How many names the page holds.
    pub const fn len(&self) -> u8 {
        self.count
    }

    /// Whether the page holds no names.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The names.
    pub fn iter(&self) -> NameIter<'_> {
        self.list().iter()
    }

    /// The users, each with the server it is on if that is another server sharing the
    /// room.
    pub fn entries(&self) -> ListedNames<'_> {
        self.list().entries()
    }

    fn list(&self) -> NameList<'_> {
        NameList::from_encoded(self.count, &self.encoded).unwrap_or(NameList::EMPTY)
    }
}

#[cfg(all(feature = "defmt", feature = "who"))]
impl defmt::Format for UserPage {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=u8} names", self.len());
    }
}

/// Something the application should know: a message arrived, a message was delivered or
/// not, the session changed.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
// No allocator to box the large variants in: events wait in a fixed queue, each the size
// of the largest (a message with its text), whichever features are on.
#[allow(clippy::large_enum_variant)]
pub enum ClientEvent {
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
        detail: DetailBuf,
    },
    /// The server refused a re-join (after a restart, an expiry or a lost session), for
    /// instance because the old session still holds the name. The client keeps trying.
    RejoinRefused {
        /// Why.
        code: ErrorCode,
        /// What the server said, for people.
        detail: DetailBuf,
        /// How long until the next try.
        retry_in: Duration,
    },
    /// A message for us.
    Message {
        /// The sender, as the server's table knows it.
        from: NameBuf,
        /// The text.
        text: TextBuf,
        /// Sent to us alone (`tell`) rather than to the room.
        direct: bool,
        /// Said before we joined: recent history the server offers a newcomer, not news.
        history: bool,
    },
    /// Messages for us were lost: our backlog overflowed the server's ring.
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
        detail: DetailBuf,
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
    /// An answer to [`crate::client::Client::who`]; lists longer than one frame come
    /// as several pages.
    #[cfg(feature = "who")]
    Users {
        /// How many users are connected in all.
        total: u16,
        /// The index of this page's first name.
        start: u16,
        /// The names.
        names: UserPage,
    },
    /// An answer to [`crate::client::Client::echo`].
    #[cfg(feature = "echo")]
    EchoReply {
        /// The mode that was applied.
        mode: EchoMode,
        /// The transformed text.
        text: TextBuf,
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
    /// The server ended our session: a user of another server that shares the room
    /// holds our name (they joined at once, and the other won). The client is closed.
    NameTaken {
        /// What the server said, for people.
        detail: DetailBuf,
    },
    /// Our leave was acknowledged. The client is closed.
    Left,
}
