//! The one-byte code of `error` and `refused` frames: what went wrong. The numbers are
//! part of the wire format (`docs/PROTOCOL.md`, "Error codes").

use crate::error::WireError;

/// The code an `error` frame carries: what went wrong, in one byte.
///
/// The numbers are part of the wire format (`docs/PROTOCOL.md`, "Error codes").
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum ErrorCode {
    /// The frame could not be parsed; the detail says why.
    Malformed = 1,
    /// The frame's version is not one the server speaks.
    UnsupportedVersion = 2,
    /// Another user has this name, or one that looks the same (names are compared by
    /// their key, [`crate::name_policy::key`]).
    NameTaken = 3,
    /// Every slot of the server's user table is taken.
    ServerFull = 4,
    /// A `tell` names a user who is not connected.
    NoSuchUser = 5,
    /// The sender is over its rate limit; its message was not accepted and will be accepted
    /// when it is sent again later.
    RateLimited = 6,
    /// The operator removed this user.
    Kicked = 7,
    /// The server is shutting down.
    ShuttingDown = 8,
    /// The text is longer than this server accepts (its `welcome` says the limit).
    TextTooLong = 9,
    /// The name breaks the name policy ([`crate::name_policy::check`]); the detail says
    /// which rule.
    InvalidName = 10,
    /// The join's source IP address already holds as many sessions as the server allows
    /// one address.
    TooManyFromAddress = 11,
    /// The server takes encrypted sessions only; the join was in the clear.
    EncryptionRequired = 12,
    /// The name belongs to another key (its owner's, recorded by the server or declared
    /// by its operator): a session without that key cannot take it.
    NameOwned = 13,
    /// The server lets in only the keys its operator listed, and the join's key (or the
    /// join, without one) is not listed, or not for this name.
    KeyNotAuthorized = 14,
    /// The operator has banned the join's key.
    KeyBanned = 15,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::Malformed,
        ErrorCode::UnsupportedVersion,
        ErrorCode::NameTaken,
        ErrorCode::ServerFull,
        ErrorCode::NoSuchUser,
        ErrorCode::RateLimited,
        ErrorCode::Kicked,
        ErrorCode::ShuttingDown,
        ErrorCode::TextTooLong,
        ErrorCode::InvalidName,
        ErrorCode::TooManyFromAddress,
        ErrorCode::EncryptionRequired,
        ErrorCode::NameOwned,
        ErrorCode::KeyNotAuthorized,
        ErrorCode::KeyBanned,
    ];

    /// The code's byte on the wire.
    pub const fn to_byte(self) -> u8 {
        self as u8
    }

    /// The code for a byte, or [`WireError::UnknownErrorCode`].
    pub fn from_byte(byte: u8) -> Result<Self, WireError> {
        // The codes are 1, 2, 3, … in `ALL`'s order: the byte is its index plus one.
        Self::ALL
            .get(usize::from(byte).wrapping_sub(1))
            .copied()
            .ok_or(WireError::UnknownErrorCode(byte))
    }

    /// What the code means, as a sentence fragment a user can read.
    pub const fn describe(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "the frame could not be parsed",
            ErrorCode::UnsupportedVersion => "the protocol version is not supported",
            ErrorCode::NameTaken => "the name is taken",
            ErrorCode::ServerFull => "the server is full",
            ErrorCode::NoSuchUser => "no user by that name is connected",
            ErrorCode::RateLimited => "messages are arriving too fast",
            ErrorCode::Kicked => "the operator removed this user",
            ErrorCode::ShuttingDown => "the server is shutting down",
            ErrorCode::TextTooLong => "the text is too long for this server",
            ErrorCode::InvalidName => "the name is not allowed",
            ErrorCode::TooManyFromAddress => "this address has too many sessions",
            ErrorCode::EncryptionRequired => "this server takes encrypted sessions only",
            ErrorCode::NameOwned => "the name belongs to another key",
            ErrorCode::KeyNotAuthorized => "this server lets in only the keys its operator listed",
            ErrorCode::KeyBanned => "the operator has banned this key",
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.describe())
    }
}

impl From<WireError> for ErrorCode {
    fn from(error: WireError) -> Self {
        match error {
            WireError::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
            _ => ErrorCode::Malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `from_byte` reads a code by its place in `ALL`: the codes must be 1, 2, 3, … there.
    #[test]
    fn every_code_is_read_back_from_its_byte_and_no_other_byte_is_a_code() {
        for (index, code) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(usize::from(code.to_byte()), index + 1, "{code:?} out of place");
        }
        for byte in 0..=u8::MAX {
            match ErrorCode::from_byte(byte) {
                Ok(code) => assert_eq!(code.to_byte(), byte),
                Err(error) => {
                    assert_eq!(error, WireError::UnknownErrorCode(byte));
                    assert!(byte == 0 || usize::from(byte) > ErrorCode::ALL.len());
                }
            }
        }
    }
}
