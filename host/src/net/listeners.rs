//! Binding the listening sockets: UDP, and TCP on the same port when asked.

use std::net::SocketAddr;

use std::net::UdpSocket;

use mio::net::TcpListener;

use crate::error::HostError;

/// How often to retry when port 0 gave a UDP port whose TCP twin is taken.
const SAME_PORT_ATTEMPTS: usize = 16;

/// The bound sockets and the address they share.
#[derive(Debug)]
pub(crate) struct Listeners {
    pub(crate) udp: UdpSocket,
    pub(crate) tcp: Option<TcpListener>,
    /// The actual address (with the chosen port when port 0 was asked for).
    pub(crate) addr: SocketAddr,
}

impl Listeners {
    /// "udp" or "udp, tcp", for messages.
    pub(crate) fn protocols(&self) -> &'static str {
        if self.tcp.is_some() { "udp, tcp" } else { "udp" }
    }
}

/// Binds UDP on `addr` and, with `tcp`, TCP on the same port. Port 0 picks a port free
/// for both.
pub(crate) fn bind(addr: SocketAddr, tcp: bool) -> Result<Listeners, HostError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let udp = UdpSocket::bind(addr).map_err(|source| HostError::Bind {
            addr,
            protocol: "udp",
            source,
        })?;
        let bound =
            udp.local_addr().map_err(|source| HostError::Bind { addr, protocol: "udp", source })?;
        if !tcp {
            return Ok(Listeners { udp, tcp: None, addr: bound });
        }
        match TcpListener::bind(bound) {
            Ok(listener) => return Ok(Listeners { udp, tcp: Some(listener), addr: bound }),
            Err(source)
                if addr.port() == 0
                    && source.kind() == std::io::ErrorKind::AddrInUse
                    && attempt < SAME_PORT_ATTEMPTS => {}
            Err(source) => return Err(HostError::Bind { addr: bound, protocol: "tcp", source }),
        }
    }
}
