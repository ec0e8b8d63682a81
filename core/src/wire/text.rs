//! Owned message text, for queues and events that outlive the frame it came in.

use crate::error::WireError;
use crate::wire::limits::{MAX_DETAIL, MAX_TEXT};

/// An owned message text of at most [`MAX_TEXT`] bytes, without allocation.
pub type TextBuf = heapless::String<MAX_TEXT, u16>;

/// Copies `text` into a [`TextBuf`], or [`WireError::TextTooLong`].
pub fn text_buf(text: &str) -> Result<TextBuf, WireError> {
    let mut buf = TextBuf::new();
    buf.push_str(text).map_err(|_| WireError::TextTooLong { len: text.len() })?;
    Ok(buf)
}

/// An owned error detail of at most [`MAX_DETAIL`] bytes, without allocation.
pub type DetailBuf = heapless::String<MAX_DETAIL>;

/// Copies `detail` into a [`DetailBuf`], cut at a character boundary if it is longer than
/// [`MAX_DETAIL`] (a parsed frame's detail never is).
pub fn detail_buf(detail: &str) -> DetailBuf {
    // The longest prefix that fits and ends on a character boundary (one copy, not a
    // push per character: a firmware client carries 150 B less).
    let fits = (0..=detail.len().min(MAX_DETAIL)).rev().find_map(|end| detail.get(..end));
    let mut buf = DetailBuf::new();
    let _ = buf.push_str(fits.unwrap_or_default());
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detail_is_cut_at_a_character_boundary() {
        assert_eq!(detail_buf("name taken").as_str(), "name taken");
        assert_eq!(detail_buf("").as_str(), "");
        let exact = "x".repeat(MAX_DETAIL);
        assert_eq!(detail_buf(&exact).as_str(), exact);
        // "é" is two bytes: one that would end half-way is left out.
        let long = "x".repeat(MAX_DETAIL - 1) + "é";
        assert_eq!(detail_buf(&long).as_str(), &long[..MAX_DETAIL - 1]);
        let longer = "é".repeat(MAX_DETAIL);
        assert_eq!(detail_buf(&longer).len(), MAX_DETAIL - MAX_DETAIL % 2);
    }
}
