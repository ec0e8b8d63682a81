//! `minichat bench --idle N`: N users who join the server and stay, silent but pinging
//! when their keep-alive comes due, while the load runs — what a fuller table costs the
//! users who talk.
//!
//! Tens of thousands of users cannot each have a socket (a process gets a few thousand
//! descriptors, an address a few tens of thousands of ports), and the server tells users
//! apart by address, not by socket. So every idle user speaks from its own loopback
//! address (`127.1.0.1`, `127.1.0.2`, …: Linux answers for all of 127.0.0.0/8) through
//! one socket that picks each datagram's source (`IP_PKTINFO`) and learns each reply's
//! destination the same way. Their state machines wake when a datagram comes for one of
//! them or one's timer is due (a heap of deadlines), so 50,000 of them cost little more
//! than their pings. Linux only.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use minichat_core::client::{Client, ClientConfig};
use minichat_core::time::Instant;
use minichat_core::wire::NameBuf;
use minichat_core::wire::limits::MAX_FRAME;

/// An idle user: one message in flight, two events, no early deliveries held.
type IdleClient = Client<1, 2, 1>;

/// The most idle users: one loopback address each, from 127.1.0.1.
pub(crate) const MAX_IDLE: usize = 60_000;

/// Joins in flight at once: the server's socket buffer takes a burst of this size.
const JOINING_AT_ONCE: usize = 256;

/// How long joining may take, in all.
const JOIN_WITHIN: StdDuration = StdDuration::from_secs(120);

/// The longest the population sleeps between looks at its socket and timers.
const NAP: StdDuration = StdDuration::from_millis(20);

/// The idle users, joined and kept alive on a thread of their own until stopped.
#[derive(Debug)]
pub(crate) struct IdleUsers {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl IdleUsers {
    /// Joins `count` users to the server at `server` and returns once all are in.
    pub(crate) fn join(server: SocketAddr, count: usize) -> std::io::Result<IdleUsers> {
        let mut population = Population::new(server, count)?;
        population.join_all(count)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("idle users".into()).spawn(move || {
            while !thread_stop.load(Ordering::Relaxed) {
                if population.turn(NAP).is_err() {
                    return; // the socket failed: the users go silent and expire
                }
            }
        })?;
        Ok(IdleUsers { stop, thread: Some(thread) })
    }

    /// Stops keeping them alive (the server expires them later).
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The address idle user `index` speaks from.
fn address_of(index: usize) -> Option<Ipv4Addr> {
    let n = u32::try_from(index).ok().filter(|_| index < MAX_IDLE)? + 1;
    Some(Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 1, 0, 0)) + n))
}

/// Which idle user speaks from `addr`.
fn index_of(addr: Ipv4Addr) -> Option<usize> {
    let n = u32::from(addr).checked_sub(u32::from(Ipv4Addr::new(127, 1, 0, 0)))?;
    usize::try_from(n.checked_sub(1)?).ok().filter(|&i| i < MAX_IDLE)
}

/// Every idle user's state machine, and the one socket they share.
struct Population {
    socket: socket::ManyAddresses,
    server: SocketAddr,
    clients: Vec<IdleClient>,
    /// (deadline, user): possibly stale, checked against the user's own when due.
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    start: StdInstant,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl Population {
    fn new(server: SocketAddr, count: usize) -> std::io::Result<Population> {
        if count > MAX_IDLE {
            return Err(std::io::Error::other(format!("at most {MAX_IDLE} idle users")));
        }
        Ok(Population {
            socket: socket::ManyAddresses::bind()?,
            server,
            clients: Vec::with_capacity(count),
            timers: BinaryHeap::new(),
            start: StdInstant::now(),
            rx: vec![0; MAX_FRAME],
            tx: vec![0; MAX_FRAME],
        })
    }

    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Starts users a few hundred at a time until `count` are joined.
    fn join_all(&mut self, count: usize) -> std::io::Result<()> {
        let mut joined = 0;
        while joined < count {
            if self.start.elapsed() > JOIN_WITHIN {
                return Err(std::io::Error::other(format!(
                    "only {joined} of {count} idle users joined within {JOIN_WITHIN:?}"
                )));
            }
            while self.clients.len() < count && self.clients.len() - joined < JOINING_AT_ONCE {
                self.add()?;
            }
            self.turn(StdDuration::from_millis(2))?;
            joined = self.clients.iter().filter(|client| client.is_joined()).count();
        }
        Ok(())
    }

    fn add(&mut self) -> std::io::Result<()> {
        let index = self.clients.len();
        let name = NameBuf::parse(&format!("idle{index}")).map_err(std::io::Error::other)?;
        let seed = u64::try_from(index).unwrap_or(0).wrapping_add(1);
        let config =
            ClientConfig::new(name.as_str(), self.server, seed).map_err(std::io::Error::other)?;
        self.clients.push(IdleClient::new(config, self.now()));
        self.flush(index)
    }

    /// Waits up to `nap` for a datagram or a timer, then takes every datagram waiting and
    /// runs every timer due.
    fn turn(&mut self, nap: StdDuration) -> std::io::Result<()> {
        let now = self.now();
        let next = self.timers.peek().map(|Reverse((at, _))| *at);
        let wait = next.map_or(nap, |at| {
            StdDuration::from_millis(at.saturating_since(now).as_millis()).min(nap)
        });
        self.socket.wait(wait)?;
        while let Some((to, from, len)) = self.socket.receive(&mut self.rx)? {
            let Some(index) = index_of(to) else { continue };
            let now = self.now();
            if let (Some(client), Some(datagram)) =
                (self.clients.get_mut(index), self.rx.get(..len))
            {
                client.handle(now, from, datagram);
            }
            self.flush(index)?;
        }
        let now = self.now();
        while let Some(&Reverse((at, index))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(client) = self.clients.get_mut(index) else { continue };
            if client.poll_timeout().is_some_and(|due| due <= now) {
                client.handle_timeout(now);
                self.flush(index)?;
            }
        }
        Ok(())
    }

    /// Sends what user `index` has to send, forgets its events, and notes its next
    /// deadline.
    fn flush(&mut self, index: usize) -> std::io::Result<()> {
        let now = self.now();
        let (Some(client), Some(source)) = (self.clients.get_mut(index), address_of(index)) else {
            return Ok(());
        };
        while let Some(transmit) = client.poll_transmit(now, &mut self.tx) {
            let data = self.tx.get(..transmit.len).unwrap_or_default();
            self.socket.send(source, transmit.destination, data)?;
        }
        while client.poll_event().is_some() {}
        if let Some(at) = client.poll_timeout() {
            self.timers.push(Reverse((at, index)));
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
mod socket {
    //! One UDP socket that speaks from any loopback address: bound to the port on every
    //! address, each datagram's source chosen and each reply's destination read with
    //! `IP_PKTINFO`.

    use std::io::{IoSlice, IoSliceMut};
    use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    use nix::libc;
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use nix::sys::socket::{
        ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, recvmsg, sendmsg, setsockopt,
        sockopt,
    };

    pub(super) struct ManyAddresses {
        socket: UdpSocket,
    }

    impl ManyAddresses {
        pub(super) fn bind() -> std::io::Result<ManyAddresses> {
            // Every address, so that replies to 127.1.x.y reach it; nothing but loopback
            // traffic is ever sent from it.
            let socket = UdpSocket::bind("0.0.0.0:0")?;
            setsockopt(&socket, sockopt::Ipv4PacketInfo, &true)?;
            setsockopt(&socket, sockopt::RcvBuf, &(8 << 20))?;
            Ok(ManyAddresses { socket })
        }

        /// Waits until a datagram is waiting, or `wait` has passed.
        pub(super) fn wait(&self, wait: Duration) -> std::io::Result<()> {
            let mut fds = [PollFd::new(self.socket_fd(), PollFlags::POLLIN)];
            let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
                Err(error) => Err(error.into()),
            }
        }

        fn socket_fd(&self) -> std::os::fd::BorrowedFd<'_> {
            use std::os::fd::AsFd;
            self.socket.as_fd()
        }

        /// Sends `data` to `to` from `source` (a loopback address).
        pub(super) fn send(
            &self,
            source: Ipv4Addr,
            to: SocketAddr,
            data: &[u8],
        ) -> std::io::Result<()> {
            let SocketAddr::V4(to) = to else {
                return Err(std::io::Error::other("idle users reach IPv4 servers only"));
            };
            let info = libc::in_pktinfo {
                ipi_ifindex: 0,
                ipi_spec_dst: libc::in_addr { s_addr: u32::from(source).to_be() },
                ipi_addr: libc::in_addr { s_addr: 0 },
            };
            let control = [ControlMessage::Ipv4PacketInfo(&info)];
            let to = SockaddrIn::from(to);
            match sendmsg(
                self.socket.as_raw_fd(),
                &[IoSlice::new(data)],
                &control,
                MsgFlags::MSG_DONTWAIT,
                Some(&to),
            ) {
                // A full buffer loses the datagram, as a network would: resent later.
                Ok(_) | Err(nix::errno::Errno::EAGAIN) => Ok(()),
                Err(error) => Err(error.into()),
            }
        }

        /// The next datagram waiting: to which address, from where, how long.
        pub(super) fn receive(
            &self,
            buf: &mut [u8],
        ) -> std::io::Result<Option<(Ipv4Addr, SocketAddr, usize)>> {
            let mut control = nix::cmsg_space!(libc::in_pktinfo);
            let mut iov = [IoSliceMut::new(buf)];
            let message = match recvmsg::<SockaddrIn>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut control),
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(message) => message,
                Err(nix::errno::Errno::EAGAIN) => return Ok(None),
                Err(error) => return Err(error.into()),
            };
            let mut to = None;
            for cmsg in message.cmsgs()? {
                if let ControlMessageOwned::Ipv4PacketInfo(info) = cmsg {
                    to = Some(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
                }
            }
            let from = message.address.map(|a| SocketAddr::V4(SocketAddrV4::from(a)));
            match (to, from) {
                (Some(to), Some(from)) => Ok(Some((to, from, message.bytes))),
                // Not for an idle user: passed over.
                _ => Ok(Some((Ipv4Addr::UNSPECIFIED, SocketAddr::from(([0; 4], 0)), 0))),
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod socket {
    //! Elsewhere, loopback is one address: no room for thousands of users.

    use std::net::{Ipv4Addr, SocketAddr};
    use std::time::Duration;

    pub(super) struct ManyAddresses;

    impl ManyAddresses {
        pub(super) fn bind() -> std::io::Result<ManyAddresses> {
            Err(std::io::Error::other(
                "idle users need Linux (one loopback address each, across 127.0.0.0/8)",
            ))
        }

        pub(super) fn wait(&self, _wait: Duration) -> std::io::Result<()> {
            Ok(())
        }

        pub(super) fn send(&self, _: Ipv4Addr, _: SocketAddr, _: &[u8]) -> std::io::Result<()> {
            Ok(())
        }

        pub(super) fn receive(
            &self,
            _buf: &mut [u8],
        ) -> std::io::Result<Option<(Ipv4Addr, SocketAddr, usize)>> {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_its_own_loopback_address() {
        assert_eq!(address_of(0), Some(Ipv4Addr::new(127, 1, 0, 1)));
        assert_eq!(address_of(300), Some(Ipv4Addr::new(127, 1, 1, 45)));
        assert_eq!(address_of(MAX_IDLE), None);
        for i in [0, 1, 255, 256, 49_999, MAX_IDLE - 1] {
            assert_eq!(address_of(i).and_then(index_of), Some(i));
        }
        assert_eq!(index_of(Ipv4Addr::new(127, 0, 0, 1)), None);
        assert!(address_of(MAX_IDLE - 1).is_some_and(|a| a.is_loopback()));
    }
}
