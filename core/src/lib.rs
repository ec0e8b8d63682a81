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
//! A whole program that joins a server over UDP and says hi is `examples/udp_std.rs`
//! (`cargo run -p minichat-core --features std --example udp_std`; CI runs it against
//! `minichat serve`). Over a socket-less link, the state machines alone:
//!
//! A server and a client, with the presets for firmware, joined over a point-to-point link
//! (no socket, no clock: the embedding moves the bytes and says the time):
//!
//! ```
//! use minichat_core::{ClientConfig, ClientEvent, Duration, Instant, NameBuf, PointToPoint};
//! use minichat_core::{ServerConfig, ServerEvent, SmallClient, SmallServer};
//!
//! let mut server = SmallServer::<PointToPoint>::new(ServerConfig::new([7; 16], 1))?;
//! let name = NameBuf::parse("mcu")?;
//! let mut client = SmallClient::new(ClientConfig::new(name, PointToPoint), Instant::ZERO);
//! client.say(Instant::ZERO, "hi")?;
//! let (mut out, mut answer) = ([0u8; 1024], [0u8; 1024]);
//! let mut now = Instant::ZERO;
//! let mut heard = None;
//! for _ in 0..10 {
//!     now = now + Duration::from_millis(10);
//!     while let Some(sent) = client.poll_transmit(now, &mut out) {
//!         if let Some(reply) = server.handle(now, PointToPoint, &out[..sent.len], &mut answer) {
//!             client.handle(now, PointToPoint, &answer[..reply.len]);
//!         }
//!     }
//!     while let Some(event) = server.poll_event() {
//!         if let ServerEvent::Joined { name, .. } = event {
//!             heard = Some(name);
//!         }
//!     }
//! }
//! assert_eq!(heard.map(|name| name.as_str() == "mcu"), Some(true));
//! assert!(matches!(client.poll_event(), Some(ClientEvent::Joined { .. })));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
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

// What a program needs, at the crate root: the two machines with their settings, events
// and presets, time, the transport, addresses and errors.
pub use address::{PeerAddress, PointToPoint, SerialLine};
#[cfg(feature = "std")]
pub use client::OwnedClientEvent;
pub use client::{Client, ClientConfig, ClientEvent, MessageId, SmallClient};
pub use error::{ClientError, ServerError, TransportError, WireError};
#[cfg(feature = "secure")]
pub use secure::Keypair;
pub use server::{Server, ServerConfig, ServerEvent, SmallServer, StaticServer};
pub use time::{Duration, Instant};
pub use transport::{Datagram, Driver, Endpoint, Transmit};
pub use wire::NameBuf;
