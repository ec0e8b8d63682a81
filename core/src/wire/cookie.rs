//! The join cookie: the stateless proof that a joining client can receive at its address.

use crate::wire::limits::COOKIE_LEN;

/// An opaque join cookie, like DTLS's HelloVerifyRequest cookie.
///
/// A client's first `join` carries [`Cookie::EMPTY`]; the server answers with a cookie it
/// computed from the client's address, the time and a secret, keeping no state. Only a
/// `join` that echoes a valid cookie takes a table slot, so spoofed joins cost the server
/// nothing. The client never looks inside.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Cookie(pub [u8; COOKIE_LEN]);

impl Cookie {
    /// The cookie of a first join: all zeros.
    pub const EMPTY: Cookie = Cookie([0; COOKIE_LEN]);

    /// Whether this is [`Cookie::EMPTY`].
    pub fn is_empty(&self) -> bool {
        *self == Self::EMPTY
    }
}
