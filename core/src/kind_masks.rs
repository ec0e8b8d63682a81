//! The kinds each side reads and writes, as kind masks ([`Kind::mask`]): the one
//! definition the server, the client and the transport use. Each mask compiles a parser
//! or a writer of its own, so a build carries the code of its own kinds only: a server
//! no reader of what servers send, a client no writer of it, a build without `secure`
//! nothing of encrypted sessions, a client without `who` or `echo` nothing of those
//! requests, and a side whose addresses cannot move ([`PeerAddress::ROAMS`]) nothing of
//! moves.
//!
//! A mask is a const generic argument, and a mask computed from `A::ROAMS` is not one a
//! stable compiler takes: each mask comes as a pair, for addresses that move and those
//! that cannot, and the caller picks one by `A::ROAMS`.
//!
//! [`PeerAddress::ROAMS`]: crate::address::PeerAddress::ROAMS

use crate::wire::Kind;

/// `mask` where addresses cannot move: no `challenge`, `challenge-response` or `moved`.
const fn fixed(mask: u64) -> u64 {
    mask & !Kind::MOVES
}

/// The kinds a server reads: every frame goes through this one parser, in the clear, in
/// a hello or sealed; each place then takes only its own kinds.
pub(crate) const SERVER_READS: u64 = Kind::FROM_CLIENT & !Kind::NOT_BUILT;
/// [`SERVER_READS`] where addresses cannot move.
pub(crate) const SERVER_READS_FIXED: u64 = fixed(SERVER_READS);

/// The kinds a server writes.
pub(crate) const SERVER_WRITES: u64 = Kind::FROM_SERVER & !Kind::NOT_BUILT;
/// [`SERVER_WRITES`] where addresses cannot move.
pub(crate) const SERVER_WRITES_FIXED: u64 = fixed(SERVER_WRITES);

/// What a client may seal: the kinds of a session it sends (no join, nothing of the
/// handshake).
#[cfg_attr(not(feature = "secure"), allow(dead_code))]
pub(crate) const CLIENT_SEALS: u64 = Kind::FROM_CLIENT & !Kind::SECURE & !Kind::Join.bit();

/// The requests this build of the client cannot make (Cargo features `who`, `echo` and
/// `key-of`), with their answers.
const NOT_ASKED: u64 = if cfg!(feature = "who") { 0 } else { Kind::Who.bit() | Kind::Users.bit() }
    | if cfg!(feature = "echo") { 0 } else { Kind::Echo.bit() | Kind::EchoReply.bit() }
    | if cfg!(feature = "key-of") { 0 } else { Kind::KeyOf.bit() | Kind::UserKey.bit() };

/// The kinds a client reads: what servers send, less the answers to requests this build
/// cannot make.
pub(crate) const CLIENT_READS: u64 = Kind::FROM_SERVER & !NOT_ASKED & !Kind::NOT_BUILT;
/// [`CLIENT_READS`] where addresses cannot move. `challenge` and `moved` are not read at
/// all, so they do not count as hearing the server: a session someone else moved away
/// goes silent, and the client re-joins.
pub(crate) const CLIENT_READS_FIXED: u64 = fixed(CLIENT_READS);

/// The kinds a client writes.
pub(crate) const CLIENT_WRITES: u64 = Kind::FROM_CLIENT & !NOT_ASKED & !Kind::NOT_BUILT;
/// [`CLIENT_WRITES`] where addresses cannot move.
pub(crate) const CLIENT_WRITES_FIXED: u64 = fixed(CLIENT_WRITES);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_reads_what_the_other_writes() {
        // Ack goes both ways; everything else a side writes, the other reads (less the
        // requests this build cannot make).
        assert_eq!(SERVER_READS & CLIENT_WRITES, CLIENT_WRITES);
        assert_eq!(CLIENT_READS & SERVER_WRITES, CLIENT_READS);
        assert_eq!(SERVER_READS_FIXED & Kind::MOVES, 0);
        assert_eq!(CLIENT_WRITES_FIXED & Kind::MOVES, 0);
        assert_eq!(CLIENT_SEALS & Kind::SECURE, 0);
    }
}
