//! Owned message text, for queues and events that outlive the frame it came in.

use crate::error::WireError;
use crate::wire::limits::MAX_TEXT;

/// An owned message text of at most [`MAX_TEXT`] bytes, without allocation.
pub type TextBuf = heapless::String<MAX_TEXT, u16>;

/// Copies `text` into a [`TextBuf`], or [`WireError::TextTooLong`].
pub fn text_buf(text: &str) -> Result<TextBuf, WireError> {
    let mut buf = TextBuf::new();
    buf.push_str(text).map_err(|_| WireError::TextTooLong { len: text.len() })?;
    Ok(buf)
}
