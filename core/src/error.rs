//! The errors of every layer. (The error codes that travel on the wire are a wire type,
//! [`crate::wire::ErrorCode`].)
//!
//! One `#[non_exhaustive]` enum per layer, each `Copy + PartialEq` so state machines can
//! store and compare them without allocation. Their `Display` texts are sentences a user
//! can read as they are.

use crate::wire::Kind;
use crate::wire::limits::{MAX_DETAIL, MAX_FRAME, MAX_NAME, MAX_TEXT, MIN_FRAME, VERSION};

/// Why a frame could not be parsed or emitted.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The datagram is empty or does not start with the magic byte: not a frame at all.
    /// The host treats such datagrams as legacy plain text.
    #[error("the datagram does not start with the minichat magic byte 0xff, so it is not a frame")]
    NotAFrame,
    /// Fewer bytes than the three-byte header.
    #[error("the frame is {len} bytes long, too short for the 3-byte header")]
    HeaderTruncated {
        /// The length of what was received.
        len: usize,
    },
    /// Longer than [`MAX_FRAME`].
    #[error("the frame is {len} bytes long, over the limit of {MAX_FRAME} bytes")]
    FrameTooLong {
        /// The length of what was received.
        len: usize,
    },
    /// A version this build does not speak.
    #[error("the frame speaks protocol version {0}, but this build speaks version {VERSION}")]
    UnsupportedVersion(u8),
    /// A kind byte the protocol does not define.
    #[error("0x{0:02x} is not a message kind this protocol defines")]
    UnknownKind(u8),
    /// A kind the protocol defines but this end does not take (a client reading a kind
    /// only clients send, [`Message::parse_only`](crate::wire::Message::parse_only)).
    #[error("{0} frames are not for this end of the protocol")]
    UnexpectedKind(Kind),
    /// The frame ends before its last field.
    #[error("the {kind} frame ends before its last field")]
    Truncated {
        /// The kind of the frame.
        kind: Kind,
    },
    /// Bytes remain after the last field.
    #[error("the {kind} frame has {extra} bytes after its last field")]
    TrailingBytes {
        /// The kind of the frame.
        kind: Kind,
        /// How many bytes are left over.
        extra: usize,
    },
    /// A user name of zero bytes.
    #[error("a user name must not be empty")]
    NameEmpty,
    /// A user name over [`MAX_NAME`] bytes.
    #[error("a user name is {len} bytes long, over the limit of {MAX_NAME} bytes")]
    NameTooLong {
        /// The name's length in bytes.
        len: usize,
    },
    /// A user name that is not UTF-8.
    #[error("a user name is not valid UTF-8")]
    NameNotUtf8,
    /// A user name with a control character (general category Cc). The name policy
    /// ([`crate::name_policy`]) judges every other character.
    #[error("a user name contains a control character (U+{0:04X}), which is not allowed")]
    NameBadChar(u32),
    /// A text over [`MAX_TEXT`] bytes.
    #[error("the text is {len} bytes long, over the limit of {MAX_TEXT} bytes")]
    TextTooLong {
        /// The text's length in bytes.
        len: usize,
    },
    /// A text that is not UTF-8.
    #[error("the text is not valid UTF-8")]
    TextNotUtf8,
    /// An error detail over [`MAX_DETAIL`] bytes.
    #[error("the error detail is {len} bytes long, over the limit of {MAX_DETAIL} bytes")]
    DetailTooLong {
        /// The detail's length in bytes.
        len: usize,
    },
    /// An echo mode other than same, upper or lower.
    #[error("{0} is not an echo mode (0 same, 1 upper, 2 lower)")]
    UnknownEchoMode(u8),
    /// Flag bits this version does not define.
    #[error("the flags byte 0x{0:02x} sets bits this version does not define")]
    UnknownFlags(u8),
    /// An error code this version does not define.
    #[error("{0} is not an error code this version defines")]
    UnknownErrorCode(u8),
    /// A join announces a largest frame outside what the protocol allows.
    #[error(
        "the join says the client takes frames of at most {0} bytes; it must be between {MIN_FRAME} and {largest} ({MAX_FRAME} is said by leaving the field out)",
        largest = MAX_FRAME - 1
    )]
    MaxFrameOutOfRange(u16),
    /// Padding that is not all zeros (a key request's).
    #[error("the padding of the frame is not all zeros")]
    BadPadding,
    /// A user list whose window does not fit inside its total.
    #[error("the user list claims names {start}..{end} of only {total}")]
    UserListInconsistent {
        /// Index of the first name in this frame.
        start: u16,
        /// One past the index of the last name in this frame.
        end: u32,
        /// How many users the server has.
        total: u16,
    },
    /// The output buffer cannot hold the frame.
    #[error("the frame needs {needed} bytes, but the buffer holds only {available}")]
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
}

impl WireError {
    /// What is wrong, in a few words and without formatting: what a server puts in the
    /// detail of its `malformed` answer (the [`Display`](core::fmt::Display) sentence
    /// would pull `core::fmt` into every firmware server). The limits it names are
    /// [`MAX_FRAME`], [`MAX_NAME`] and [`MAX_DETAIL`], written out (a `const fn` cannot
    /// format them; a test holds them equal).
    pub const fn reason(&self) -> &'static str {
        match self {
            WireError::NotAFrame => "not a frame",
            WireError::HeaderTruncated { .. } => "shorter than the header",
            WireError::FrameTooLong { .. } => "longer than 1024 bytes",
            WireError::UnsupportedVersion(_) => "another protocol version",
            WireError::UnknownKind(_) => "an unknown kind",
            WireError::UnexpectedKind(_) => "a kind not for this end",
            WireError::Truncated { .. } => "it ends before its last field",
            WireError::TrailingBytes { .. } => "bytes after its last field",
            WireError::NameEmpty => "an empty name",
            WireError::NameTooLong { .. } => "a name over 16 bytes",
            WireError::NameNotUtf8 => "a name that is not UTF-8",
            WireError::NameBadChar(_) => "a control character in a name",
            WireError::TextTooLong { .. } => "a text over the limit",
            WireError::TextNotUtf8 => "a text that is not UTF-8",
            WireError::DetailTooLong { .. } => "a detail over 96 bytes",
            WireError::UnknownEchoMode(_) => "an unknown echo mode",
            WireError::UnknownFlags(_) => "undefined flag bits",
            WireError::UnknownErrorCode(_) => "an unknown error code",
            WireError::MaxFrameOutOfRange(_) => "a max frame outside 168 to 1023",
            WireError::BadPadding => "padding that is not zeros",
            WireError::UserListInconsistent { .. } => "a user list past its total",
            WireError::BufferTooSmall { .. } => "a buffer too small",
        }
    }

    /// The kind of the frame the error is about, when known.
    pub const fn kind(&self) -> Option<Kind> {
        match self {
            WireError::Truncated { kind }
            | WireError::TrailingBytes { kind, .. }
            | WireError::UnexpectedKind(kind) => Some(*kind),
            _ => None,
        }
    }
}

pub use crate::name_policy::NameError; // beside the policy that raises it

/// Why a byte stream could not be split into frames.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A frame in the stream is longer than the decoder's buffer; it was skipped up to the
    /// next delimiter, and decoding goes on from there.
    #[error(
        "a frame in the byte stream is longer than {limit} bytes; it was skipped up to the next delimiter"
    )]
    FrameTooLong {
        /// The decoder's limit in bytes.
        limit: usize,
    },
    /// A frame in the stream is not valid COBS (it ends in the middle of a run); it was
    /// skipped, and decoding goes on after its delimiter.
    #[error("a frame in the byte stream is not valid COBS; it was skipped")]
    Corrupt,
    /// A frame's CRC does not match its bytes (line noise, or lost bytes): it was dropped
    /// unparsed.
    #[error("a frame in the byte stream failed its CRC check; it was dropped")]
    BadCheck,
    /// The output buffer cannot hold the encoded frame.
    #[error("the encoded frame needs {needed} bytes, but the buffer holds only {available}")]
    BufferTooSmall {
        /// Bytes the encoding needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
}

/// Why a handshake message or a sealed frame was refused (the `secure` feature).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecureError {
    /// It did not authenticate: altered on the way, sealed under another key, or meant for
    /// another session or another server.
    #[error("a sealed message did not authenticate: it was altered, or sealed for someone else")]
    Unauthentic,
    /// It is shorter than its fixed parts (a key, a tag, a nonce).
    #[error(
        "a sealed message is {len} bytes long, shorter than the {min} bytes of its fixed parts"
    )]
    TooShort {
        /// Its length in bytes.
        len: usize,
        /// The least it can be.
        min: usize,
    },
    /// It was received before, or is too old to tell (outside the replay window).
    #[error("a sealed message came again, or too late to tell it from a replay; it was dropped")]
    Replayed,
    /// A Diffie-Hellman result was all zeros: the peer's key is a point of low order,
    /// which no honest peer sends.
    #[error("the peer's public key is not a usable key (a point of low order)")]
    WeakKey,
    /// The output buffer cannot hold what was to be written.
    #[error("the sealed message needs {needed} bytes, but the buffer holds only {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The session sealed as many messages as its nonces allow; it must end.
    #[error("the session used up its nonces; it must be started again")]
    Exhausted,
}

/// Why the user table refused an insertion.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// Every slot is taken; no active user is ever evicted to make room.
    #[error("the user table is full ({capacity} users)")]
    Full {
        /// The table's capacity.
        capacity: usize,
    },
    /// Another user has a name with the same key ([`crate::name_policy::key`]): the same
    /// name, or one that looks the same on screen.
    #[error("another user already has that name, or one that looks the same")]
    NameTaken,
    /// Another user already has this address.
    #[error("another user already has this address")]
    AddressTaken,
    /// Another session already has this token (the server never mints one twice).
    #[error("another session already has this token")]
    TokenTaken,
}

/// Why the server refused something its embedding asked of it.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configured capacity is more than the table was built for.
    #[error("a capacity of {asked} users is more than this build holds ({max})")]
    CapacityTooLarge {
        /// The capacity asked for.
        asked: usize,
        /// The most the table holds.
        max: usize,
    },
    /// No connected user has that name.
    #[error("no user by that name is connected")]
    NoSuchUser,
    /// The text is longer than the server accepts.
    #[error("the text is {len} bytes long, over this server's limit of {max} bytes")]
    TextTooLong {
        /// The text's length in bytes.
        len: usize,
        /// The server's limit.
        max: usize,
    },
    /// The room's ring is full of messages its users still need: try again once they
    /// have caught up.
    #[error("the room is full of messages its users still need; try again once they catch up")]
    RoomFull,
}

pub use crate::settings::ConfigError; // beside the range checks that raise it

/// Why the client refused something its application asked of it.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The outgoing queue is full; try again once messages are acknowledged.
    #[error(
        "{capacity} messages are already waiting for the server; wait for them to be acknowledged"
    )]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The text is longer than the server accepts.
    #[error("the text is {len} bytes long, over the server's limit of {max} bytes")]
    TextTooLong {
        /// The text's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The messages waiting for the server fill the outbox's arena; try again once some
    /// are acknowledged.
    #[error(
        "the messages waiting for the server fill the client's {bytes}-byte outbox; wait for them to be acknowledged"
    )]
    OutboxFull {
        /// The arena's size in bytes.
        bytes: usize,
    },
    /// The text is longer than the client's outbox holds (its `OUTBOX_BYTES` parameter).
    #[error("the text is {len} bytes long, longer than the client's {bytes}-byte outbox holds")]
    TextOverOutbox {
        /// The text's length in bytes.
        len: usize,
        /// The arena's size in bytes.
        bytes: usize,
    },
    /// A name is not valid.
    #[error("{0}")]
    InvalidName(WireError),
    /// A request of this kind is already waiting for its answer.
    #[error("the previous request of this kind is still waiting for its answer")]
    RequestPending,
    /// The session is over (left, kicked or refused); nothing more can be sent.
    #[error("the session is over; nothing more can be sent")]
    Closed,
}

/// Why a transport could not move a datagram: the adapter's own error, and which way.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError<E> {
    /// Receiving failed.
    #[error("receiving a datagram failed: {0}")]
    Receive(E),
    /// Sending failed.
    #[error("sending a datagram failed: {0}")]
    Send(E),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn the_short_reasons_name_the_limits_as_they_are() {
        use crate::wire::limits::{MAX_DETAIL, MAX_FRAME, MAX_NAME, MIN_FRAME};
        let says = |error: WireError, limit: usize| {
            let reason = error.reason();
            assert!(reason.contains(&limit.to_string()), "{reason:?} for {limit}");
        };
        says(WireError::FrameTooLong { len: MAX_FRAME + 1 }, MAX_FRAME);
        says(WireError::NameTooLong { len: MAX_NAME + 1 }, MAX_NAME);
        says(WireError::DetailTooLong { len: MAX_DETAIL + 1 }, MAX_DETAIL);
        says(WireError::MaxFrameOutOfRange(0), MIN_FRAME);
        says(WireError::MaxFrameOutOfRange(0), MAX_FRAME - 1);
    }
}
