//! Elsewhere: one datagram per system call, through std's socket.

use std::io;
use std::net::UdpSocket;

use super::{BATCH, Meta};

/// Nothing to keep between calls.
pub(super) struct Headers;

impl Headers {
    pub(super) fn new() -> Self {
        Headers
    }
}

pub(super) fn receive<const RX: usize>(
    socket: &UdpSocket,
    _headers: &mut Headers,
    bufs: &mut [[u8; RX]],
    meta: &mut [Option<Meta>; BATCH],
) -> io::Result<usize> {
    let mut count = 0;
    for (buf, slot) in bufs.iter_mut().zip(meta.iter_mut()) {
        match socket.recv_from(buf) {
            Ok((len, peer)) => {
                *slot = Some(Meta { len, peer });
                count += 1;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && count > 0 => break,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
            Err(e) => return Err(e),
        }
    }
    Ok(count)
}

/// Sends the first datagram: one per call, as the caller loops.
pub(super) fn send<const N: usize>(
    socket: &UdpSocket,
    _headers: &mut Headers,
    bufs: &[[u8; N]],
    meta: &[Meta],
) -> io::Result<usize> {
    let (Some(buf), Some(meta)) = (bufs.first(), meta.first()) else { return Ok(0) };
    socket.send_to(buf.get(..meta.len).unwrap_or_default(), meta.peer).map(|_| 1)
}
