//! `--capture FILE`: every datagram in and out, and every frame of a stream link, in a
//! pcapng file that Wireshark and tshark read (`contrib/wireshark/minichat.lua` decodes
//! minichat in it).
//!
//! Datagrams are written as IPv4 or IPv6 packets with a UDP header (interface 0, link
//! type `RAW`), with the real addresses and ports, so Wireshark's own dissectors run
//! first. Stream links have no packets: each frame is one record on interface 1 (link
//! type `USER0`) as it is on the line — COBS, CRC and the `0x00` — behind a small header
//! that says which way it went and on which link (see [`Capture::stream`]).
//!
//! `pcap-file` encodes the pcapng blocks and smoltcp's `wire` module the IP and UDP headers
//! with their checksums.
//!
//! The network loop never waits for the disk: it appends records to a buffer allocated
//! once, and a writer thread empties it into the file every [`FLUSH_EVERY`] (so the file
//! is readable while the program runs) and once more when the capture is dropped. When
//! the buffer is full the record is dropped and counted; [`Capture::finish`] says how many.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use minichat_core::stream::{MAX_ENCODED_FRAME, encode_frame};
use minichat_core::transport::Datagram;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::{DataLink, Endianness};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{IpAddress, IpProtocol, IpRepr, UDP_HEADER_LEN, UdpPacket, UdpRepr};

use crate::net::peer::Peer;

/// Bytes of records that may wait for the writer: a second of a busy server.
const BUFFER: usize = 8 << 20;

/// Room for a record (a packet with its headers, or a stream frame with its own), and for
/// its block; a larger one (none comes from the loops) grows them once.
const RECORD_ROOM: usize = 128 + MAX_ENCODED_FRAME;
const BLOCK_ROOM: usize = 64 + RECORD_ROOM;

/// How often the writer empties the buffer into the file.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// The pcapng interfaces, in the order the file describes them: datagrams as raw IPv4/IPv6
/// packets, and stream frames.
const INTERFACE_UDP: u32 = 0;
const INTERFACE_STREAM: u32 = 1;

/// The interfaces' time stamp resolution, 10^-9 s.
const NANOSECONDS: u8 = 9;

/// The hop limit in the packets' IP headers: the usual 64 of a fresh packet.
const HOP_LIMIT: u8 = 64;

/// The most a UDP datagram over IPv4 carries: 65,535 bytes less the IP and UDP headers.
const MAX_UDP_PAYLOAD: usize = 65_507;

/// Which way a datagram or frame went, seen from the program that captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received.
    In,
    /// Sent.
    Out,
}

/// What kind of stream link a frame travelled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// A serial line.
    Serial,
    /// A TCP connection.
    Tcp,
}

/// The records waiting for the writer.
#[derive(Debug)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
    closing: bool,
}

#[derive(Debug)]
struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer early: only when the capture closes.
    closing: Condvar,
}

/// A capture being written, owned by the loop that sees the traffic.
pub struct Capture {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<std::io::Result<()>>>,
    path: PathBuf,
    /// Each record's packet (or stream record), built here.
    record: Vec<u8>,
    /// Encodes each record's block, whose bytes are then copied into the buffer (the
    /// writer thread only writes bytes).
    blocks: PcapNgWriter<Vec<u8>>,
    /// A stream frame encoded as on the line.
    encoded: Vec<u8>,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Capture {
    /// Creates (or truncates) `path` and starts its writer.
    pub fn create(path: &Path) -> std::io::Result<Capture> {
        let file = File::create(path)?;
        let mut blocks =
            PcapNgWriter::with_endianness(Vec::with_capacity(BLOCK_ROOM), Endianness::Little)
                .map_err(std::io::Error::other)?;
        blocks.write_pcapng_block(udp_interface()).map_err(std::io::Error::other)?;
        blocks.write_pcapng_block(stream_interface()).map_err(std::io::Error::other)?;
        // The section header and the interfaces: the file's first bytes.
        let mut bytes = Vec::with_capacity(BUFFER);
        bytes.append(blocks.get_mut());
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending { bytes, dropped: 0, closing: false }),
            closing: Condvar::new(),
        });
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || write_out(&writer_shared, file))?;
        Ok(Capture {
            shared,
            writer: Some(writer),
            path: path.to_path_buf(),
            record: Vec::with_capacity(RECORD_ROOM),
            blocks,
            encoded: vec![0; MAX_ENCODED_FRAME],
        })
    }

    /// A datagram between `local` (this program's socket) and `remote`.
    pub fn udp(
        &mut self,
        direction: Direction,
        local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) {
        let (src, dst) = match direction {
            Direction::In => (remote, local),
            Direction::Out => (local, remote),
        };
        let mut packet = std::mem::take(&mut self.record);
        packet.clear();
        ip_udp_packet(&mut packet, src, dst, data);
        self.push(INTERFACE_UDP, &packet);
        self.record = packet;
    }

    /// A frame (`frame`, as the core reads or wrote it) on a stream link named `name`;
    /// it is recorded as it is on the line, framed. The record: the direction (0
    /// received, 1 sent, as the capturing program sees it), the link (1 serial, 2 TCP),
    /// the name's length in bytes, the name (a device path or the peer's address, UTF-8),
    /// then the frame's bytes on the line.
    pub fn stream(&mut self, direction: Direction, kind: StreamKind, name: &str, frame: &[u8]) {
        let mut encoded = std::mem::take(&mut self.encoded);
        if let Ok(len) = encode_frame(frame, &mut encoded[..]) {
            self.stream_bytes(direction, kind, name, encoded.get(..len).unwrap_or_default());
        }
        self.encoded = encoded;
    }

    /// Bytes as they went over a stream link named `name` (framed already: a frame with its
    /// check, COBS-encoded, and the delimiter; or several), in one record.
    pub fn stream_bytes(
        &mut self,
        direction: Direction,
        kind: StreamKind,
        name: &str,
        bytes: &[u8],
    ) {
        let name = name.as_bytes().get(..usize::from(u8::MAX)).unwrap_or(name.as_bytes());
        let mut record = std::mem::take(&mut self.record);
        record.clear();
        record.push(match direction {
            Direction::In => 0,
            Direction::Out => 1,
        });
        record.push(match kind {
            StreamKind::Serial => 1,
            StreamKind::Tcp => 2,
        });
        record.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        record.extend_from_slice(name);
        record.extend_from_slice(bytes);
        self.push(INTERFACE_STREAM, &record);
        self.record = record;
    }

    /// A datagram or frame exchanged with `peer`, whatever carried it; `local` is this
    /// program's UDP socket.
    pub fn peer(&mut self, direction: Direction, local: SocketAddr, peer: Peer, data: &[u8]) {
        match peer {
            Peer::Udp(remote) => self.udp(direction, local, remote, data),
            Peer::Tcp(remote) => self.stream(direction, StreamKind::Tcp, &remote.to_string(), data),
            Peer::Serial(path) => self.stream(direction, StreamKind::Serial, path, data),
        }
    }

    /// Appends `data` as an enhanced packet block on `interface`, stamped now.
    fn push(&mut self, interface: u32, data: &[u8]) {
        let block = EnhancedPacketBlock {
            interface_id: interface,
            timestamp: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default(),
            original_len: record_len(data.len()),
            data: Cow::Borrowed(data),
            options: Vec::new(),
        };
        self.blocks.get_mut().clear();
        if let Err(error) = self.blocks.write_pcapng_block(block) {
            // Only an unknown interface fails, and both are described at the start.
            tracing::debug!(%error, "a capture record could not be encoded");
            return;
        }
        let block = self.blocks.get_ref();
        let mut pending = self.shared.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let room = pending.bytes.capacity() - pending.bytes.len();
        if block.len() > room {
            pending.dropped += 1;
            return;
        }
        pending.bytes.extend_from_slice(block);
    }

    /// Writes what is left and closes the file; returns how many records were dropped
    /// because the writer fell behind.
    pub fn finish(mut self) -> std::io::Result<u64> {
        self.close()
    }

    fn close(&mut self) -> std::io::Result<u64> {
        let Some(writer) = self.writer.take() else { return Ok(0) };
        let dropped = {
            let mut pending = self.shared.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.closing = true;
            pending.dropped
        };
        self.shared.closing.notify_one();
        let written =
            writer.join().map_err(|_| std::io::Error::other("the capture writer panicked"))?;
        written?;
        Ok(dropped)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            tracing::warn!(%error, path = %self.path.display(), "the capture could not be finished");
        }
    }
}

/// The writer thread: empties the buffer into the file every [`FLUSH_EVERY`], until the
/// capture closes.
fn write_out(shared: &Shared, file: File) -> std::io::Result<()> {
    let mut file = BufWriter::new(file);
    let mut spare = Vec::with_capacity(BUFFER);
    loop {
        let closing = {
            let pending = shared.pending.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut pending, _) = shared
                .closing
                .wait_timeout_while(pending, FLUSH_EVERY, |p| !p.closing)
                .unwrap_or_else(PoisonError::into_inner);
            std::mem::swap(&mut pending.bytes, &mut spare);
            pending.closing
        };
        file.write_all(&spare)?;
        file.flush()?;
        spare.clear();
        if closing {
            return Ok(());
        }
    }
}

/// The interface every datagram is recorded on: raw IPv4/IPv6 packets.
fn udp_interface() -> InterfaceDescriptionBlock<'static> {
    interface(DataLink::RAW)
}

/// The interface every stream frame is recorded on: the first user link type.
fn stream_interface() -> InterfaceDescriptionBlock<'static> {
    interface(DataLink::USER0)
}

/// An interface without a snapshot limit, its time stamps in nanoseconds (what
/// `pcap-file` writes an enhanced packet block's time stamp in).
fn interface(linktype: DataLink) -> InterfaceDescriptionBlock<'static> {
    InterfaceDescriptionBlock {
        linktype,
        snaplen: 0,
        options: vec![InterfaceDescriptionOption::IfTsResol(NANOSECONDS)],
    }
}

/// A record's length as pcapng holds it: records are far below 4 GiB (frames are at most a
/// few KB).
fn record_len(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// An IPv4 or IPv6 packet carrying a UDP datagram from `src` to `dst`, checksums and all.
/// Mixed families (an IPv4 peer of an IPv6 socket) are written as IPv6, mapped.
fn ip_udp_packet(out: &mut Vec<u8>, src: SocketAddr, dst: SocketAddr, data: &[u8]) {
    // Longer than any datagram IP carries, so never sent: its start is recorded.
    let data = data.get(..MAX_UDP_PAYLOAD).unwrap_or(data);
    let (src_ip, dst_ip) = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (IpAddress::Ipv4(s), IpAddress::Ipv4(d)),
        (s, d) => (IpAddress::Ipv6(to_v6(s)), IpAddress::Ipv6(to_v6(d))),
    };
    let udp_len = UDP_HEADER_LEN + data.len();
    let ip = IpRepr::new(src_ip, dst_ip, IpProtocol::Udp, udp_len, HOP_LIMIT);
    let checksums = ChecksumCapabilities::default();
    out.resize(ip.buffer_len(), 0);
    let (ip_header, datagram) = out.split_at_mut(ip.header_len());
    ip.emit(ip_header, &checksums);
    let udp = UdpRepr { src_port: src.port(), dst_port: dst.port() };
    udp.emit(
        &mut UdpPacket::new_unchecked(datagram),
        &src_ip,
        &dst_ip,
        data.len(),
        |payload| payload.copy_from_slice(data),
        &checksums,
    );
}

fn to_v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// A datagram transport that records everything through it (the client's link): what
/// `chat --capture` wraps its link in.
#[derive(Debug)]
pub struct Captured<D> {
    /// The transport.
    pub inner: D,
    capture: Option<Capture>,
    /// This end's UDP address, for the packets' headers.
    local: SocketAddr,
}

impl<D> Captured<D> {
    /// `inner`, recorded into `capture` if there is one.
    pub fn new(inner: D, capture: Option<Capture>, local: SocketAddr) -> Self {
        Captured { inner, capture, local }
    }

    /// Stops capturing: the capture, to finish.
    pub fn take_capture(&mut self) -> Option<Capture> {
        self.capture.take()
    }
}

impl<D: Datagram<Addr = Peer>> Datagram for Captured<D> {
    type Error = D::Error;
    type Addr = Peer;

    fn send_to(&mut self, remote: Peer, data: &[u8]) -> nb::Result<(), D::Error> {
        self.inner.send_to(remote, data)?;
        if let Some(capture) = &mut self.capture {
            capture.peer(Direction::Out, self.local, remote, data);
        }
        Ok(())
    }

    fn receive(&mut self, buf: &mut [u8]) -> nb::Result<(usize, Peer), D::Error> {
        let (len, from) = self.inner.receive(buf)?;
        if let Some(capture) = &mut self.capture {
            capture.peer(Direction::In, self.local, from, buf.get(..len).unwrap_or_default());
        }
        Ok((len, from))
    }
}
