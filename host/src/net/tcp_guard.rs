//! What keeps one host from holding the server's TCP port: the protections UDP has, for
//! connections.
//!
//! - **Per address**: one IP address may hold at most [`TcpLimits::per_ip`] connections
//!   (twice the sessions it may hold: one each, and room for a client that reconnects
//!   before its old connection is noticed gone). More are closed at once.
//! - **A first frame**: a connection must carry a whole frame (a join, a hello) within
//!   [`TcpLimits::first_frame`] of being opened, or it is closed: bytes that never make
//!   a frame (a byte a second) keep nothing open.
//! - **Silence**: a connection that carried no frame for [`TcpLimits::idle`] (the
//!   server's idle timeout, after which its session, if any, has expired) is closed.
//! - **Room**: at most [`MAX_CONNECTIONS`]; when they are all taken, a new connection
//!   takes the place of the oldest one that has not carried a frame yet, if any.
//!
//! Each connection's buffers (about 6 KB) are allocated when it is accepted and freed
//! when it closes, so the memory TCP takes is bounded by [`MAX_CONNECTIONS`] and reused.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mio::Token;

/// TCP connections at most, from everyone.
pub(crate) const MAX_CONNECTIONS: usize = 1024;

/// The longest a new connection may take to carry its first frame.
const FIRST_FRAME: Duration = Duration::from_secs(5);

/// The limits of one server's TCP connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpLimits {
    /// Connections one IP address may hold (0: no limit but [`MAX_CONNECTIONS`]).
    pub(crate) per_ip: usize,
    /// How long a new connection may take to carry a whole frame.
    pub(crate) first_frame: Duration,
    /// How long a connection may go without a frame.
    pub(crate) idle: Duration,
}

impl TcpLimits {
    /// The limits for a server whose IP addresses may hold `per_ip` sessions (0: no
    /// limit), whose clients ping every `keepalive` and which drops a session silent
    /// for `idle`.
    pub(crate) fn new(per_ip: u16, keepalive: Duration, idle: Duration) -> TcpLimits {
        TcpLimits { per_ip: usize::from(per_ip) * 2, first_frame: FIRST_FRAME.min(keepalive), idle }
    }
}

/// What the guard did, for `/stats` and the operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TcpStats {
    /// Connections open now.
    pub(crate) open: usize,
    /// Connections closed at once: their address held its share already.
    pub(crate) refused_per_ip: u64,
    /// Connections closed at once: every place was held by one that carried frames.
    pub(crate) refused_full: u64,
    /// Connections closed to make room for a new one (they had carried no frame).
    pub(crate) evicted: u64,
    /// Connections closed for carrying no frame in time.
    pub(crate) no_first_frame: u64,
    /// Connections closed after a silence.
    pub(crate) silent: u64,
}

/// One connection's times.
#[derive(Debug, Clone, Copy)]
struct Times {
    ip: IpAddr,
    opened: Instant,
    last_frame: Option<Instant>,
}

impl Times {
    fn deadline(&self, limits: &TcpLimits) -> Instant {
        match self.last_frame {
            None => self.opened + limits.first_frame,
            Some(at) => at + limits.idle,
        }
    }
}

/// The TCP connections' addresses and times, and the limits they are held to.
#[derive(Debug)]
pub(crate) struct TcpGuard {
    limits: TcpLimits,
    connections: HashMap<Token, Times>,
    per_ip: HashMap<IpAddr, usize>,
    /// The earliest deadline, if any connection has one: nothing is looked at before.
    next_deadline: Option<Instant>,
    stats: TcpStats,
}

impl TcpGuard {
    /// A guard for `limits`; its tables are sized once, for every connection it admits.
    pub(crate) fn new(limits: TcpLimits) -> TcpGuard {
        TcpGuard {
            limits,
            connections: HashMap::with_capacity(MAX_CONNECTIONS),
            per_ip: HashMap::with_capacity(MAX_CONNECTIONS),
            next_deadline: None,
            stats: TcpStats::default(),
        }
    }

    /// Whether a connection from `remote` may be kept: `Err` says why not. When every
    /// place is taken, `Ok(Some(token))` names the connection to close for it.
    pub(crate) fn admit(&mut self, remote: SocketAddr) -> Result<Option<Token>, Refused> {
        let held = self.per_ip.get(&remote.ip()).copied().unwrap_or(0);
        if self.limits.per_ip > 0 && held >= self.limits.per_ip {
            self.stats.refused_per_ip += 1;
            return Err(Refused::PerIp(self.limits.per_ip));
        }
        if self.connections.len() < MAX_CONNECTIONS {
            return Ok(None);
        }
        let oldest_unproven = self
            .connections
            .iter()
            .filter(|(_, times)| times.last_frame.is_none())
            .min_by_key(|(_, times)| times.opened)
            .map(|(token, _)| *token);
        match oldest_unproven {
            Some(token) => {
                self.stats.evicted += 1;
                Ok(Some(token))
            }
            None => {
                self.stats.refused_full += 1;
                Err(Refused::Full)
            }
        }
    }

    /// A connection from `remote` was accepted as `token` at `now`.
    pub(crate) fn opened(&mut self, token: Token, remote: SocketAddr, now: Instant) {
        let times = Times { ip: remote.ip(), opened: now, last_frame: None };
        if self.connections.insert(token, times).is_none() {
            *self.per_ip.entry(remote.ip()).or_default() += 1;
        }
        self.earlier_deadline(times.deadline(&self.limits));
        self.stats.open = self.connections.len();
    }

    /// `token` carried a whole frame at `now`. Its deadline moves later, so the earliest
    /// one known stays a lower bound: [`TcpGuard::expire`] finds the true one.
    pub(crate) fn framed(&mut self, token: Token, now: Instant) {
        if let Some(times) = self.connections.get_mut(&token) {
            times.last_frame = Some(now);
        }
    }

    /// `token` closed (for any reason).
    pub(crate) fn closed(&mut self, token: Token) {
        let Some(times) = self.connections.remove(&token) else { return };
        if let Some(held) = self.per_ip.get_mut(&times.ip) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                self.per_ip.remove(&times.ip);
            }
        }
        self.stats.open = self.connections.len();
    }

    /// Adds to `expired` the connections whose deadline passed at `now`, for the caller
    /// to close (and to report [`TcpGuard::closed`]). Looks at them only once the
    /// earliest deadline came.
    pub(crate) fn expire(&mut self, now: Instant, expired: &mut Vec<Token>) {
        if self.next_deadline.is_none_or(|at| at > now) {
            return;
        }
        let limits = self.limits;
        let mut next: Option<Instant> = None;
        for (token, times) in &self.connections {
            let deadline = times.deadline(&limits);
            if deadline <= now {
                match times.last_frame {
                    None => self.stats.no_first_frame += 1,
                    Some(_) => self.stats.silent += 1,
                }
                expired.push(*token);
            } else {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
            }
        }
        self.next_deadline = next;
    }

    /// When the next connection may pass its deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.next_deadline
    }

    /// What the guard did so far.
    pub(crate) fn stats(&self) -> TcpStats {
        self.stats
    }

    fn earlier_deadline(&mut self, at: Instant) {
        self.next_deadline = Some(self.next_deadline.map_or(at, |next| next.min(at)));
    }
}

/// Why a new connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its address holds this many connections already.
    PerIp(usize),
    /// Every place is taken by connections that carried frames.
    Full,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(host: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, host], port))
    }

    fn limits() -> TcpLimits {
        TcpLimits::new(2, Duration::from_secs(15), Duration::from_secs(45))
    }

    #[test]
    fn one_address_holds_twice_its_sessions_and_no_more() {
        let mut guard = TcpGuard::new(limits());
        let t0 = Instant::now();
        for i in 0..4 {
            assert_eq!(guard.admit(addr(1, i)), Ok(None));
            guard.opened(Token(i.into()), addr(1, i), t0);
        }
        assert_eq!(guard.admit(addr(1, 9)), Err(Refused::PerIp(4)));
        assert_eq!(guard.admit(addr(2, 9)), Ok(None));
        guard.closed(Token(0));
        assert_eq!(guard.admit(addr(1, 9)), Ok(None));
        assert_eq!(guard.stats().refused_per_ip, 1);
    }

    #[test]
    fn a_connection_without_a_frame_or_silent_too_long_expires() {
        let mut guard = TcpGuard::new(limits());
        let t0 = Instant::now();
        guard.opened(Token(1), addr(1, 1), t0);
        guard.opened(Token(2), addr(1, 2), t0);
        guard.framed(Token(2), t0 + Duration::from_secs(1));
        let mut expired = Vec::new();
        let mut expire = |guard: &mut TcpGuard, after: Duration| {
            expired.clear();
            guard.expire(t0 + after, &mut expired);
            expired.clone()
        };
        assert!(expire(&mut guard, Duration::from_millis(4_999)).is_empty());
        assert_eq!(expire(&mut guard, FIRST_FRAME), [Token(1)]);
        guard.closed(Token(1));
        assert_eq!(guard.next_deadline(), Some(t0 + Duration::from_secs(46)));
        assert!(expire(&mut guard, Duration::from_secs(45)).is_empty());
        assert_eq!(expire(&mut guard, Duration::from_secs(46)), [Token(2)]);
        assert_eq!((guard.stats().no_first_frame, guard.stats().silent), (1, 1));
    }

    #[test]
    fn when_full_the_oldest_connection_without_a_frame_gives_its_place() {
        let mut guard = TcpGuard::new(TcpLimits { per_ip: 0, ..limits() });
        let t0 = Instant::now();
        for i in 0..MAX_CONNECTIONS {
            let at = t0 + Duration::from_millis(i as u64);
            guard.opened(Token(i), addr(1, u16::try_from(i).unwrap()), at);
            guard.framed(Token(i), at);
        }
        assert_eq!(guard.admit(addr(3, 1)), Err(Refused::Full));
        guard.closed(Token(7));
        guard.opened(Token(7), addr(3, 1), t0 + Duration::from_secs(1));
        guard.closed(Token(8));
        guard.opened(Token(8), addr(3, 2), t0 + Duration::from_secs(2));
        assert_eq!(guard.admit(addr(3, 3)), Ok(Some(Token(7))));
    }
}
