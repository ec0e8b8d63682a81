//! Every size limit of the protocol, defined once.
//!
//! The rest of the crate, the host and the spec (`docs/PROTOCOL.md`, "Limits") refer to
//! these constants; nothing else hard-codes a size.

/// The first byte of every frame. 0xFF never occurs in UTF-8, so a frame can never be
/// mistaken for text, and text never for a frame.
pub const MAGIC: u8 = 0xFF;

/// The protocol version this build speaks, the second byte of every frame.
pub const VERSION: u8 = 2;

/// Magic, version and kind: the bytes every frame starts with.
pub const HEADER_LEN: usize = 3;

/// The largest frame, header included. One frame is one datagram.
pub const MAX_FRAME: usize = 1024;

/// [`MAX_FRAME`] as the `u16` a `join`'s `max frame` carries.
pub const MAX_FRAME_U16: u16 = 1024;

/// The smallest frame a client may say it takes (a `join`'s `max frame`): the largest
/// frame a server sends that carries no message text, an `answer` whose sealed `refused`
/// has the longest detail. So whatever a client announces, only a text can be too long
/// for it (and it is told of such a message as lost: `docs/PROTOCOL.md`, "Server to
/// client").
pub const MIN_FRAME: usize = HEADER_LEN + 8 + HANDSHAKE_MIN + HEADER_LEN + 8 + 1 + 1 + MAX_DETAIL;

/// The longest text a client that takes frames of up to `max_frame` bytes can be
/// delivered: what a `deliver` from a sender with the longest name leaves, less what
/// sealing adds in an encrypted session.
pub const fn text_in_frame(max_frame: usize, sealed: bool) -> usize {
    let text = max_frame.saturating_sub(DELIVER_OVERHEAD);
    if sealed { text.saturating_sub(SEALED_OVERHEAD) } else { text }
}

/// Length of the session token that follows the header in every frame but `join` and
/// `cookie`.
pub const TOKEN_LEN: usize = 8;

/// Length of the opaque join cookie.
pub const COOKIE_LEN: usize = 16;

/// The shortest legal user name, in bytes.
pub const MIN_NAME: usize = 1;

/// The longest legal user name, in bytes of UTF-8.
pub const MAX_NAME: usize = 16;

/// The longest error detail, in bytes of UTF-8.
pub const MAX_DETAIL: usize = 96;

/// The fixed part of a `deliver` frame, the largest of all frames that carry text:
/// header, token, seq, flags, a name of [`MAX_NAME`] bytes with its length byte, and the
/// text length.
pub const DELIVER_OVERHEAD: usize = HEADER_LEN + TOKEN_LEN + 4 + 1 + 1 + MAX_NAME + 2;

/// The longest message text, in bytes of UTF-8: whatever still fits a `deliver` frame
/// from a sender with the longest name. Every frame that carries text (say, tell, echo)
/// uses the same limit, so anything a client may send can be relayed.
pub const MAX_TEXT: usize = MAX_FRAME - DELIVER_OVERHEAD;

/// What sealing adds to a frame of an encrypted session: the `sealed` frame's header,
/// token and nonce, and the AEAD's tag.
pub const SEALED_OVERHEAD: usize = HEADER_LEN + TOKEN_LEN + 8 + SEAL_TAG_LEN;

/// The AEAD's tag (ChaCha20-Poly1305).
pub const SEAL_TAG_LEN: usize = 16;

/// The least a Noise handshake message in a `hello` or an `answer` holds: an ephemeral
/// public key and a tag.
pub const HANDSHAKE_MIN: usize = 32 + SEAL_TAG_LEN;

/// The longest text of an encrypted session: a `deliver` of [`MAX_TEXT`] less what
/// sealing adds.
pub const MAX_SEALED_TEXT: usize = MAX_TEXT - SEALED_OVERHEAD;

/// [`MAX_TEXT`] as the `u16` a `welcome` carries.
pub const MAX_TEXT_U16: u16 = 989;

const _: () = assert!(MAX_TEXT == 989 && MAX_TEXT == MAX_TEXT_U16 as usize);
const _: () = assert!(MAX_FRAME == MAX_FRAME_U16 as usize && MIN_FRAME == 168);
