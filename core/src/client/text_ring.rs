//! A byte arena for texts that leave in the order they came: the texts of the client's
//! events, and of the messages waiting for the server's acknowledgement. A text costs its
//! length, not a kilobyte buffer. Each text is contiguous, so a view of it is a plain
//! slice: one that does not fit before the end starts again at 0 if the oldest has left
//! room there (a bip buffer), otherwise it waits or is refused.

/// Where a text lies in a [`TextRing`]. An empty text lies nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    start: u16,
    len: u16,
}

impl Span {
    /// No text.
    pub(crate) const EMPTY: Span = Span { start: 0, len: 0 };

    /// The text's length in bytes.
    pub(crate) fn len(self) -> usize {
        usize::from(self.len)
    }
}

/// Texts in `N` bytes, taken out oldest first.
#[derive(Debug, Clone)]
pub(crate) struct TextRing<const N: usize> {
    /// The bytes written so far: a vector, so that nothing is zeroed up front (a client is
    /// built faster, and without a byte-wise clearing routine in its firmware's flash).
    // Its length, positions and counts in 16 bits, as a ring holds at most 64 KiB: 12
    // bytes of a firmware's RAM a ring (and `qemu-chat`'s code 300 B smaller, LLVM's
    // choices of memory routines following).
    bytes: heapless::Vec<u8, N, u16>,
    /// Where the oldest text starts.
    head: u16,
    /// Where the next text goes.
    tail: u16,
    /// Where the texts before the wrap end, while `wrapped` (the newest then lie from 0).
    end: u16,
    wrapped: bool,
    /// Texts held (empty ones are not; each takes a byte at least, so they fit).
    held: u16,
}

impl<const N: usize> TextRing<N> {
    const FITS_SPANS: () = assert!(N <= u16::MAX as usize, "a text ring holds at most 64 KiB");

    /// Empty, as a constant: a client built with it is built where it is put, not on the
    /// stack first (its bytes are uninitialised, so there is nothing to copy).
    pub(crate) const EMPTY: Self = Self::new();

    /// Empty.
    pub(crate) const fn new() -> Self {
        let () = Self::FITS_SPANS;
        TextRing { bytes: heapless::Vec::new(), head: 0, tail: 0, end: 0, wrapped: false, held: 0 }
    }

    /// Whether a text of `len` bytes fits now.
    pub(crate) const fn fits(&self, len: usize) -> bool {
        len == 0 || self.place(len).is_some()
    }

    /// Where a text of `len` bytes would go now, if anywhere.
    const fn place(&self, len: usize) -> Option<usize> {
        let (head, tail) = (self.head as usize, self.tail as usize);
        if self.wrapped {
            if tail + len <= head { Some(tail) } else { None }
        } else if tail + len <= N {
            Some(tail)
        } else if len <= head {
            Some(0)
        } else {
            None
        }
    }

    /// Keeps `text` after the others; `None` if there is no room for it now.
    pub(crate) fn push(&mut self, text: &[u8]) -> Option<Span> {
        let len = text.len();
        if len == 0 {
            return Some(Span::EMPTY);
        }
        let start = self.place(len)?;
        let span = Span { start: u16::try_from(start).ok()?, len: u16::try_from(len).ok()? };
        match self.bytes.get_mut(start..start + len) {
            // Equal lengths; a copy the optimiser cannot turn into a length check.
            Some(room) => room.iter_mut().zip(text).for_each(|(to, from)| *to = *from),
            // Past what was written: nothing after `start` is held (texts lie from 0 only
            // once the ring wraps, and then within what was written).
            None => {
                self.bytes.truncate(start);
                self.bytes.extend_from_slice(text).ok()?;
            }
        }
        if start == 0 && self.tail != 0 {
            self.end = self.tail;
            self.wrapped = true;
        }
        self.tail = span.start.wrapping_add(span.len);
        self.held = self.held.wrapping_add(1);
        Some(span)
    }

    /// The text at `span`.
    pub(crate) fn get(&self, span: Span) -> &[u8] {
        let start = usize::from(span.start);
        self.bytes.get(start..start + span.len()).unwrap_or_default()
    }

    /// Lets the oldest text go: `span` must be it.
    pub(crate) fn pop(&mut self, span: Span) {
        if span.len == 0 {
            return;
        }
        self.held = self.held.saturating_sub(1);
        if self.held == 0 {
            // Nothing left: start over at 0, where the most room is.
            (self.head, self.tail, self.end, self.wrapped) = (0, 0, 0, false);
            return;
        }
        self.head = span.start.wrapping_add(span.len);
        if self.wrapped && self.head >= self.end {
            self.head = 0;
            self.wrapped = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_leave_in_order_and_their_room_comes_back() {
        let mut ring = TextRing::<10>::new();
        let a = ring.push(b"abcd").unwrap();
        let b = ring.push(b"efgh").unwrap();
        assert!(ring.push(b"ijk").is_none(), "3 bytes past the end, none free before");
        assert_eq!((ring.get(a), ring.get(b)), (&b"abcd"[..], &b"efgh"[..]));
        ring.pop(a);
        // Wraps to 0, where `a` was; `b` is untouched.
        let c = ring.push(b"ijk").unwrap();
        assert_eq!((ring.get(b), ring.get(c)), (&b"efgh"[..], &b"ijk"[..]));
        assert!(!ring.fits(2), "only 1 byte between the new text and the oldest");
        ring.pop(b);
        assert!(ring.fits(7), "after the wrap, up to the end again");
        ring.pop(c);
        assert!(ring.fits(10), "empty: all of it");
    }

    /// Against a model (a queue of the texts held): every text held reads back as it was
    /// pushed, a push succeeds exactly when `fits` said it would, and an empty ring takes
    /// a text of its whole size. Seeded, 20,000 steps over a 64-byte ring.
    #[test]
    fn texts_read_back_as_pushed_whatever_the_order_of_pushes_and_pops() {
        use std::collections::VecDeque;
        use std::vec::Vec;
        let mut ring = TextRing::<64>::new();
        let mut model: VecDeque<(Span, Vec<u8>)> = VecDeque::new();
        let mut seed = 0x9e37_79b9_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for step in 0..20_000u32 {
            if next() % 3 != 0 {
                let len = usize::try_from(next() % 40).unwrap();
                let text: Vec<u8> =
                    (0..len).map(|i| step.to_le_bytes()[0] ^ i.to_le_bytes()[0]).collect();
                let fits = ring.fits(len);
                match ring.push(&text) {
                    Some(span) => {
                        assert!(fits, "step {step}: pushed {len} bytes that did not fit");
                        model.push_back((span, text));
                    }
                    None => assert!(!fits, "step {step}: {len} bytes fit but were refused"),
                }
            } else if let Some((span, _)) = model.pop_front() {
                ring.pop(span);
            }
            for (span, text) in &model {
                assert_eq!(ring.get(*span), &text[..], "step {step}");
            }
            if model.iter().all(|(span, _)| span.len() == 0) {
                assert!(ring.fits(64), "step {step}: nothing held, yet no room for 64 bytes");
            }
        }
    }

    #[test]
    fn an_empty_text_takes_no_room_and_a_text_longer_than_the_ring_never_fits() {
        let mut ring = TextRing::<4>::new();
        let empty = ring.push(b"").unwrap();
        assert_eq!(ring.get(empty), b"");
        assert!(ring.push(b"12345").is_none());
        let full = ring.push(b"1234").unwrap();
        ring.pop(empty);
        assert_eq!(ring.get(full), b"1234");
        assert!(!ring.fits(1));
    }
}
