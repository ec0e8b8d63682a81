//! The server's answer to an `echo`, written in place: `echo` and `echo-reply` have the
//! same layout, so the answer is the request with its kind byte flipped and its text
//! mapped, without parsing and re-emitting the text.

use crate::address::PeerAddress;
use crate::transport::Transmit;
use crate::wire::{EchoMode, Frame, Kind, Message, Token};

/// Writes the reply to the `echo` frame `echo` (already parsed, with `mode`) into `out`,
/// returning its length; `None` if `out` is too short. `A`: the address type of the
/// server's peers, whose writers measure the layout.
pub(crate) fn echo_reply_in_place<A: PeerAddress>(
    echo: &[u8],
    mode: EchoMode,
    out: &mut [u8],
) -> Option<usize> {
    // The text starts where a reply with an empty text ends: derived from the layout
    // (through the server's writers, which the server carries anyway).
    let empty = Message::EchoReply { token: Token::NONE, req: 0, mode, text: "" };
    let text_at = Transmit::<A>::len_to_client(&empty);
    let len = echo.len();
    let out = out.get_mut(..len)?;
    // Same length by construction; a zip cannot panic either way.
    out.iter_mut().zip(echo).for_each(|(d, s)| *d = *s);
    Frame::new_unchecked(&mut *out).set_header(Kind::EchoReply).ok()?;
    mode.apply(out.get_mut(text_at..)?);
    Some(len)
}
