//! An error detail being written into a fixed buffer: at most `MAX_DETAIL` bytes, cut at
//! a character boundary, no allocation.

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

impl core::fmt::Write for Detail {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for c in s.chars() {
            if self.text.push(c).is_err() {
                break; // full: the rest is cut
            }
        }
        Ok(())
    }
}
