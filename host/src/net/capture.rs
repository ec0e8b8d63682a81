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
//! The network loop never waits for the disk: it appends records to a buffer allocated
//! once, and a writer thread empties it into the file every [`FLUSH_EVERY`] (so the file
//! is readable while the program runs) and once more when the capture is dropped. When
//! the buffer is full the record is dropped and counted; [`Capture::finish`] says how many.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use minichat_core::stream::{MAX_ENCODED_FRAME, encode_frame};
use minichat_core::transport::Datagram;

use crate::net::peer::Peer;

/// Bytes of records that may wait for the writer: a second of a busy server.
const BUFFER: usize = 8 << 20;

/// How often the writer empties the buffer into the file.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// pcapng link types: raw IPv4/IPv6 packets, and the first user type (stream frames).
const LINKTYPE_RAW: u16 = 101;
const LINKTYPE_USER0: u16 = 147;
const INTERFACE_UDP: u32 = 0;
const INTERFACE_STREAM: u32 = 1;

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
#[derive(Debug)]
pub struct Capture {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<std::io::Result<()>>>,
    path: PathBuf,
    /// The header and interfaces, then each record: built here, then copied in.
    record: Vec<u8>,
    /// A stream frame encoded as on the line.
    encoded: Vec<u8>,
}

impl Capture {
    /// Creates (or truncates) `path` and starts its writer.
    pub fn create(path: &Path) -> std::io::Result<Capture> {
        let file = File::create(path)?;
        let mut head = Vec::new();
        section_header(&mut head);
        interface(&mut head, LINKTYPE_RAW);
        interface(&mut head, LINKTYPE_USER0);
        let mut bytes = Vec::with_capacity(BUFFER);
        bytes.extend_from_slice(&head);
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
            record: Vec::with_capacity(128 + MAX_ENCODED_FRAME),
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

    fn push(&mut self, interface: u32, data: &[u8]) {
        let mut pending = self.shared.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let room = pending.bytes.capacity() - pending.bytes.len();
        if enhanced_packet_len(data.len()) > room {
            pending.dropped += 1;
            return;
        }
        enhanced_packet(&mut pending.bytes, interface, SystemTime::now(), data);
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

/// Appends `value` little-endian (pcapng files are written in the host's order, and the
/// section header's magic says which; little-endian is what this program writes).
fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// A block's length field: blocks are far below 4 GiB (frames are at most a few KB).
fn block_len(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn section_header(out: &mut Vec<u8>) {
    put_u32(out, 0x0a0d_0d0a);
    put_u32(out, 28);
    put_u32(out, 0x1a2b_3c4d);
    put_u16(out, 1);
    put_u16(out, 0);
    out.extend_from_slice(&u64::MAX.to_le_bytes()); // section length: not given
    put_u32(out, 28);
}

fn interface(out: &mut Vec<u8>, link_type: u16) {
    put_u32(out, 1);
    put_u32(out, 20);
    put_u16(out, link_type);
    put_u16(out, 0);
    put_u32(out, 0); // no snapshot limit
    put_u32(out, 20);
}

/// The length of an enhanced packet block holding `len` bytes.
fn enhanced_packet_len(len: usize) -> usize {
    32 + len.next_multiple_of(4)
}

/// An enhanced packet block: `data` on `interface` at `at` (microseconds, the default
/// resolution).
fn enhanced_packet(out: &mut Vec<u8>, interface: u32, at: SystemTime, data: &[u8]) {
    let total = block_len(enhanced_packet_len(data.len()));
    let micros = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros();
    let micros = u64::try_from(micros).unwrap_or(u64::MAX);
    let len = block_len(data.len());
    put_u32(out, 6);
    put_u32(out, total);
    put_u32(out, interface);
    put_u32(out, u32::try_from(micros >> 32).unwrap_or(u32::MAX));
    put_u32(out, u32::try_from(micros & 0xffff_ffff).unwrap_or(u32::MAX));
    put_u32(out, len);
    put_u32(out, len);
    out.extend_from_slice(data);
    out.resize(out.len() + (data.len().next_multiple_of(4) - data.len()), 0);
    put_u32(out, total);
}

/// An IPv4 or IPv6 packet carrying a UDP datagram from `src` to `dst`, checksums and all.
/// Mixed families (an IPv4 peer of an IPv6 socket) are written as IPv6, mapped.
fn ip_udp_packet(out: &mut Vec<u8>, src: SocketAddr, dst: SocketAddr, data: &[u8]) {
    let udp_len = 8 + data.len();
    let udp_len16 = u16::try_from(udp_len).unwrap_or(u16::MAX);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(20 + udp_len).unwrap_or(u16::MAX);
            let mut header = [0u8; 20];
            header[0] = 0x45;
            header[2..4].copy_from_slice(&total.to_be_bytes());
            header[6] = 0x40; // don't fragment
            header[8] = 64;
            header[9] = 17;
            header[12..16].copy_from_slice(&s.octets());
            header[16..20].copy_from_slice(&d.octets());
            let checksum = !fold(sum(&header, 0));
            header[10..12].copy_from_slice(&checksum.to_be_bytes());
            out.extend_from_slice(&header);
            let mut pseudo = sum(&s.octets(), 0);
            pseudo = sum(&d.octets(), pseudo);
            pseudo += 17 + u32::from(udp_len16);
            udp(out, src.port(), dst.port(), udp_len16, data, pseudo);
        }
        (s, d) => {
            let s = to_v6(s).octets();
            let d = to_v6(d).octets();
            let mut header = [0u8; 40];
            header[0] = 0x60;
            header[4..6].copy_from_slice(&udp_len16.to_be_bytes());
            header[6] = 17;
            header[7] = 64;
            header[8..24].copy_from_slice(&s);
            header[24..40].copy_from_slice(&d);
            out.extend_from_slice(&header);
            let mut pseudo = sum(&s, 0);
            pseudo = sum(&d, pseudo);
            pseudo += 17 + u32::from(udp_len16);
            udp(out, src.port(), dst.port(), udp_len16, data, pseudo);
        }
    }
}

fn to_v6(ip: IpAddr) -> std::net::Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

fn udp(out: &mut Vec<u8>, src: u16, dst: u16, len: u16, data: &[u8], pseudo: u32) {
    let mut header = [0u8; 8];
    header[0..2].copy_from_slice(&src.to_be_bytes());
    header[2..4].copy_from_slice(&dst.to_be_bytes());
    header[4..6].copy_from_slice(&len.to_be_bytes());
    let checksum = match !fold(sum(data, sum(&header, pseudo))) {
        0 => 0xffff, // 0 means "no checksum" in UDP
        c => c,
    };
    header[6..8].copy_from_slice(&checksum.to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
}

/// The ones' complement sum of `bytes` as 16-bit words (RFC 1071), added to `acc`.
fn sum(bytes: &[u8], acc: u32) -> u32 {
    bytes.chunks(2).fold(acc, |acc, pair| {
        let word = match pair {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        acc.wrapping_add(u32::from(word))
    })
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    u16::try_from(acc).unwrap_or(u16::MAX)
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
