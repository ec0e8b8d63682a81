//! What every firmware program shares: an in-memory datagram link between a server and a
//! client, inputs the optimiser cannot see through, and the sizes report.
//!
//! The binaries link with `panic-never`'s handler: if any panicking branch of
//! minichat-core is reachable from what they call, the link fails. Inputs come through
//! `core::hint::black_box`, so the optimiser must keep every branch real input could take.
#![no_std]

use core::hint::black_box;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use minichat_core::client::{Client, ClientConfig};
use minichat_core::server::{ServerConfig, StaticServer};
use minichat_core::time::Instant;
use minichat_core::transport::{Datagram, Driver};
use minichat_core::wire::limits::MAX_FRAME;

/// Ring entries of the firmware server, at most.
pub const RING: usize = 16;

/// The bytes of names and texts those entries may take: two of the longest messages, or
/// all sixteen at 128 bytes.
pub const RING_BYTES: usize = 2048;

/// The server every firmware program runs: 8 users (scanned: no index entries), at most
/// [`RING`] messages of history in [`RING_BYTES`] bytes.
pub type FirmwareServer = StaticServer<8, RING, SocketAddr, RING_BYTES, 0>;

/// A user's address on a server of serial lines: the core's [`SerialLine`], as
/// `qemu-server` uses it. The footprint report measures a user slot with it beside
/// `SocketAddr`.
pub use minichat_core::address::SerialLine;

/// The client every firmware program runs: the core's `SmallClient` (4 queued messages in
/// 1 KiB, 4 events whose texts share 1 KiB, 4 early deliveries).
pub type FirmwareClient = minichat_core::SmallClient;

/// A server for 8 users with a secret the optimiser cannot see, or a halt.
pub fn new_server() -> FirmwareServer {
    let mut config = ServerConfig::new(black_box([0x42; 16]), black_box(1));
    if config.set_capacity(black_box(8)).is_err() {
        halt()
    }
    #[cfg_attr(not(feature = "secure"), allow(unused_mut))]
    let mut server = StaticServer::new(config).unwrap_or_else(|_| halt());
    // The secure build: encrypted sessions (and plain ones), keys the optimiser cannot see.
    #[cfg(feature = "secure")]
    server.set_identity(
        minichat_core::server::ServerIdentity {
            keypair: minichat_core::secure::Keypair::from_private(black_box([0x17; 32])),
            psk: black_box(None),
            plaintext: black_box(true),
        },
        black_box([0x29; 32]),
    );
    server
}

/// A client with a name the optimiser cannot see, for the server at [`server_addr`].
pub fn new_client(now: Instant) -> FirmwareClient {
    let Ok(config) = ClientConfig::new(opaque_name(), server_addr(), black_box(0x5eed)) else {
        halt()
    };
    #[cfg_attr(not(feature = "secure"), allow(unused_mut))]
    let mut client = Client::new(config, now);
    // The secure build: joins in encrypted sessions with a key the optimiser cannot see.
    #[cfg(feature = "secure")]
    client.set_server_key(
        minichat_core::client::ServerKey { public: black_box([0x35; 32]), psk: black_box(None) },
        black_box([0x53; 32]),
    );
    client
}

/// One turn of the server over its end of `wire` with `driver`: datagrams in and out,
/// events taken.
pub fn turn_server(
    driver: &mut Driver,
    wire: &mut Wire,
    server: &mut FirmwareServer,
    now: Instant,
) {
    let mut link = Link { wire, end: End::Server };
    let _ = driver.turn(now, &mut link, server, |server| {
        while let Some(event) = server.poll_event() {
            black_box(event);
        }
    });
}

/// One turn of a client over `socket` with `driver`: datagrams in and out, events taken.
pub fn turn_client<D: Datagram<Addr = SocketAddr>>(
    driver: &mut Driver,
    mut socket: D,
    client: &mut FirmwareClient,
    now: Instant,
) {
    let _ = driver.turn(now, &mut socket, client, |client| {
        while let Some(event) = client.poll_event() {
            black_box(event);
        }
    });
}

/// The server's address on the link.
pub fn server_addr() -> SocketAddr {
    black_box(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 8080)))
}

/// The client's address on the link (IPv6, so both address families are exercised).
pub fn client_addr() -> SocketAddr {
    black_box(SocketAddr::V6(SocketAddrV6::new(
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2),
        5000,
        0,
        0,
    )))
}

/// One datagram in flight in each direction, as a radio with a single buffer would have.
#[derive(Debug)]
pub struct Wire {
    to_server: Slot,
    to_client: Slot,
}

#[derive(Debug)]
struct Slot {
    full: bool,
    from: SocketAddr,
    len: usize,
    bytes: [u8; MAX_FRAME],
}

impl Slot {
    const fn empty(from: SocketAddr) -> Self {
        Slot { full: false, from, len: 0, bytes: [0; MAX_FRAME] }
    }
}

impl Wire {
    /// An empty link.
    pub fn new() -> Self {
        Wire { to_server: Slot::empty(client_addr()), to_client: Slot::empty(server_addr()) }
    }

    /// Puts `bytes` on the way to the server, as if from `from` (garbage, in the proof).
    pub fn inject(&mut self, from: SocketAddr, bytes: &[u8]) {
        let slot = &mut self.to_server;
        if let Some(dst) = slot.bytes.get_mut(..bytes.len()) {
            dst.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s);
            slot.len = bytes.len();
            slot.from = from;
            slot.full = true;
        }
    }
}

impl Default for Wire {
    fn default() -> Self {
        Self::new()
    }
}

/// Which end of the wire a [`Link`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The server's end.
    Server,
    /// The client's end.
    Client,
}

/// One end of the wire, as a [`Datagram`] socket.
#[derive(Debug)]
pub struct Link<'w> {
    /// The wire.
    pub wire: &'w mut Wire,
    /// This end.
    pub end: End,
}

/// The link never fails; it only fills up.
#[derive(Debug, Clone, Copy)]
pub enum Never {}

impl Datagram for Link<'_> {
    type Error = Never;
    type Addr = SocketAddr;

    fn send_to(&mut self, _remote: SocketAddr, data: &[u8]) -> nb::Result<(), Never> {
        let (slot, from) = match self.end {
            End::Server => (&mut self.wire.to_client, server_addr()),
            End::Client => (&mut self.wire.to_server, client_addr()),
        };
        if slot.full {
            return Err(nb::Error::WouldBlock);
        }
        let dst = slot.bytes.get_mut(..data.len()).ok_or(nb::Error::WouldBlock)?;
        dst.iter_mut().zip(data).for_each(|(d, s)| *d = *s);
        slot.len = data.len();
        slot.from = from;
        slot.full = true;
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8]) -> nb::Result<(usize, SocketAddr), Never> {
        let slot = match self.end {
            End::Server => &mut self.wire.to_server,
            End::Client => &mut self.wire.to_client,
        };
        if !slot.full {
            return Err(nb::Error::WouldBlock);
        }
        slot.full = false;
        let len = slot.len.min(buf.len());
        let (Some(dst), Some(src)) = (buf.get_mut(..len), slot.bytes.get(..len)) else {
            return Err(nb::Error::WouldBlock);
        };
        dst.iter_mut().zip(src).for_each(|(d, s)| *d = *s);
        Ok((len, slot.from))
    }
}

/// A clock the optimiser cannot predict: every tick adds an unknown step.
#[derive(Debug)]
pub struct Clock {
    now: u64,
}

impl Clock {
    /// Time zero.
    pub const fn new() -> Self {
        Clock { now: 0 }
    }

    /// The next instant.
    pub fn tick(&mut self) -> Instant {
        self.now = self.now.saturating_add(black_box(10));
        Instant::from_millis(black_box(self.now))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// Bytes the optimiser cannot see: `len` of them, from a buffer it knows nothing about.
pub fn opaque_bytes(buf: &mut [u8; MAX_FRAME + 8]) -> &[u8] {
    let len = black_box(buf.len());
    let buf = black_box(buf);
    buf.get(..len).unwrap_or_default()
}

/// [`opaque_bytes`], to be changed in place.
pub fn opaque_bytes_mut(buf: &mut [u8; MAX_FRAME + 8]) -> &mut [u8] {
    let len = black_box(buf.len());
    let buf = black_box(buf);
    buf.get_mut(..len).unwrap_or_default()
}

/// Text the optimiser cannot see.
pub fn opaque_text() -> &'static str {
    black_box("hello from firmware")
}

/// A name the optimiser cannot see.
pub fn opaque_name() -> &'static str {
    black_box("sensor")
}

/// Stops: what a firmware does when it cannot go on.
pub fn halt() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// With `find-panics`: a handler the disassembly can name, instead of the proof's.
#[cfg(feature = "find-panics")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    halt()
}
