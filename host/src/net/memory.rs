//! An in-memory IP network on smoltcp's stack: every endpoint a UDP socket on 127.0.0.1,
//! one interface, a link that can drop, corrupt, duplicate and reorder packets with
//! seeded randomness, and a simulated clock. `minichat demo` and the tests run the whole
//! system on it with no real network.
//!
//! Drop and corruption come from smoltcp's `FaultInjector`; duplication and reordering
//! from [`ShuffleLink`] underneath it, which also turns checksum verification on (smoltcp's
//! own `Loopback` skips it), so a corrupted packet is dropped by the UDP checksum like on
//! a real link instead of reaching the application.

use std::collections::VecDeque;
use std::net::SocketAddr;

use minichat_core::error::TransportError;
use minichat_core::time::Instant;
use minichat_core::transport::{Driver, Endpoint, SmoltcpError, SmoltcpUdp, Turned};
pub use smoltcp::iface::SocketHandle;
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, FaultInjector, Medium};
use smoltcp::socket::udp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

/// What the link does to packets, in percent, and the seed of its randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkFaults {
    /// Packets lost between sender and receiver. smoltcp's fault injector drops on sending
    /// and again on receiving; each side gets the rate that compounds to this one.
    pub drop_pct: u8,
    /// Packets with a byte flipped between sender and receiver (smoltcp's fault injector,
    /// split across its two sides the same way); the UDP checksum catches them.
    pub corrupt_pct: u8,
    /// Packets delivered twice.
    pub duplicate_pct: u8,
    /// Packets that overtake others.
    pub reorder_pct: u8,
    /// The seed: the same seed, the same faults.
    pub seed: u32,
}

impl LinkFaults {
    /// A perfect link.
    pub const NONE: LinkFaults =
        LinkFaults { drop_pct: 0, corrupt_pct: 0, duplicate_pct: 0, reorder_pct: 0, seed: 1 };
}

/// A loopback device that duplicates and reorders, and verifies checksums.
#[derive(Debug)]
pub struct ShuffleLink {
    queue: VecDeque<Vec<u8>>,
    duplicate_pct: u8,
    reorder_pct: u8,
    rng: u64,
}

impl ShuffleLink {
    fn new(faults: LinkFaults) -> Self {
        ShuffleLink {
            queue: VecDeque::new(),
            duplicate_pct: faults.duplicate_pct,
            reorder_pct: faults.reorder_pct,
            rng: u64::from(faults.seed) | 1 << 32,
        }
    }

    /// xorshift64: small, seeded, good enough to pick faults.
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn chance(&mut self, pct: u8) -> bool {
        pct > 0 && self.next() % 100 < u64::from(pct)
    }

    fn enqueue(&mut self, packet: Vec<u8>) {
        let copies = if self.chance(self.duplicate_pct) { 2 } else { 1 };
        for _ in 0..copies {
            if !self.queue.is_empty() && self.chance(self.reorder_pct) {
                // Overtake up to three packets already waiting.
                let back = usize::try_from(self.next() % 3).unwrap_or(0) + 1;
                let at = self.queue.len().saturating_sub(back);
                self.queue.insert(at, packet.clone());
            } else {
                self.queue.push_back(packet.clone());
            }
        }
    }
}

/// A received packet.
#[doc(hidden)]
#[derive(Debug)]
pub struct ShuffleRx(Vec<u8>);

/// A packet being sent.
#[doc(hidden)]
#[derive(Debug)]
pub struct ShuffleTx<'a>(&'a mut ShuffleLink);

impl phy::RxToken for ShuffleRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for ShuffleTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let result = f(&mut packet);
        self.0.enqueue(packet);
        result
    }
}

impl Device for ShuffleLink {
    type RxToken<'a> = ShuffleRx;
    type TxToken<'a> = ShuffleTx<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = 1500;
        // Compute and verify every checksum, unlike smoltcp's Loopback.
        caps.checksum = ChecksumCapabilities::default();
        caps
    }

    fn receive(
        &mut self,
        _timestamp: smoltcp::time::Instant,
    ) -> Option<(ShuffleRx, ShuffleTx<'_>)> {
        let packet = self.queue.pop_front()?;
        Some((ShuffleRx(packet), ShuffleTx(self)))
    }

    fn transmit(&mut self, _timestamp: smoltcp::time::Instant) -> Option<ShuffleTx<'_>> {
        Some(ShuffleTx(self))
    }
}

/// An in-memory network of UDP endpoints on 127.0.0.1, on simulated time.
pub struct LoopbackNet {
    iface: Interface,
    device: FaultInjector<ShuffleLink>,
    sockets: SocketSet<'static>,
    now: Instant,
    /// The driver every endpoint is turned with (its buffers, kept).
    driver: Driver,
}

impl std::fmt::Debug for LoopbackNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackNet").field("now", &self.now).finish()
    }
}

impl LoopbackNet {
    /// An empty network with `faults`, at time zero.
    pub fn new(faults: LinkFaults) -> LoopbackNet {
        let mut device = FaultInjector::new(ShuffleLink::new(faults), faults.seed);
        device.set_drop_chance(per_side(faults.drop_pct));
        device.set_corrupt_chance(per_side(faults.corrupt_pct));
        let config = Config::new(HardwareAddress::Ip);
        let mut iface = Interface::new(config, &mut device, smoltcp::time::Instant::from_millis(0));
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
        });
        LoopbackNet {
            iface,
            device,
            sockets: SocketSet::new(Vec::new()),
            now: Instant::ZERO,
            driver: Driver::new(),
        }
    }

    /// Opens a UDP socket on 127.0.0.1:`port`.
    pub fn bind(&mut self, port: u16) -> SocketHandle {
        let buffer =
            || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 256], vec![0; 256 * 1100]);
        let mut socket = udp::Socket::new(buffer(), buffer());
        // A fresh socket on a free port of an interface that owns the address: cannot fail.
        let _ = socket.bind(port);
        self.sockets.add(socket)
    }

    /// The address of 127.0.0.1:`port`.
    pub fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// The simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves the simulated clock forward.
    pub fn advance(&mut self, ms: u64) {
        self.now = self.now + minichat_core::time::Duration::from_millis(ms);
    }

    /// Lets smoltcp move packets between the sockets.
    pub fn poll(&mut self) {
        let now = smoltcp::time::Instant::from_millis(i64::from(self.now.as_millis()));
        self.iface.poll(now, &mut self.device, &mut self.sockets);
    }

    /// Turns `endpoint` over the socket `handle` with the core's driver and smoltcp
    /// adapter: exactly what firmware on smoltcp does.
    pub fn turn<E: Endpoint<Addr = SocketAddr>>(
        &mut self,
        handle: SocketHandle,
        endpoint: &mut E,
    ) -> Result<Turned, TransportError<SmoltcpError>> {
        let socket = self.sockets.get_mut::<udp::Socket>(handle);
        self.driver.turn(self.now, &mut SmoltcpUdp(socket), endpoint, |_| {})
    }
}

/// The chance per side that, applied on sending and again on receiving, gives `pct`
/// end to end: 1 - (1 - p)^2 = pct.
fn per_side(pct: u8) -> u8 {
    // In hundredths of a percent: 1 - (1 - p)^2 = (10000 - (100 - p)^2) / 10000.
    let target = u32::from(pct.min(100)) * 100;
    (0..=100u8)
        .min_by_key(|&p| {
            let kept = 100 - u32::from(p);
            (10_000 - kept * kept).abs_diff(target)
        })
        .unwrap_or(pct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_side_rates_compound_to_the_asked_rate() {
        assert_eq!(per_side(0), 0);
        assert_eq!(per_side(20), 11); // 1 - 0.89^2 = 20.8%
        assert_eq!(per_side(50), 29); // 1 - 0.71^2 = 49.6%
        assert_eq!(per_side(100), 100);
    }
}
