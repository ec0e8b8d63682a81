//! The frame view: a zero-copy window onto one datagram's bytes (smoltcp's `Packet`).

use crate::error::WireError;
use crate::wire::limits::{HEADER_LEN, MAGIC, MAX_FRAME, TOKEN_LEN, VERSION};
use crate::wire::{Kind, Token};

/// Byte offsets of the fields every frame shares.
mod field {
    use core::ops::{Range, RangeFrom};

    pub(super) const MAGIC: usize = 0;
    pub(super) const VERSION: usize = 1;
    pub(super) const KIND: usize = 2;
    pub(super) const TOKEN: Range<usize> = 3..11;
    pub(super) const BODY: RangeFrom<usize> = 3..;
}

/// Whether a datagram is a minichat frame at all: it starts with [`MAGIC`]. Anything else
/// (including an empty datagram) is legacy plain text to the host.
pub fn is_frame(datagram: &[u8]) -> bool {
    datagram.first() == Some(&MAGIC)
}

/// A read (and, over a mutable buffer, write) view of one frame's bytes.
///
/// [`Frame::new_checked`] guarantees the header is present and the length within
/// [`MAX_FRAME`]; [`crate::wire::Message::parse`] then reads the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without any check; accessors still never panic.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps a buffer, checking it starts with the magic byte and has a header and no more
    /// than [`MAX_FRAME`] bytes.
    pub fn new_checked(buffer: T) -> Result<Frame<T>, WireError> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// The checks of [`Frame::new_checked`].
    pub fn check_len(&self) -> Result<(), WireError> {
        let bytes = self.buffer.as_ref();
        if !is_frame(bytes) {
            Err(WireError::NotAFrame)
        } else if bytes.len() < HEADER_LEN {
            Err(WireError::HeaderTruncated { len: bytes.len() })
        } else if bytes.len() > MAX_FRAME {
            Err(WireError::FrameTooLong { len: bytes.len() })
        } else {
            Ok(())
        }
    }

    /// The whole frame.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The first byte, [`MAGIC`] in every frame.
    pub fn magic(&self) -> u8 {
        self.byte(field::MAGIC)
    }

    /// The protocol version byte.
    pub fn version(&self) -> u8 {
        self.byte(field::VERSION)
    }

    /// The kind, if the version is [`VERSION`] and the kind byte is one it defines.
    pub fn kind(&self) -> Result<Kind, WireError> {
        match self.version() {
            VERSION => Kind::from_byte(self.byte(field::KIND)),
            other => Err(WireError::UnsupportedVersion(other)),
        }
    }

    /// The session token, for a frame whose kind carries one and is long enough to hold
    /// it. Lets a server find the session before it parses the rest.
    pub fn token(&self) -> Option<Token> {
        let kind = self.kind().ok()?;
        if !kind.has_token() {
            return None;
        }
        let bytes: [u8; TOKEN_LEN] = self.buffer.as_ref().get(field::TOKEN)?.try_into().ok()?;
        Some(Token(u64::from_be_bytes(bytes)))
    }

    /// Everything after the three-byte header.
    pub fn body(&self) -> &[u8] {
        self.buffer.as_ref().get(field::BODY).unwrap_or_default()
    }

    fn byte(&self, index: usize) -> u8 {
        self.buffer.as_ref().get(index).copied().unwrap_or_default()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Writes magic, [`VERSION`] and `kind`.
    pub fn set_header(&mut self, kind: Kind) -> Result<(), WireError> {
        let buffer = self.buffer.as_mut();
        let available = buffer.len();
        let header = buffer
            .get_mut(..HEADER_LEN)
            .ok_or(WireError::BufferTooSmall { needed: HEADER_LEN, available })?;
        header.iter_mut().zip([MAGIC, VERSION, kind.to_byte()]).for_each(|(d, s)| *d = s);
        Ok(())
    }

    /// Everything after the header, writable.
    pub fn body_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut().get_mut(field::BODY).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_magic_and_length() {
        assert_eq!(Frame::new_checked(&b""[..]).err(), Some(WireError::NotAFrame));
        assert_eq!(Frame::new_checked(&b"hello"[..]).err(), Some(WireError::NotAFrame));
        assert_eq!(
            Frame::new_checked(&b"\xff\x01"[..]).err(),
            Some(WireError::HeaderTruncated { len: 2 })
        );
        let long = [0xffu8; MAX_FRAME + 1];
        assert_eq!(
            Frame::new_checked(&long[..]).err(),
            Some(WireError::FrameTooLong { len: MAX_FRAME + 1 })
        );
        assert!(Frame::new_checked(&long[..MAX_FRAME]).is_ok());
    }

    #[test]
    fn reads_header_and_token() {
        let bytes = b"\xff\x02\x24\x00\x00\x00\x00\x00\x00\x00\x2a\x00\x00\x00\x01";
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(frame.kind(), Ok(Kind::Ping));
        assert_eq!(frame.token(), Some(Token(42)));
        let v1 = Frame::new_checked(&b"\xff\x01\x24"[..]).unwrap();
        assert_eq!(v1.kind(), Err(WireError::UnsupportedVersion(1)));
        assert_eq!(v1.token(), None);
        let short = Frame::new_checked(&b"\xff\x02\x24\x00"[..]).unwrap();
        assert_eq!(short.token(), None);
        let join = Frame::new_checked(&b"\xff\x02\x01"[..]).unwrap();
        assert_eq!(join.token(), None);
    }
}
