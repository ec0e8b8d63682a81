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
    let mut buf = DetailBuf::new();
    for c in detail.chars() {
        if buf.push(c).is_err() {
            break;
        }
    }
    buf
}
