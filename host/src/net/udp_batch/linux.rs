//! Linux: `recvmmsg` and `sendmmsg` move up to [`BATCH`] datagrams per system call.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};

use super::{BATCH, Meta};

/// The `mmsghdr` arrays, allocated once.
pub(super) struct Headers {
    rx: MultiHeaders<SockaddrStorage>,
    tx: MultiHeaders<SockaddrStorage>,
}

impl Headers {
    pub(super) fn new() -> Self {
        Headers {
            rx: MultiHeaders::preallocate(BATCH, None),
            tx: MultiHeaders::preallocate(BATCH, None),
        }
    }
}

fn to_std(addr: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    addr.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

pub(super) fn receive<const RX: usize>(
    socket: &UdpSocket,
    headers: &mut Headers,
    bufs: &mut [[u8; RX]],
    meta: &mut [Option<Meta>; BATCH],
) -> io::Result<usize> {
    let count = bufs.len().min(BATCH);
    let mut slots = bufs.iter_mut();
    let mut iovs: [[IoSliceMut<'_>; 1]; BATCH] = std::array::from_fn(|_| {
        [IoSliceMut::new(slots.next().map_or(&mut [][..], |b| &mut b[..]))]
    });
    let results = match recvmmsg(
        socket.as_raw_fd(),
        &mut headers.rx,
        iovs.iter_mut().take(count),
        MsgFlags::MSG_DONTWAIT,
        None,
    ) {
        Ok(results) => results,
        Err(nix::errno::Errno::EAGAIN) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut count = 0;
    for (message, slot) in results.zip(meta.iter_mut()) {
        // A datagram without a usable address cannot be answered: its slot says so,
        // and stays in step with its buffer.
        *slot =
            message.address.as_ref().and_then(to_std).map(|peer| Meta { len: message.bytes, peer });
        count += 1;
    }
    Ok(count)
}

pub(super) fn send<const N: usize>(
    socket: &UdpSocket,
    headers: &mut Headers,
    bufs: &[[u8; N]],
    meta: &[Meta],
) -> io::Result<usize> {
    let iovs: [[IoSlice<'_>; 1]; BATCH] = std::array::from_fn(|i| {
        let len = meta.get(i).map_or(0, |m| m.len);
        [IoSlice::new(bufs.get(i).and_then(|b| b.get(..len)).unwrap_or_default())]
    });
    let count = meta.len().min(bufs.len()).min(BATCH);
    let addrs: [Option<SockaddrStorage>; BATCH] = std::array::from_fn(|i| {
        meta.get(i).filter(|_| i < count).map(|m| SockaddrStorage::from(m.peer))
    });
    let results = sendmmsg(
        socket.as_raw_fd(),
        &mut headers.tx,
        iovs.iter().take(count),
        addrs.get(..count).unwrap_or_default(),
        [],
        MsgFlags::MSG_DONTWAIT,
    )?;
    Ok(results.count())
}
