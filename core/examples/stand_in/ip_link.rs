//! smoltcp's network device, on a computer: [`IpLink`] carries the board's IPv4 packets
//! over a UDP socket of the computer's, as a NAT for one socket would. On the link this
//! computer is [`HOST`], 10.0.2.2, as QEMU's user-mode network names it to a guest: a
//! packet the board sends to it goes to this computer's 127.0.0.1, and answers from there
//! come back from it.
//!
//! A UDP packet the board sends leaves the computer's socket for the packet's destination,
//! with the packet's payload; a datagram the socket receives reaches the board as a UDP
//! packet from its sender to the board's address and port (those of the last packet the
//! board sent). On a board, its Ethernet driver takes this place (and the interface gets
//! the board's MAC address instead of `HardwareAddress::Ip`); the rest stays as it is.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};

use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr};

/// This computer, as the board sees it on the link.
pub(crate) const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

/// The largest packet the link carries: Ethernet's.
const MTU: usize = 1500;

/// The board's network device: IP packets in and out, carried by a UDP socket.
pub(crate) struct IpLink {
    socket: UdpSocket,
    /// The board's address and port, from the last UDP packet it sent.
    board: Option<SocketAddrV4>,
}

impl IpLink {
    /// A link on a fresh UDP socket of this computer's.
    pub(crate) fn new() -> io::Result<IpLink> {
        let socket = UdpSocket::bind("0.0.0.0:0")?;
        socket.set_nonblocking(true)?;
        Ok(IpLink { socket, board: None })
    }
}

impl Device for IpLink {
    type RxToken<'a> = Received;
    type TxToken<'a> = Sending<'a>;

    fn receive(&mut self, _: Instant) -> Option<(Received, Sending<'_>)> {
        // Until the board has sent, there is nobody to receive for.
        let board = self.board?;
        let mut payload = [0; MTU];
        let (len, SocketAddr::V4(mut from)) = self.socket.recv_from(&mut payload).ok()? else {
            return None;
        };
        if from.ip().is_loopback() {
            from.set_ip(HOST);
        }
        let packet = udp_packet(from, board, payload.get(..len)?);
        Some((Received(packet), Sending(self)))
    }

    fn transmit(&mut self, _: Instant) -> Option<Sending<'_>> {
        Some(Sending(self))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ip;
        capabilities.max_transmission_unit = MTU;
        capabilities
    }
}

/// A packet for the board.
pub(crate) struct Received(Vec<u8>);

impl phy::RxToken for Received {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Room for a packet from the board.
pub(crate) struct Sending<'a>(&'a mut IpLink);

impl phy::TxToken for Sending<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let result = f(&mut packet);
        if let Some((board, mut to, payload)) = udp_parts(&packet) {
            self.0.board = Some(board);
            if *to.ip() == HOST {
                to.set_ip(Ipv4Addr::LOCALHOST);
            }
            // A socket that cannot take it now loses it, as a busy wire would.
            let _ = self.0.socket.send_to(payload, to);
        }
        result
    }
}

/// The source, destination and payload of `packet` if it is UDP over IPv4.
fn udp_parts(packet: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4, &[u8])> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    if ip.next_header() != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    let from = SocketAddrV4::new(ip.src_addr(), udp.src_port());
    let to = SocketAddrV4::new(ip.dst_addr(), udp.dst_port());
    Some((from, to, udp.payload()))
}

/// A UDP packet over IPv4 from `from` to `to` carrying `payload`, its checksums filled in.
fn udp_packet(from: SocketAddrV4, to: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let udp = UdpRepr { src_port: from.port(), dst_port: to.port() };
    let ip = Ipv4Repr {
        src_addr: *from.ip(),
        dst_addr: *to.ip(),
        next_header: IpProtocol::Udp,
        payload_len: udp.header_len() + payload.len(),
        hop_limit: 64,
    };
    let mut packet = vec![0; ip.buffer_len() + ip.payload_len];
    let checksums = ChecksumCapabilities::default();
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut packet), &checksums);
    let (src, dst) = (IpAddress::Ipv4(*from.ip()), IpAddress::Ipv4(*to.ip()));
    if let Some(datagram) = packet.get_mut(ip.buffer_len()..) {
        let mut datagram = UdpPacket::new_unchecked(datagram);
        let fill = |room: &mut [u8]| room.copy_from_slice(payload);
        udp.emit(&mut datagram, &src, &dst, payload.len(), fill, &checksums);
    }
    packet
}
