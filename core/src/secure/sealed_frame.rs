//! The `sealed` frame's layout (`docs/PROTOCOL.md`, section 12): its clear part — header,
//! the session's token, the message's nonce — authenticated as associated data, then the
//! session's frame sealed, then the tag. Client and server seal the same way.

use crate::secure::Session;
use crate::wire::Kind;
use crate::wire::Token;
use crate::wire::limits::{HEADER_LEN, MAGIC, SEAL_TAG_LEN, TOKEN_LEN, VERSION};

/// The clear part of a `sealed` frame: header, token, nonce (its associated data).
pub(crate) const SEALED_HEADER: usize = HEADER_LEN + TOKEN_LEN + 8;

/// Seals the frame in `buf[..len]` in place as a `sealed` frame of the session `token`:
/// returns its length, or `None` if `buf` cannot hold it or the session's nonces ran out.
/// The frame moves up to make room for the clear part; a writer that knows beforehand
/// writes it behind that room and calls [`seal_behind_header`] (no move, and no `memmove`
/// in a firmware client).
pub(crate) fn seal_frame(
    session: &mut Session,
    token: Token,
    buf: &mut [u8],
    len: usize,
) -> Option<usize> {
    // Checked before the move, so a frame that cannot be sealed is left as it was.
    holds_sealed(buf, len)?;
    buf.get_mut(..len + SEALED_HEADER)?.rotate_right(SEALED_HEADER);
    seal_behind_header(session, token, buf, len)
}

/// Seals the frame in `buf[SEALED_HEADER..][..len]`, written behind room for the clear
/// part, as a `sealed` frame of the session `token`: returns its length, or `None` if
/// `buf` cannot hold it or the session's nonces ran out.
pub(crate) fn seal_behind_header(
    session: &mut Session,
    token: Token,
    buf: &mut [u8],
    len: usize,
) -> Option<usize> {
    holds_sealed(buf, len)?;
    let (header, rest) = buf.split_at_mut_checked(SEALED_HEADER)?;
    let (token, nonce) = (token.0.to_be_bytes(), session.next_nonce().to_be_bytes());
    let clear = [MAGIC, VERSION, Kind::Sealed.to_byte()];
    let fields = clear.iter().chain(&token).chain(&nonce);
    header.iter_mut().zip(fields).for_each(|(d, s)| *d = *s);
    let (_, sealed) = session.seal(header, rest, len).ok()?;
    Some(SEALED_HEADER + sealed)
}

/// `Some` if `buf` holds the `sealed` frame of a `len`-byte frame: clear part, frame, tag.
// Inlined: as a call, it moved LLVM's inlining of the secure client by 144 B.
#[inline(always)]
fn holds_sealed(buf: &[u8], len: usize) -> Option<()> {
    let needed = len.checked_add(SEALED_HEADER + SEAL_TAG_LEN)?;
    (buf.len() >= needed).then_some(())
}
