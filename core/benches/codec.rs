//! Parse and emit of every message kind: `cargo bench -p minichat-core --bench codec`.
//!
//! Each message is a typical one (short names, a 64-byte text where there is text).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs,
    reason = "a benchmark: a failure here is a broken benchmark"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use minichat_core::wire::ErrorCode;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, EchoMode, Message, Name, NameList, Token};

fn messages<'a>(text: &'a str, names: NameList<'a>) -> Vec<Message<'a>> {
    let token = Token(0x0123_4567_89ab_cdef);
    let star = Name::new("star").unwrap();
    vec![
        Message::Join {
            cookie: Cookie([7; 16]),
            nonce: 9,
            window: 33,
            resume: Token::NONE,
            delivered: 0,
            name: star,
            max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
        },
        Message::Cookie { cookie: Cookie([7; 16]), nonce: 9 },
        Message::Refused { nonce: 9, code: ErrorCode::NameTaken, detail: "the name star is taken" },
        Message::Moved { token, nonce: 5, seq: 7, digest: 9 },
        Message::Welcome {
            token,
            nonce: 9,
            keepalive_ms: 15_000,
            max_text: 989,
            rate_per_sec: 50,
            name: star,
        },
        Message::Leave { token, seq: 4 },
        Message::UnknownSession { token },
        Message::Challenge { token, nonce: 5 },
        Message::ChallengeResponse { token, nonce: 5 },
        Message::Say { token, seq: 1, text },
        Message::Tell { token, seq: 2, to: Name::new("star2").unwrap(), text },
        Message::Deliver { token, seq: 3, direct: false, history: false, from: star, text },
        Message::Missed { token, seq: 9 },
        Message::Ack { token, seq: 3, sack: 5 },
        Message::Who { token, req: 1, start: 0 },
        Message::Users { token, req: 1, total: 3, start: 0, names },
        Message::Echo { token, req: 2, mode: EchoMode::Upper, text },
        Message::EchoReply { token, req: 2, mode: EchoMode::Upper, text },
        Message::Ping { token, req: 3 },
        Message::Pong { token, req: 3 },
        Message::Error {
            token,
            code: ErrorCode::NoSuchUser,
            seq: 2,
            detail: "no user named bob is connected",
        },
    ]
}

fn codec(c: &mut Criterion) {
    let text = "x".repeat(64);
    let mut names_buf = [0u8; 64];
    let names =
        NameList::encode(["star", "star2", "star3"].map(|n| Name::new(n).unwrap()), &mut names_buf);
    for message in messages(&text, names) {
        let kind = message.kind();
        let mut buf = [0u8; MAX_FRAME];
        let len = message.encode(&mut buf).unwrap();
        let frame = buf[..len].to_vec();
        let mut group = c.benchmark_group(kind.name());
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("parse", |b| b.iter(|| Message::decode(black_box(&frame)).unwrap()));
        group.bench_function("emit", |b| {
            b.iter(|| black_box(&message).encode(black_box(&mut buf)).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
