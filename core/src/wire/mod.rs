//! The wire format: frames, the messages they carry, and the limits they obey.
//!
//! - [`Frame`]: a zero-copy view of one datagram's bytes (magic, version, kind, token).
//! - [`Message`]: the typed message, parsed from a frame or emitted into one.
//! - [`limits`]: every size limit, defined once.
//!
//! `docs/PROTOCOL.md` is the normative description of the same bytes.

mod cookie;
mod cursor;
mod digest;
mod echo_mode;
mod echo_reply;
mod error_code;
mod frame;
mod kind;
pub mod limits;
mod message;
mod name;
#[cfg(any(test, all(feature = "test-hooks", feature = "std")))]
pub mod spec_vectors;
mod text;
mod token;
#[cfg(test)]
mod vectors;

pub use cookie::Cookie;
pub use digest::message_digest;
pub use echo_mode::EchoMode;
pub(crate) use echo_reply::echo_reply_in_place;
pub use error_code::ErrorCode;
pub use frame::{Frame, is_frame};
pub use kind::Kind;
pub use message::Message;
pub use name::{ListedName, ListedNames, Name, NameBuf, NameIter, NameList, NameListBuilder};
pub use text::{DetailBuf, TextBuf, detail_buf, text_buf};
pub use token::Token;
