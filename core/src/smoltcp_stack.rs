//! A board on a network (feature `smoltcp`): smoltcp's interface and one UDP socket for
//! minichat, turned in one call. The interface is polled before the [`Driver`]'s turn (the
//! packets that came in reach the socket) and after it (what the turn sent leaves now, not
//! a turn later). The interface and the socket set stay the program's to use for anything
//! else ([`SmoltcpStack::interface`], [`SmoltcpStack::sockets`]).

use core::net::SocketAddr;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::Device;
use smoltcp::socket::udp::{BindError, PacketBuffer, PacketMetadata, Socket};
use smoltcp::wire::{HardwareAddress, IpCidr};

use crate::error::TransportError;
use crate::time::Instant;
use crate::transport::{Driver, Endpoint, SmoltcpError, SmoltcpUdp, Turned};

/// Datagrams each of a socket's two queues holds.
const QUEUED: usize = 4;

/// A UDP socket's queues: up to 4 datagrams and `BYTES` bytes each way. Keep them where
/// they outlive the socket (a static, or `main`'s frame).
#[derive(Debug)]
pub struct UdpBuffers<const BYTES: usize = 2048> {
    rx_meta: [PacketMetadata; QUEUED],
    rx: [u8; BYTES],
    tx_meta: [PacketMetadata; QUEUED],
    tx: [u8; BYTES],
}

impl<const BYTES: usize> Default for UdpBuffers<BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BYTES: usize> UdpBuffers<BYTES> {
    /// Empty queues.
    pub const fn new() -> Self {
        let meta = [PacketMetadata::EMPTY; QUEUED];
        UdpBuffers { rx_meta: meta, rx: [0; BYTES], tx_meta: meta, tx: [0; BYTES] }
    }

    /// A UDP socket over these queues, bound to `port`.
    pub fn bind(&mut self, port: u16) -> Result<Socket<'_>, BindError> {
        let rx = PacketBuffer::new(&mut self.rx_meta[..], &mut self.rx[..]);
        let mut socket =
            Socket::new(rx, PacketBuffer::new(&mut self.tx_meta[..], &mut self.tx[..]));
        socket.bind(port)?;
        Ok(socket)
    }
}

/// What a [`SmoltcpStack`] keeps its socket in: the UDP socket's queues (`BYTES` each way)
/// and a socket set of `SOCKETS` entries (more than 1 leaves room for the program's other
/// sockets). Keep it where it outlives the stack (a static, or `main`'s frame).
#[derive(Debug)]
pub struct StackMemory<'a, const BYTES: usize = 2048, const SOCKETS: usize = 1> {
    udp: UdpBuffers<BYTES>,
    sockets: [SocketStorage<'a>; SOCKETS],
}

impl<const BYTES: usize, const SOCKETS: usize> Default for StackMemory<'_, BYTES, SOCKETS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BYTES: usize, const SOCKETS: usize> StackMemory<'_, BYTES, SOCKETS> {
    /// Empty.
    pub const fn new() -> Self {
        StackMemory { udp: UdpBuffers::new(), sockets: [SocketStorage::EMPTY; SOCKETS] }
    }
}

/// An interface, the UDP socket minichat speaks on, and the [`Driver`] that turns the
/// client or server over it.
pub struct SmoltcpStack<'s> {
    iface: Interface,
    sockets: SocketSet<'s>,
    udp: SocketHandle,
    driver: Driver,
    /// smoltcp's clock, in milliseconds: it never wraps, where the core's does after 49.7
    /// days, so it goes on from the core's by the time that passed.
    millis: i64,
    last: Instant,
}

impl core::fmt::Debug for SmoltcpStack<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SmoltcpStack").field("udp", &self.udp).finish_non_exhaustive()
    }
}

impl<'s> SmoltcpStack<'s> {
    /// An interface on `device` at `hardware` (an Ethernet board's MAC address, or
    /// `HardwareAddress::Ip` for an IP link) with the address `ip`, and a UDP socket bound
    /// to `port`, kept in `memory`. Routes, more addresses: [`SmoltcpStack::interface`];
    /// more sockets: [`SmoltcpStack::sockets`].
    pub fn new<D: Device + ?Sized, const BYTES: usize, const SOCKETS: usize>(
        device: &mut D,
        hardware: HardwareAddress,
        ip: IpCidr,
        port: u16,
        memory: &'s mut StackMemory<'s, BYTES, SOCKETS>,
    ) -> Result<Self, BindError> {
        let StackMemory { udp, sockets } = memory;
        let socket = udp.bind(port)?;
        let mut iface = Interface::new(Config::new(hardware), device, smoltcp::time::Instant::ZERO);
        // A fresh interface has room for several addresses: the first always fits.
        iface.update_ip_addrs(|ips| ips.push(ip).unwrap_or(()));
        let mut sockets = SocketSet::new(&mut sockets[..]);
        let udp = sockets.add(socket);
        let driver = Driver::new();
        Ok(SmoltcpStack { iface, sockets, udp, driver, millis: 0, last: Instant::ZERO })
    }

    /// The interface: its addresses, routes, and anything else the program sets.
    pub fn interface(&mut self) -> &mut Interface {
        &mut self.iface
    }

    /// The socket set: the program's other sockets live here too.
    pub fn sockets(&mut self) -> &mut SocketSet<'s> {
        &mut self.sockets
    }

    /// One whole turn at `now`: the interface polled over `device`, the driver's turn of
    /// `endpoint` over the UDP socket (with the application's step, `app`), the interface
    /// polled again so that what the turn sent goes out at once.
    pub fn turn<D: Device + ?Sized, E: Endpoint<Addr = SocketAddr>>(
        &mut self,
        now: Instant,
        device: &mut D,
        endpoint: &mut E,
        app: impl FnMut(&mut E),
    ) -> Result<Turned, TransportError<SmoltcpError>> {
        let passed = now.as_millis().wrapping_sub(self.last.as_millis());
        self.millis = self.millis.saturating_add(i64::from(passed));
        self.last = now;
        let at = smoltcp::time::Instant::from_millis(self.millis);
        self.iface.poll(at, device, &mut self.sockets);
        let socket = &mut SmoltcpUdp(self.sockets.get_mut::<Socket<'s>>(self.udp));
        let turned = self.driver.turn(now, socket, endpoint, app)?;
        self.iface.poll(at, device, &mut self.sockets);
        Ok(turned)
    }
}
