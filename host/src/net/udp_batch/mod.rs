//! A UDP socket that moves datagrams in batches: on Linux `recvmmsg` and `sendmmsg` take or
//! give up to [`BATCH`] datagrams per system call; elsewhere one call each. Buffers are
//! allocated once, so the hot path allocates nothing.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use crate::net::peer_error::is_peer_trouble;

#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod sys;

#[cfg(not(target_os = "linux"))]
#[path = "fallback.rs"]
mod sys;

/// Datagrams per system call.
pub(crate) const BATCH: usize = 32;

/// A received datagram, its peer, and the send buffer an answer may go into.
pub(crate) type Received<'a> = (&'a [u8], SocketAddr, Option<&'a mut [u8]>);

/// One datagram's place in a batch: its length and its peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) len: usize,
    pub(crate) peer: SocketAddr,
}

const EMPTY: Meta = Meta {
    len: 0,
    peer: SocketAddr::V4(std::net::SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0)),
};

/// A non-blocking UDP socket with a batch of receive buffers of `RX` bytes each and a
/// batch of send buffers of `TX` bytes each.
pub(crate) struct BatchSocket<const RX: usize, const TX: usize> {
    pub(crate) socket: UdpSocket,
    rx: Box<[[u8; RX]]>,
    /// Each received datagram's length and peer; `None` for one without a usable address
    /// (kept in its place, so slot `i` always describes buffer `i`).
    rx_meta: [Option<Meta>; BATCH],
    rx_len: usize,
    tx: Box<[[u8; TX]]>,
    tx_meta: [Meta; BATCH],
    /// Datagrams written into `tx`, and how many of them were already sent.
    tx_len: usize,
    tx_sent: usize,
    /// Datagrams per system call, at most [`BATCH`] (1 turns batching off, to measure it).
    batch: usize,
    headers: sys::Headers,
}

impl<const RX: usize, const TX: usize> std::fmt::Debug for BatchSocket<RX, TX> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchSocket").field("socket", &self.socket).finish()
    }
}

impl<const RX: usize, const TX: usize> BatchSocket<RX, TX> {
    /// Wraps a socket (made non-blocking here).
    pub(crate) fn new(socket: UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        Ok(BatchSocket {
            socket,
            // Built on the heap one slot at a time: large slots would not fit a stack.
            rx: vec![[0; RX]; BATCH].into_boxed_slice(),
            rx_meta: [None; BATCH],
            rx_len: 0,
            tx: vec![[0; TX]; BATCH].into_boxed_slice(),
            tx_meta: [EMPTY; BATCH],
            tx_len: 0,
            tx_sent: 0,
            batch: BATCH,
            headers: sys::Headers::new(),
        })
    }

    /// Sets how many datagrams go per system call (1 to [`BATCH`]).
    pub(crate) fn set_batch(&mut self, batch: usize) {
        self.batch = batch.clamp(1, BATCH);
    }

    /// How many datagrams go per system call: a receive that returns fewer found the
    /// socket empty.
    pub(crate) fn batch(&self) -> usize {
        self.batch
    }

    /// Receives what is waiting, up to a batch; returns how many (0 when none).
    pub(crate) fn receive(&mut self) -> io::Result<usize> {
        self.rx_len = 0;
        let bufs = self.rx.get_mut(..self.batch).unwrap_or_default();
        self.rx_len = sys::receive(&self.socket, &mut self.headers, bufs, &mut self.rx_meta)?;
        Ok(self.rx_len)
    }

    /// How many datagrams the last [`BatchSocket::receive`] took.
    pub(crate) fn received(&self) -> usize {
        self.rx_len
    }

    /// The `i`th datagram of the last [`BatchSocket::receive`], and the send buffer it may
    /// answer into (if one is free).
    pub(crate) fn received_and_slot(&mut self, i: usize) -> Option<Received<'_>> {
        let meta = (*self.rx_meta.get(i).filter(|_| i < self.rx_len)?)?;
        let data = self.rx.get(i)?.get(..meta.len.min(RX))?;
        let slot = self.tx.get_mut(self.tx_len).map(|b| &mut b[..]);
        Some((data, meta.peer, slot))
    }

    /// The `i`th received datagram, writable (to answer it in place).
    pub(crate) fn received_mut(&mut self, i: usize) -> Option<(&mut [u8], SocketAddr)> {
        let meta = (*self.rx_meta.get(i).filter(|_| i < self.rx_len)?)?;
        Some((self.rx.get_mut(i)?.get_mut(..meta.len.min(RX))?, meta.peer))
    }

    /// Sends every received datagram back to where it came from (after the caller
    /// changed it in place); returns how many went.
    pub(crate) fn send_received_back(&mut self) -> io::Result<usize> {
        let mut sent = 0;
        while sent < self.rx_len {
            // The run of answerable datagrams from `sent` on; one without an address is
            // passed over.
            let pending = self.rx_meta.get(sent..self.rx_len).unwrap_or_default();
            let run = pending.iter().take_while(|meta| meta.is_some()).count();
            if run == 0 {
                sent += 1;
                continue;
            }
            let metas: [Meta; BATCH] =
                std::array::from_fn(|i| pending.get(i).copied().flatten().unwrap_or(EMPTY));
            let result = sys::send(
                &self.socket,
                &mut self.headers,
                self.rx.get(sent..sent + run).unwrap_or_default(),
                metas.get(..run).unwrap_or_default(),
            );
            match result {
                Ok(n) => sent += n.max(1),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(sent),
                // One peer's trouble: skip its datagram, answer the others.
                Err(e) if is_peer_trouble(&e) => sent += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(sent)
    }

    /// The next free send buffer, if the batch is not full.
    pub(crate) fn slot(&mut self) -> Option<&mut [u8]> {
        self.tx.get_mut(self.tx_len).map(|b| &mut b[..])
    }

    /// The send buffer handed out last holds a datagram of `len` bytes for `peer`.
    pub(crate) fn commit(&mut self, len: usize, peer: SocketAddr) {
        if let Some(meta) = self.tx_meta.get_mut(self.tx_len) {
            *meta = Meta { len, peer };
            self.tx_len += 1;
        }
    }

    /// Whether every send buffer holds a datagram.
    pub(crate) fn is_full(&self) -> bool {
        self.tx_len >= self.batch
    }

    /// Sends what the batch holds. `Ok(true)` when all of it went; `Ok(false)` when the
    /// socket is full and the rest waits for the next flush.
    pub(crate) fn flush(&mut self) -> io::Result<bool> {
        while self.tx_sent < self.tx_len {
            let sent = sys::send(
                &self.socket,
                &mut self.headers,
                self.tx.get(self.tx_sent..self.tx_len).unwrap_or_default(),
                self.tx_meta.get(self.tx_sent..self.tx_len).unwrap_or_default(),
            );
            match sent {
                Ok(n) => self.tx_sent += n.max(1),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // One peer's trouble (an ICMP error reported on send): skip that datagram.
                Err(e) if is_peer_trouble(&e) => self.tx_sent += 1,
                Err(e) => {
                    self.tx_sent += 1;
                    if self.tx_sent >= self.tx_len {
                        self.tx_len = 0;
                        self.tx_sent = 0;
                    }
                    return Err(e);
                }
            }
        }
        self.tx_len = 0;
        self.tx_sent = 0;
        Ok(true)
    }

    /// Sends `data` to `peer` at once, outside the batch (legacy text replies).
    pub(crate) fn send_now(&self, data: &[u8], peer: SocketAddr) -> io::Result<()> {
        self.socket.send_to(data, peer).map(|_| ())
    }
}
