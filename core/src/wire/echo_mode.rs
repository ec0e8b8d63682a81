//! Echo modes and the ASCII case mapping they apply.

use crate::error::WireError;

/// How the server transforms the text of an `echo` before sending it back.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum EchoMode {
    /// The same bytes back.
    #[default]
    Same = 0,
    /// ASCII letters upper-cased, every other byte untouched (Python's `bytes.upper()`).
    Upper = 1,
    /// ASCII letters lower-cased, every other byte untouched (Python's `bytes.lower()`).
    Lower = 2,
}

impl EchoMode {
    /// The mode's byte on the wire.
    pub const fn to_byte(self) -> u8 {
        self as u8
    }

    /// The mode for a byte, or [`WireError::UnknownEchoMode`].
    pub const fn from_byte(byte: u8) -> Result<Self, WireError> {
        match byte {
            0 => Ok(EchoMode::Same),
            1 => Ok(EchoMode::Upper),
            2 => Ok(EchoMode::Lower),
            other => Err(WireError::UnknownEchoMode(other)),
        }
    }

    /// Transforms `bytes` in place. Only the ASCII letters a–z / A–Z change, exactly as
    /// Python's `bytes.upper()` and `bytes.lower()` do; UTF-8 stays valid UTF-8, because
    /// no byte of a multi-byte sequence is ASCII.
    pub fn apply(self, bytes: &mut [u8]) {
        match self {
            EchoMode::Same => {}
            EchoMode::Upper => bytes.make_ascii_uppercase(),
            EchoMode::Lower => bytes.make_ascii_lowercase(),
        }
    }

    /// The mode's name, as the host's command line writes it.
    pub const fn name(self) -> &'static str {
        match self {
            EchoMode::Same => "same",
            EchoMode::Upper => "upper",
            EchoMode::Lower => "lower",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::manual_is_ascii_check, reason = "the test must not reuse what it tests")]
    fn maps_ascii_letters_only() {
        // The 26 letters move by 0x20; all other 230 byte values stay.
        for byte in 0..=u8::MAX {
            let (mut upper, mut lower) = ([byte], [byte]);
            EchoMode::Upper.apply(&mut upper);
            EchoMode::Lower.apply(&mut lower);
            let expected_upper = if matches!(byte, b'a'..=b'z') { byte - 0x20 } else { byte };
            let expected_lower = if matches!(byte, b'A'..=b'Z') { byte + 0x20 } else { byte };
            assert_eq!((upper[0], lower[0]), (expected_upper, expected_lower), "byte {byte:#04x}");
        }
    }

    #[test]
    fn bytes_round_trip() {
        for mode in [EchoMode::Same, EchoMode::Upper, EchoMode::Lower] {
            assert_eq!(EchoMode::from_byte(mode.to_byte()), Ok(mode));
        }
        assert_eq!(EchoMode::from_byte(3), Err(WireError::UnknownEchoMode(3)));
    }
}
