//! proptest strategies for every wire message.
//!
//! A [`Message`] borrows its names and texts, so strategies produce an owned
//! [`MessageSeed`] and tests borrow a message from it with [`MessageSeed::message`].

use minichat_core::wire::ErrorCode;
use minichat_core::wire::limits::{HANDSHAKE_MIN, MAX_DETAIL, MAX_FRAME, MAX_NAME, MAX_TEXT};
use minichat_core::wire::{Cookie, EchoMode, Kind, Message, Name, NameList, Token};
use proptest::prelude::*;

/// Everything any message needs, owned; [`MessageSeed::message`] picks the fields its
/// kind uses.
#[derive(Debug, Clone)]
pub struct MessageSeed {
    kind: Kind,
    token: u64,
    numbers: [u32; 3],
    shorts: [u16; 2],
    flag: bool,
    mode: EchoMode,
    code: ErrorCode,
    cookie: [u8; 16],
    name: String,
    text: String,
    detail: String,
    names_encoded: Vec<u8>,
    name_count: u8,
    /// Opaque bytes for a handshake message or a sealed frame: the text's, at least the
    /// least their kinds hold.
    blob: Vec<u8>,
}

impl MessageSeed {
    /// The message this seed describes.
    pub fn message(&self) -> Message<'_> {
        const MIN_FRAME_U16: u16 = minichat_core::wire::limits::MIN_FRAME as u16;
        use minichat_core::wire::limits::MAX_FRAME_U16;
        let token = Token(self.token);
        let [a, b, c] = self.numbers;
        let [s1, s2] = self.shorts;
        let name = Name::new(&self.name).unwrap();
        let text = self.text.as_str();
        match self.kind {
            Kind::Join => Message::Join {
                cookie: Cookie(self.cookie),
                nonce: self.token.rotate_left(17),
                window: s1,
                resume: Token::NONE,
                delivered: 0,
                name,
                // Any allowed value, 1024 (left off the wire) included.
                max_frame: MIN_FRAME_U16 + s2 % (MAX_FRAME_U16 - MIN_FRAME_U16 + 1),
            },
            Kind::Cookie => {
                Message::Cookie { cookie: Cookie(self.cookie), nonce: self.token.rotate_left(17) }
            }
            Kind::Refused => Message::Refused {
                nonce: self.token.rotate_left(17),
                code: self.code,
                detail: &self.detail,
            },
            Kind::Moved => Message::Moved { token, nonce: a, seq: c, digest: b },
            Kind::Welcome => Message::Welcome {
                token,
                nonce: self.token.rotate_left(17),
                keepalive_ms: b,
                max_text: s1,
                rate_per_sec: s2,
                name,
            },
            Kind::Leave => Message::Leave { token, seq: a },
            Kind::UnknownSession => Message::UnknownSession { token },
            Kind::Challenge => Message::Challenge { token, nonce: a },
            Kind::ChallengeResponse => Message::ChallengeResponse { token, nonce: a },
            Kind::Say => Message::Say { token, seq: a, text },
            Kind::Tell => Message::Tell { token, seq: a, to: name, text },
            Kind::Deliver => Message::Deliver {
                token,
                seq: a,
                direct: self.flag,
                history: b % 2 == 1,
                from: name,
                text,
            },
            Kind::Missed => Message::Missed { token, seq: c },
            Kind::Ack => Message::Ack { token, seq: a, sack: b },
            Kind::Who => Message::Who { token, req: a, start: s1 },
            Kind::Users => {
                let names = NameList::from_encoded(self.name_count, &self.names_encoded).unwrap();
                // The spec requires start + count <= total.
                let start = s1.min(u16::MAX - u16::from(names.len()));
                let total = (start + u16::from(names.len())).saturating_add(s2 % 64);
                Message::Users { token, req: a, total, start, names }
            }
            Kind::Echo => Message::Echo { token, req: a, mode: self.mode, text },
            Kind::EchoReply => Message::EchoReply { token, req: a, mode: self.mode, text },
            Kind::Ping => Message::Ping { token, req: a },
            Kind::Pong => Message::Pong { token, req: a },
            Kind::Error => Message::Error { token, code: self.code, seq: a, detail: &self.detail },
            Kind::Hello => Message::Hello {
                cookie: Cookie(self.cookie),
                nonce: self.token.rotate_left(7),
                handshake: &self.blob,
            },
            Kind::KeyOf => Message::KeyOf { token, req: a, name },
            Kind::UserKey => Message::UserKey {
                token,
                req: a,
                name,
                here: self.cookie[0] & 1 == 1,
                key: (self.cookie[1] & 1 == 1).then_some([self.cookie[2]; 32]),
            },
            Kind::HelloKey => Message::HelloKey {
                cookie: Cookie(self.cookie),
                nonce: self.token.rotate_left(7),
                handshake: &self.blob,
            },
            Kind::Answer => {
                Message::Answer { nonce: self.token.rotate_left(7), handshake: &self.blob }
            }
            Kind::KeyRequest => Message::KeyRequest { nonce: self.token.rotate_left(3) },
            Kind::ServerKey => Message::ServerKey {
                nonce: self.token.rotate_left(3),
                fleet: self.flag,
                key: [self.cookie, self.cookie].concat().try_into().unwrap(),
            },
            Kind::Sealed => Message::Sealed {
                token,
                counter: u64::from(a) << 20 | u64::from(b),
                sealed: &self.blob,
            },
            other => panic!("no seed for kind {other}"),
        }
    }

    /// The message's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_FRAME];
        let len = self.message().encode(&mut buf).unwrap();
        buf.truncate(len);
        buf
    }
}

/// Up to `max` bytes of arbitrary UTF-8, cut at a character boundary.
pub fn utf8(max: usize) -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => any::<char>(),
    ];
    // Mostly short, sometimes up to the limit.
    let len = prop_oneof![4 => 0..32usize, 1 => 0..=max];
    len.prop_flat_map(move |n| proptest::collection::vec(chars.clone(), n)).prop_map(move |cs| {
        let mut s = String::new();
        for c in cs {
            if s.len() + c.len_utf8() > max {
                break;
            }
            s.push(c);
        }
        s
    })
}

/// A valid user name.
pub fn name() -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        6 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        1 => proptest::char::range('0', '9'),
        1 => any::<char>(),
    ];
    proptest::collection::vec(chars, 1..=MAX_NAME)
        .prop_map(|cs| {
            let mut s = String::new();
            for c in cs {
                if s.len() + c.len_utf8() <= MAX_NAME {
                    s.push(c);
                }
            }
            s
        })
        .prop_filter("a valid name", |s| Name::new(s).is_ok())
}

/// Up to 8 valid names, encoded as a `users` frame carries them, some as users of another
/// server (the length byte's top bit, then the server's name).
fn name_list() -> impl Strategy<Value = (u8, Vec<u8>)> {
    proptest::collection::vec((name(), proptest::option::of(name())), 0..8).prop_map(|names| {
        let mut encoded = Vec::new();
        for (n, place) in &names {
            let flag = if place.is_some() { 0x80 } else { 0 };
            encoded.push(u8::try_from(n.len()).unwrap() | flag);
            encoded.extend_from_slice(n.as_bytes());
            if let Some(place) = place {
                encoded.push(u8::try_from(place.len()).unwrap());
                encoded.extend_from_slice(place.as_bytes());
            }
        }
        (u8::try_from(names.len()).unwrap(), encoded)
    })
}

/// Any valid message of any kind.
pub fn message_seed() -> impl Strategy<Value = MessageSeed> {
    let kind = proptest::sample::select(Kind::ALL.to_vec());
    let mode = proptest::sample::select(vec![EchoMode::Same, EchoMode::Upper, EchoMode::Lower]);
    let code = proptest::sample::select(ErrorCode::ALL.to_vec());
    // Sequence numbers near 0 and near the wrap-around are the interesting ones.
    let number = prop_oneof![0..16u32, any::<u32>(), (u32::MAX - 16)..=u32::MAX];
    let numbers = [number.clone(), number.clone(), number];
    (
        (kind, any::<u64>(), numbers, any::<[u16; 2]>(), any::<bool>(), mode, code),
        (any::<[u8; 16]>(), name(), utf8(MAX_TEXT), utf8(MAX_DETAIL), name_list()),
    )
        .prop_map(
            |(
                (kind, token, numbers, shorts, flag, mode, code),
                (cookie, name, text, detail, (name_count, names_encoded)),
            )| {
                let mut blob = text.clone().into_bytes();
                blob.resize(blob.len().max(HANDSHAKE_MIN), 0x5a);
                MessageSeed {
                    kind,
                    token,
                    numbers,
                    shorts,
                    flag,
                    mode,
                    code,
                    cookie,
                    name,
                    text,
                    detail,
                    names_encoded,
                    name_count,
                    blob,
                }
            },
        )
}

/// Bytes that are often almost a frame: a valid frame, then bytes flipped, cut off or
/// appended; or plain arbitrary bytes.
pub fn frame_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        message_seed(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        prop_oneof![Just(None), any::<usize>().prop_map(Some)],
        proptest::collection::vec(any::<u8>(), 0..3),
    )
        .prop_map(|(seed, flips, cut, extra)| {
            let mut bytes = seed.encode();
            for (at, value) in flips {
                let len = bytes.len();
                bytes[at % len] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut % (bytes.len() + 1));
            }
            bytes.extend(extra);
            bytes
        });
    prop_oneof![
        3 => mutated,
        1 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|mut b| {
            b.splice(0..0, [0xff, minichat_core::wire::limits::VERSION]);
            b
        }),
    ]
}
