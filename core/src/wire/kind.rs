//! The kind byte: which message a frame carries.

use crate::error::WireError;

/// Which message a frame carries, the third byte of every frame.
///
/// Kinds are grouped by their high nibble: 0x0_ session, 0x1_ chat, 0x2_ queries,
/// 0x3_ errors (`docs/PROTOCOL.md`, "Messages").
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum Kind {
    /// Client asks to join, with an empty cookie (first step) or an echoed one (second).
    Join = 0x01,
    /// Server answers a first join with a stateless cookie.
    Cookie = 0x02,
    /// Server admits a client: its session token and the server's limits.
    Welcome = 0x03,
    /// Client leaves; sequenced like a chat message.
    Leave = 0x04,
    /// Server does not know the session a frame names: join again.
    UnknownSession = 0x05,
    /// Server asks a new address to prove it holds a session (address change).
    Challenge = 0x06,
    /// Client answers a challenge from its new address.
    ChallengeResponse = 0x07,
    /// Server refuses a join (name taken, server full, ...), bound to the join's nonce.
    Refused = 0x08,
    /// Server confirms a session moved to a new address; sent to the new and the old one.
    Moved = 0x09,
    /// Client asks to join an encrypted session: a cookie (empty, then the server's), and
    /// the first Noise handshake message, whose payload is the join.
    Hello = 0x0A,
    /// Server answers a hello with a valid cookie: the second Noise handshake message,
    /// whose payload is the welcome or the refusal.
    Answer = 0x0B,
    /// A frame of an encrypted session, sealed: the session's token and the message's
    /// nonce in the clear, everything else encrypted and authenticated.
    Sealed = 0x0C,
    /// Client asks for the server's static public key (to trust it on first use, or to
    /// check it against a pinned fingerprint).
    KeyRequest = 0x0D,
    /// Server's answer to a key request: its static public key. In the clear, and so
    /// unauthenticated: what a client does with it is trust on first use, or compare.
    ServerKey = 0x0E,
    /// Client asks to join an encrypted session with a key of its own: as a hello, but the
    /// handshake (`IK`) proves the client's static key too, and the join inside carries
    /// the hello's cookie.
    HelloKey = 0x0F,
    /// Client says something to the room.
    Say = 0x10,
    /// Client says something to one user.
    Tell = 0x11,
    /// Server hands a message to a recipient, with the sender it knows from its table.
    Deliver = 0x12,
    /// Server tells a recipient that messages were lost to it (its backlog overflowed).
    Missed = 0x13,
    /// Cumulative acknowledgement, in both directions.
    Ack = 0x14,
    /// Client asks who is connected.
    Who = 0x20,
    /// Server lists connected users.
    Users = 0x21,
    /// Client asks the server to echo a text, optionally case-mapped.
    Echo = 0x22,
    /// Server's answer to an echo.
    EchoReply = 0x23,
    /// Client keep-alive and liveness probe.
    Ping = 0x24,
    /// Server's answer to a ping.
    Pong = 0x25,
    /// Client asks for the key a user proved when joining (feature `client-keys`).
    KeyOf = 0x26,
    /// Server's answer to a key-of: whether the user is connected here, and its key if its
    /// session proved one.
    UserKey = 0x27,
    /// Server reports an error, with a code and a short detail.
    Error = 0x30,
}

impl Kind {
    /// Every kind, in numeric order.
    pub const ALL: [Kind; 29] = [
        Kind::Join,
        Kind::Cookie,
        Kind::Welcome,
        Kind::Leave,
        Kind::UnknownSession,
        Kind::Challenge,
        Kind::ChallengeResponse,
        Kind::Refused,
        Kind::Moved,
        Kind::Hello,
        Kind::Answer,
        Kind::Sealed,
        Kind::KeyRequest,
        Kind::ServerKey,
        Kind::HelloKey,
        Kind::Say,
        Kind::Tell,
        Kind::Deliver,
        Kind::Missed,
        Kind::Ack,
        Kind::Who,
        Kind::Users,
        Kind::Echo,
        Kind::EchoReply,
        Kind::Ping,
        Kind::Pong,
        Kind::KeyOf,
        Kind::UserKey,
        Kind::Error,
    ];

    /// The kind's byte on the wire.
    pub const fn to_byte(self) -> u8 {
        self as u8
    }

    /// The kind for a byte, or [`WireError::UnknownKind`].
    pub fn from_byte(byte: u8) -> Result<Self, WireError> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.to_byte() == byte)
            .ok_or(WireError::UnknownKind(byte))
    }

    /// Whether frames of this kind carry a session token right after the header.
    /// Only the join (and the hello) and their answers short of a welcome run before a
    /// session exists.
    pub const fn has_token(self) -> bool {
        !matches!(
            self,
            Kind::Join
                | Kind::Cookie
                | Kind::Refused
                | Kind::Hello
                | Kind::HelloKey
                | Kind::Answer
                | Kind::KeyRequest
                | Kind::ServerKey
        )
    }

    /// The kinds of encrypted sessions (`hello`, `hello-key`, `answer`, `sealed`,
    /// `key-request`, `server-key`), as a mask: a build without the `secure` feature neither reads nor
    /// writes them.
    pub const SECURE: u64 = Kind::Hello.bit()
        | Kind::HelloKey.bit()
        | Kind::Answer.bit()
        | Kind::Sealed.bit()
        | Kind::KeyRequest.bit()
        | Kind::ServerKey.bit();

    /// This kind's bit in a kind mask ([`Message::parse_only`](crate::wire::Message::parse_only)):
    /// bit n stands for the kind whose byte is n.
    pub const fn bit(self) -> u64 {
        1 << (self as u8)
    }

    /// Every kind, as a mask.
    pub const ALL_MASK: u64 = Kind::mask(&Kind::ALL);

    /// The kinds clients send ([`Kind::sent_by_client`]), as a mask.
    pub const FROM_CLIENT: u64 = Kind::mask_by_direction(true);

    /// The kinds of client keys (`hello-key`, `key-of`, `user-key`), as a mask: a build
    /// without the `client-keys` feature neither reads nor writes them.
    pub const CLIENT_KEYS: u64 = Kind::HelloKey.bit() | Kind::KeyOf.bit() | Kind::UserKey.bit();

    /// The kinds this build does not handle: those of encrypted sessions without the
    /// `secure` feature, those of client keys without `client-keys`, none with both.
    pub const NOT_BUILT: u64 = if cfg!(feature = "client-keys") {
        0
    } else if cfg!(feature = "secure") {
        Kind::CLIENT_KEYS
    } else {
        Kind::SECURE | Kind::CLIENT_KEYS
    };

    /// The kinds servers send ([`Kind::sent_by_server`]), as a mask. `ack` is in both.
    pub const FROM_SERVER: u64 = Kind::mask_by_direction(false);

    /// The kinds of address moves (`challenge`, `challenge-response`, `moved`): neither side
    /// reads or writes them where addresses cannot move
    /// ([`PeerAddress::ROAMS`](crate::address::PeerAddress::ROAMS)).
    pub const MOVES: u64 =
        Kind::Challenge.bit() | Kind::ChallengeResponse.bit() | Kind::Moved.bit();

    const fn mask_by_direction(client: bool) -> u64 {
        let mut mask = 0;
        let mut rest: &[Kind] = &Kind::ALL;
        while let [kind, tail @ ..] = rest {
            if (client && kind.sent_by_client()) || (!client && kind.sent_by_server()) {
                mask |= kind.bit();
            }
            rest = tail;
        }
        mask
    }

    /// The mask of `kinds`, for [`Message::parse_only`](crate::wire::Message::parse_only).
    pub const fn mask(kinds: &[Kind]) -> u64 {
        let mut mask = 0;
        let mut rest = kinds;
        while let [kind, tail @ ..] = rest {
            mask |= kind.bit();
            rest = tail;
        }
        mask
    }

    /// Whether servers send this kind (`docs/PROTOCOL.md`, "Messages": the direction).
    pub const fn sent_by_server(self) -> bool {
        matches!(self, Kind::Ack | Kind::Sealed) || !self.sent_by_client()
    }

    /// Whether clients send this kind (`docs/PROTOCOL.md`, "Messages": the direction).
    pub const fn sent_by_client(self) -> bool {
        matches!(
            self,
            Kind::Join
                | Kind::Hello
                | Kind::HelloKey
                | Kind::Sealed
                | Kind::KeyRequest
                | Kind::ChallengeResponse
                | Kind::Say
                | Kind::Tell
                | Kind::Leave
                | Kind::Ack
                | Kind::Who
                | Kind::Echo
                | Kind::Ping
                | Kind::KeyOf
        )
    }

    /// The kind's name as the spec writes it.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Join => "join",
            Kind::Cookie => "cookie",
            Kind::Welcome => "welcome",
            Kind::Leave => "leave",
            Kind::UnknownSession => "unknown-session",
            Kind::Challenge => "challenge",
            Kind::ChallengeResponse => "challenge-response",
            Kind::Refused => "refused",
            Kind::Moved => "moved",
            Kind::Hello => "hello",
            Kind::Answer => "answer",
            Kind::Sealed => "sealed",
            Kind::KeyRequest => "key-request",
            Kind::ServerKey => "server-key",
            Kind::HelloKey => "hello-key",
            Kind::Say => "say",
            Kind::Tell => "tell",
            Kind::Deliver => "deliver",
            Kind::Missed => "missed",
            Kind::Ack => "ack",
            Kind::Who => "who",
            Kind::Users => "users",
            Kind::Echo => "echo",
            Kind::EchoReply => "echo-reply",
            Kind::Ping => "ping",
            Kind::Pong => "pong",
            Kind::KeyOf => "key-of",
            Kind::UserKey => "user-key",
            Kind::Error => "error",
        }
    }
}

impl core::fmt::Display for Kind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}
