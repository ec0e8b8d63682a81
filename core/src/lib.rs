//! minichat-core: the minichat protocol, with no I/O, no clock and no allocation.
//!
//! Firmware links this crate as is (`#![no_std]`, no allocator, no `unsafe`); the
//! `minichat` host program runs the same code over real sockets. The embedding moves the
//! bytes and says the time; the crate decides everything else.
//!
//! # Start here: a program that joins and says hi
//!
//! Each way in has a whole program in `examples/` that joins a `minichat serve` as `mcu`,
//! says hi, and exits once the server has it; CI runs each against a real server
//! (`tests/tests/examples.rs`). Over UDP with `std`, `examples/udp_std.rs`:
//!
#![cfg_attr(feature = "std", doc = "```no_run")]
#![cfg_attr(not(feature = "std"), doc = "```ignore")]
#![doc = include_str!("../examples/udp_std.rs")]
#![doc = "```"]
//!
//! The other two ways in keep its client, its loop and its events; what moves the bytes
//! changes:
//!
//! - [`examples/udp_smoltcp.rs`][udp_smoltcp] (feature `smoltcp`): a smoltcp interface
//!   and UDP socket, as a board runs them, in a `transport::SmoltcpStack`: each turn polls
//!   the interface, turns the client over the socket, and polls again so that what the
//!   turn sent leaves at once. (A program with an interface of its own turns the
//!   [`Driver`] over `transport::SmoltcpUdp`.) On a computer its network device is a
//!   stand-in that carries its IP packets over a host UDP socket.
//! - [`examples/serial.rs`][serial] (feature `embedded-hal-nb`): a serial line, each frame
//!   COBS-encoded with a CRC ([`stream`]). `transport::UartLink` makes any HAL's UART
//!   (embedded-hal-nb's serial traits) a [`Datagram`] link to the line's other end, and the
//!   [`Driver`] turns the client over it as over UDP. On a computer the line is a serial
//!   device, or a TCP connection to `minichat serve --tcp` (the same framing).
//!
//! [udp_smoltcp]: https://github.com/minichat/minichat/blob/main/core/examples/udp_smoltcp.rs
//! [serial]: https://github.com/minichat/minichat/blob/main/core/examples/serial.rs
//!
//! # Presets
//!
//! [`Client`] and [`Server`] take their sizes as const parameters, so firmware knows its
//! RAM when it is built. The presets are the sizes the footprint report measures:
//!
//! - [`SmallClient`]: 4 messages awaiting the server's acknowledgement (their texts in
//!   1 KiB), 4 events waiting for the application (their texts in 1 KiB), 4 deliveries
//!   held that arrived early.
//! - [`SmallServer`]: 8 users (scanned, no index), at most 16 messages of history in 2 KiB
//!   of names and texts.
//!
//! Both default to `SocketAddr` peers; a serial line's client takes [`PointToPoint`], a
//! server with a line per user [`SerialLine`]. Other sizes: [`Client`]`<UNACKED, EVENTS,
//! EARLY, A, OUTBOX_BYTES, EVENT_BYTES>`, [`StaticServer`]`<USERS, MESSAGES, A, BYTES,
//! INDEX>`.
//!
//! An event's text is a view into the client ([`ClientEvent`]), valid until the next
//! `poll_event`: an event is a few dozen bytes, whatever its text. Copy what you keep.
//!
//! A board whose receive buffer is smaller than the protocol's 1 KiB frames says so:
//! [`ClientConfig::set_max_frame`] (168 B to 1 KiB) goes into its join, and the server
//! never sends it a larger frame. Its texts are held to what such a frame carries
//! ([`wire::limits::text_in_frame`]), and a longer message from someone else reaches it as
//! a [`ClientEvent::Missed`], never silently. `firmware/qemu`'s `qemu-chat` runs in 2 KiB
//! of RAM this way with 256-byte frames (`--features small-frames`), in 3.3 KiB with 1 KiB
//! ones (BENCHMARKS.md).
//!
//! # Features
//!
//! All are off by default: the default build is the smallest, the one firmware links.
//!
//! | feature | adds |
//! |---|---|
//! | `who` | the client's `who` request and its `ClientEvent::Users` pages (the server answers `who` either way) |
//! | `echo` | the client's `echo` request and its `ClientEvent::EchoReply` (the server answers either way) |
//! | `std` | [`Datagram`] for `std::net::UdpSocket` |
//! | `smoltcp` | [`Datagram`] for smoltcp's UDP socket (`transport::SmoltcpUdp`), and smoltcp's `IpEndpoint` as a [`PeerAddress`] |
//! | `embedded-hal-nb` | [`Datagram`] for any HAL's UART (`transport::UartLink`): frames in the stream framing over a serial line |
//! | `defmt` | `defmt::Format` for the public types, for firmware that logs with defmt |
//! | `unicode-names` | names under UTS #39 (scripts, confusable skeletons) instead of printable ASCII only; adds the Unicode tables to the binary, and its crates link `alloc` (firmware leaves it off) |
//! | `secure` | encrypted, authenticated sessions: the Noise handshake (NK, NKpsk0) and sealed datagrams (the `secure` module, `Keypair`, `Client::set_server_key`, `Server::set_identity`) |
//! | `test-hooks` | for minichat's own tests only (sequence numbers that start near the wrap) |
//!
//! # What is where
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
//! # Without a socket
//!
//! A server and a client, with the presets for firmware, joined over a point-to-point link
//! (no socket, no clock: the embedding moves the bytes and says the time):
//!
//! ```
//! use minichat_core::{ClientConfig, ClientEvent, Duration, Instant, NameBuf, PointToPoint};
//! use minichat_core::{ServerConfig, ServerEvent, SmallClient, SmallServer};
//!
//! let mut server = SmallServer::<PointToPoint>::new(ServerConfig::new([7; 16], 1))?;
//! let config = ClientConfig::new("mcu", PointToPoint, 0x5eed)?; // the seed: from an RNG
//! let mut client = SmallClient::new(config, Instant::ZERO);
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
//! A frame, written and read back:
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
//!
//! # Where next
//!
//! - The wire specification, normative, with byte-exact test vectors:
//!   [`docs/PROTOCOL.md`](https://github.com/minichat/minichat/blob/main/docs/PROTOCOL.md).
//! - Firmware that runs this crate, in the repository: `firmware/qemu`, a client and a
//!   server for QEMU's `lm3s6965evb` that chat over its UART; `firmware/`, the builds that
//!   check minichat's code in them links no reachable panic, and measure their flash and
//!   RAM (`BENCHMARKS.md`).
//! - The host program, `minichat` (`host/`): the server the examples join, and a chat
//!   client over UDP, TCP or a serial line.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
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
mod settings;
#[cfg(feature = "smoltcp")]
mod smoltcp_stack;
pub mod storage;
pub mod stream;
pub mod table;
pub mod time;
pub mod transport;
#[cfg(feature = "embedded-hal-nb")]
mod uart_link;
pub mod wire;

// What a program needs, at the crate root: the two machines with their settings, events
// and presets, time, the transport, addresses and errors.
pub use address::{PeerAddress, PointToPoint, SerialLine};
#[cfg(feature = "std")]
pub use client::OwnedClientEvent;
pub use client::{Client, ClientConfig, ClientEvent, MessageId, SmallClient};
pub use error::{ClientError, ConfigError, ServerError, TransportError, WireError};
#[cfg(feature = "secure")]
pub use secure::Keypair;
pub use server::{Server, ServerConfig, ServerEvent, SmallServer, StaticServer};
pub use time::{Duration, Instant};
pub use transport::{Datagram, Driver, Endpoint, Transmit};
pub use wire::NameBuf;
