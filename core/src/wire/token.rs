//! The session token: the 64-bit secret that names a session on every frame after join.

/// An unpredictable 64-bit session token, issued by the server in `welcome` and carried by
/// every later frame of the session in both directions. An off-path sender who does not
/// know it cannot speak for another address, nor inject frames into a client.
///
/// [`Token::NONE`] (zero) is never issued; `error` and `unknown-session` frames use it when
/// there is no session to name.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Token(pub u64);

impl Token {
    /// No session.
    pub const NONE: Token = Token(0);

    /// Whether this is [`Token::NONE`].
    pub const fn is_none(self) -> bool {
        self.0 == 0
    }
}

/// Tokens are secrets: `Debug` shows only the low 16 bits, enough to tell sessions apart
/// in a log without handing the session to whoever reads it.
impl core::fmt::Debug for Token {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Token(..{:04x})", self.0 & 0xffff)
    }
}
