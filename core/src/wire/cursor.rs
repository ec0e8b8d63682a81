//! Bounds-checked reading and writing of big-endian fields; every frame layout is built
//! from these, so no parser or emitter indexes a slice itself.

use crate::error::WireError;
use crate::wire::Kind;
use crate::wire::limits::{MAX_DETAIL, MAX_FRAME, MAX_FRAME_U16, MAX_TEXT, MIN_FRAME};
use crate::wire::name::{ELSEWHERE, ListedName, Name, NameList};

/// Reads the fields of one frame's body, front to back.
///
/// A fixed-size field past the end reads as zeros and marks the reader short; the frame is
/// then [`WireError::Truncated`], whatever its fields said ([`Reader::error`],
/// [`Reader::finish`]). So the parsers read fields without a branch each, and a firmware
/// carries one truncation path, not one per field.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    kind: Kind,
    short: bool,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(body: &'a [u8], kind: Kind) -> Self {
        Reader { rest: body, kind, short: false }
    }

    /// The next `len` bytes; none, and the reader short, if fewer are left.
    pub(crate) fn bytes(&mut self, len: usize) -> &'a [u8] {
        match self.rest.split_at_checked(len) {
            Some((head, tail)) => {
                self.rest = tail;
                head
            }
            None => {
                self.short = true;
                self.rest = &[];
                &[]
            }
        }
    }

    pub(crate) fn array<const N: usize>(&mut self) -> [u8; N] {
        let bytes = self.bytes(N);
        bytes.try_into().unwrap_or([0; N])
    }

    pub(crate) fn u8(&mut self) -> u8 {
        let [b] = self.array::<1>();
        b
    }

    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.array())
    }

    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.array())
    }

    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.array())
    }

    /// `error` of parsing fields with this reader, unless it ran short: a frame that ends
    /// early is [`WireError::Truncated`], not whatever its zeros failed.
    pub(crate) const fn error(&self, error: WireError) -> WireError {
        if self.short { self.truncated() } else { error }
    }

    /// Fails if the reader ran short.
    const fn check(&self) -> Result<(), WireError> {
        if self.short { Err(self.truncated()) } else { Ok(()) }
    }

    const fn truncated(&self) -> WireError {
        WireError::Truncated { kind: self.kind }
    }

    /// A name: one length byte, then the name.
    pub(crate) fn name(&mut self) -> Result<Name<'a>, WireError> {
        let len = self.u8();
        let bytes = self.bytes(usize::from(len));
        self.check()?;
        Name::from_bytes(bytes)
    }

    /// A text: two length bytes, then UTF-8.
    pub(crate) fn text(&mut self) -> Result<&'a str, WireError> {
        let len = usize::from(self.u16());
        self.check()?;
        if len > MAX_TEXT {
            return Err(WireError::TextTooLong { len });
        }
        let bytes = self.bytes(len);
        self.check()?;
        core::str::from_utf8(bytes).map_err(|_| WireError::TextNotUtf8)
    }

    /// An error detail: one length byte, then UTF-8.
    pub(crate) fn detail(&mut self) -> Result<&'a str, WireError> {
        let len = usize::from(self.u8());
        self.check()?;
        if len > MAX_DETAIL {
            return Err(WireError::DetailTooLong { len });
        }
        let bytes = self.bytes(len);
        self.check()?;
        core::str::from_utf8(bytes).map_err(|_| WireError::TextNotUtf8)
    }

    /// A user in a name list: a name whose length byte's top bit ([`ELSEWHERE`]) says the
    /// name of the server the user is on follows, itself a name.
    pub(crate) fn listed_name(&mut self) -> Result<ListedName<'a>, WireError> {
        let len = self.u8();
        let bytes = self.bytes(usize::from(len & !ELSEWHERE));
        self.check()?;
        let name = Name::from_bytes(bytes)?;
        let place = if len & ELSEWHERE != 0 { Some(self.name()?) } else { None };
        Ok(ListedName { name, place })
    }

    /// A name list: one count byte, then that many listed names.
    pub(crate) fn name_list(&mut self) -> Result<NameList<'a>, WireError> {
        let count = self.u8();
        self.check()?;
        let start = self.rest;
        for _ in 0..count {
            self.listed_name()?;
        }
        let used = start.len() - self.rest.len();
        Ok(NameList::from_validated(count, start.get(..used).unwrap_or_default()))
    }

    /// A join's optional last field, the largest frame its client takes:
    /// [`MAX_FRAME_U16`] when absent. Present, it is below that, so each join has one
    /// encoding (a join re-emitted is the frame it was read from).
    pub(crate) fn max_frame(&mut self) -> Result<u16, WireError> {
        if self.rest.is_empty() {
            return Ok(MAX_FRAME_U16);
        }
        let max_frame = self.u16();
        if (MIN_FRAME..MAX_FRAME).contains(&usize::from(max_frame)) {
            Ok(max_frame)
        } else {
            Err(WireError::MaxFrameOutOfRange(max_frame))
        }
    }

    /// What is left to read.
    pub(crate) const fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Everything left, the frame's last field, which must hold at least `min` bytes.
    pub(crate) fn remaining(&mut self, min: usize) -> Result<&'a [u8], WireError> {
        if self.short || self.rest.len() < min {
            return Err(self.truncated());
        }
        Ok(core::mem::take(&mut self.rest))
    }

    /// Ends the body: nothing may follow the last field.
    pub(crate) fn finish(self) -> Result<(), WireError> {
        self.check()?;
        match self.rest.len() {
            0 => Ok(()),
            extra => Err(WireError::TrailingBytes { kind: self.kind, extra }),
        }
    }
}

/// Writes the fields of one frame, front to back. The same calls that write a message
/// also measure it ([`Writer::counting`]), so a layout is described once, in
/// `Message::write_fields`. The first error is kept and every later call only counts, so
/// a writer never panics and reports a short buffer or an over-long field at the end.
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
    counting: bool,
    error: Option<WireError>,
}

impl<'b> Writer<'b> {
    /// Writes into `buf`.
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, len: 0, counting: false, error: None }
    }

    /// Writes nothing: counts the bytes a layout takes.
    pub(crate) fn counting() -> Writer<'static> {
        Writer { buf: &mut [], len: 0, counting: true, error: None }
    }

    /// The bytes written (or counted) so far.
    pub(crate) const fn len(&self) -> usize {
        self.len
    }

    /// The length written, or the first error.
    pub(crate) fn finish(self) -> Result<usize, WireError> {
        self.error.map_or(Ok(self.len), Err)
    }

    fn fail(&mut self, error: WireError) {
        self.error.get_or_insert(error);
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if !self.counting && self.error.is_none() {
            let available = self.buf.len();
            match self.buf.get_mut(self.len..end) {
                // Equal lengths by construction; a zip cannot panic either way.
                Some(slot) => slot.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s),
                None => self.fail(WireError::BufferTooSmall { needed: end, available }),
            }
        }
        self.len = end;
    }

    pub(crate) fn u8(&mut self, value: u8) {
        self.bytes(&[value]);
    }

    pub(crate) fn u16(&mut self, value: u16) {
        self.bytes(&value.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.bytes(&value.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, value: u64) {
        self.bytes(&value.to_be_bytes());
    }

    /// A name: one length byte, then the name.
    pub(crate) fn name(&mut self, name: Name<'_>) {
        let bytes = name.as_str().as_bytes();
        let len = u8::try_from(bytes.len()).unwrap_or_else(|_| {
            self.fail(WireError::NameTooLong { len: bytes.len() });
            u8::MAX
        });
        self.u8(len);
        self.bytes(bytes);
    }

    /// A text: two length bytes, then UTF-8.
    pub(crate) fn text(&mut self, text: &str) {
        let len = text.len();
        let len16 = u16::try_from(len).ok().filter(|_| len <= MAX_TEXT).unwrap_or_else(|| {
            self.fail(WireError::TextTooLong { len });
            u16::MAX
        });
        self.u16(len16);
        self.bytes(text.as_bytes());
    }

    /// An error detail: one length byte, then UTF-8.
    pub(crate) fn detail(&mut self, detail: &str) {
        let len = detail.len();
        let len8 = u8::try_from(len).ok().filter(|_| len <= MAX_DETAIL).unwrap_or_else(|| {
            self.fail(WireError::DetailTooLong { len });
            u8::MAX
        });
        self.u8(len8);
        self.bytes(detail.as_bytes());
    }

    /// The frame's last field, `bytes`, which must hold at least `min` (or the frame
    /// would not parse: [`WireError::Truncated`]).
    pub(crate) fn at_least(&mut self, bytes: &[u8], min: usize, kind: Kind) {
        if bytes.len() < min {
            self.fail(WireError::Truncated { kind });
        }
        self.bytes(bytes);
    }

    /// A name list: one count byte, then the names.
    pub(crate) fn name_list(&mut self, names: &NameList<'_>) {
        self.u8(names.len());
        self.bytes(names.encoded());
    }
}
