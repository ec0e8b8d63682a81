//! An error detail being written into a fixed buffer: at most `MAX_DETAIL` bytes, cut at
//! a character boundary, no allocation, and no `core::fmt` (firmware servers carry none).

use crate::wire::limits::MAX_DETAIL;

/// An error detail being written: at most [`MAX_DETAIL`] bytes, cut at a character
/// boundary if longer.
pub(super) struct Detail {
    text: heapless::String<MAX_DETAIL>,
}

impl Detail {
    pub(super) fn new() -> Self {
        Detail { text: heapless::String::new() }
    }

    /// Appends `text`, cut at a character boundary if the detail is full.
    pub(super) fn push(&mut self, text: &str) {
        for c in text.chars() {
            if self.text.push(c).is_err() {
                break; // full: the rest is cut
            }
        }
    }

    /// Appends `n` in decimal.
    pub(super) fn push_u32(&mut self, n: u32) {
        let mut digits = [0u8; 10];
        let mut start = digits.len();
        let mut rest = n;
        loop {
            start -= 1;
            if let Some(slot) = digits.get_mut(start) {
                *slot = b'0' + (rest % 10) as u8;
            }
            rest /= 10;
            if rest == 0 || start == 0 {
                break;
            }
        }
        self.push(
            core::str::from_utf8(digits.get(start..).unwrap_or_default()).unwrap_or_default(),
        );
    }

    pub(super) fn as_str(&self) -> &str {
        &self.text
    }

    /// The first `max` bytes or fewer, at a character boundary.
    pub(super) fn truncated(&self, max: usize) -> &str {
        let mut end = max.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        self.text.get(..end).unwrap_or_default()
    }
}
