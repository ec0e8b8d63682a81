//! minichat-core: the minichat protocol, with no I/O, no clock and no allocation.
//!
//! Firmware links this crate as is; the `minichat` host program runs the same code over
//! real sockets. Everything that is protocol lives here:
//!
//! - [`wire`]: zero-copy frame views ([`wire::Frame`]) and the typed messages they carry
//!   ([`wire::Message`]), with `parse`, `emit` and `buffer_len`, and every limit
//!   ([`wire::limits`]).
//! - [`server`] and [`client`]: the two state machines, datagrams and time in,
//!   datagrams and events out, in quinn-proto's shape (`handle`, `poll_transmit`,
//!   `poll_timeout`, `handle_timeout`, `poll_event`).
//! - [`transport`]: the non-blocking datagram trait, with std and smoltcp adapters, and
//!   the driver that turns a state machine over it, one turn at a time.
//! - [`table`]: the fixed-capacity user table; [`time`]: the millisecond clock types the
//!   embedding feeds in; [`rate`]: the token bucket.
//! - [`stream`]: COBS framing for byte streams such as TCP or a serial line.
//! - [`error`]: one error enum per layer.
//! - [`name_policy`]: which names a server accepts, and when two names are the same user
//!   (UTS #39 with the `unicode-names` feature, printable ASCII without it).
//! - `secure` (the `secure` feature): the Noise handshake and sealed datagrams of
//!   encrypted sessions.
//!
//! The normative specification, with byte-exact test vectors, is `docs/PROTOCOL.md`.
//!
//! ```
//! use minichat_core::wire::{Message, Token};
//!
//! let say = Message::Say { token: Token(0x0102_0304_0506_0708), seq: 1, text: "hi" };
//! let mut buf = [0u8; minichat_core::wire::limits::MAX_FRAME];
//! let len = say.encode(&mut buf)?;
//! assert_eq!(Message::decode(&buf[..len])?, say);
//! # Ok::<(), minichat_core::error::WireError>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Unit tests collect results in `Vec`s, and the `std` feature adapts std's socket; the
// library itself never allocates.
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod address;
mod backoff;
pub mod client;
pub mod error;
mod kind_masks;
pub mod name_policy;
pub mod rate;
mod retransmit;
mod rtt;
#[cfg(feature = "secure")]
pub mod secure;
pub mod seq;
pub mod server;
pub mod storage;
pub mod stream;
pub mod table;
pub mod time;
pub mod transport;
pub mod wire;
