//! Bounds-checked reading and writing of big-endian fields; every frame layout is built
//! from these, so no parser or emitter indexes a slice itself.

use crate::error::WireError;
use crate::wire::Kind;
use crate::wire::limits::{MAX_DETAIL, MAX_TEXT};
use crate::wire::name::{Name, NameList};

/// Reads the fields of one frame's body, front to back.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    kind: Kind,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(body: &'a [u8], kind: Kind) -> Self {
        Reader { rest: body, kind }
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        let (head, tail) =
            self.rest.split_at_checked(len).ok_or(WireError::Truncated { kind: self.kind })?;
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let bytes = self.bytes(N)?;
        bytes.try_into().map_err(|_| WireError::Truncated { kind: self.kind })
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        self.array::<1>().map(|[b]| b)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, WireError> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        self.array().map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, WireError> {
        self.array().map(u64::from_be_bytes)
    }

    /// A name: one length byte, then the name.
    pub(crate) fn name(&mut self) -> Result<Name<'a>, WireError> {
        let len = self.u8()?;
        Name::from_bytes(self.bytes(usize::from(len))?)
    }

    /// A text: two length bytes, then UTF-8.
    pub(crate) fn text(&mut self) -> Result<&'a str, WireError> {
        let len = usize::from(self.u16()?);
        if len > MAX_TEXT {
            return Err(WireError::TextTooLong { len });
        }
        core::str::from_utf8(self.bytes(len)?).map_err(|_| WireError::TextNotUtf8)
    }

    /// An error detail: one length byte, then UTF-8.
    pub(crate) fn detail(&mut self) -> Result<&'a str, WireError> {
        let len = usize::from(self.u8()?);
        if len > MAX_DETAIL {
            return Err(WireError::DetailTooLong { len });
        }
        core::str::from_utf8(self.bytes(len)?).map_err(|_| WireError::TextNotUtf8)
    }

    /// A name list: one count byte, then that many names.
    pub(crate) fn name_list(&mut self) -> Result<NameList<'a>, WireError> {
        let count = self.u8()?;
        let start = self.rest;
        for _ in 0..count {
            self.name()?;
        }
        let used = start.len() - self.rest.len();
        Ok(NameList::from_validated(count, start.get(..used).unwrap_or_default()))
    }

    /// Ends the body: nothing may follow the last field.
    pub(crate) fn finish(self) -> Result<(), WireError> {
        match self.rest.len() {
            0 => Ok(()),
            extra => Err(WireError::TrailingBytes { kind: self.kind, extra }),
        }
    }
}

/// Writes the fields of one frame, front to back, into a buffer already checked to be
/// large enough; a short buffer is still an error, never a panic.
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    pub(crate) const fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        let available = self.buf.len();
        let end = self.len.saturating_add(bytes.len());
        let too_small = WireError::BufferTooSmall { needed: end, available };
        let slot = self.buf.get_mut(self.len..end).ok_or(too_small)?;
        // Equal lengths by construction; a zip cannot panic either way.
        slot.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s);
        self.len = end;
        Ok(())
    }

    pub(crate) fn u8(&mut self, value: u8) -> Result<(), WireError> {
        self.bytes(&[value])
    }

    pub(crate) fn u16(&mut self, value: u16) -> Result<(), WireError> {
        self.bytes(&value.to_be_bytes())
    }

    pub(crate) fn u32(&mut self, value: u32) -> Result<(), WireError> {
        self.bytes(&value.to_be_bytes())
    }

    pub(crate) fn u64(&mut self, value: u64) -> Result<(), WireError> {
        self.bytes(&value.to_be_bytes())
    }

    pub(crate) fn name(&mut self, name: Name<'_>) -> Result<(), WireError> {
        let bytes = name.as_str().as_bytes();
        let len =
            u8::try_from(bytes.len()).map_err(|_| WireError::NameTooLong { len: bytes.len() })?;
        self.u8(len)?;
        self.bytes(bytes)
    }

    pub(crate) fn text(&mut self, text: &str) -> Result<(), WireError> {
        let len = text.len();
        let len16 = u16::try_from(len).ok().filter(|_| len <= MAX_TEXT);
        self.u16(len16.ok_or(WireError::TextTooLong { len })?)?;
        self.bytes(text.as_bytes())
    }

    pub(crate) fn detail(&mut self, detail: &str) -> Result<(), WireError> {
        let len = detail.len();
        let len8 = u8::try_from(len).ok().filter(|_| len <= MAX_DETAIL);
        self.u8(len8.ok_or(WireError::DetailTooLong { len })?)?;
        self.bytes(detail.as_bytes())
    }

    pub(crate) fn name_list(&mut self, names: &NameList<'_>) -> Result<(), WireError> {
        self.u8(names.len())?;
        self.bytes(names.encoded())
    }
}
