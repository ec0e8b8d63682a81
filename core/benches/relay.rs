//! The server relaying one `say` to a room of 1, 8 and 64 recipients, acknowledgements
//! included: `cargo bench -p minichat-core --bench relay`. One iteration is the say
//! arriving, its ack, every delivery, and every recipient's ack arriving.
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
use std::net::SocketAddr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use minichat_core::server::{ServerConfig, StaticServer};
use minichat_core::time::Instant;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, Message, Name, Token};

type BenchServer = StaticServer<128, 256>;

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, (i / 250) as u8, (i % 250) as u8 + 1], 4000))
}

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

/// A server with `users` joined; their tokens.
fn room(users: usize) -> (Box<BenchServer>, Vec<Token>) {
    let mut config = ServerConfig::new([1; 16], 1);
    config.set_rate_per_sec(0).unwrap();
    config.set_per_ip(0).unwrap();
    config.set_history(0).unwrap();
    let mut server = Box::new(BenchServer::new(config).unwrap());
    let mut buf = [0u8; MAX_FRAME];
    let mut tokens = Vec::new();
    for i in 0..users {
        let name = format!("u{i}");
        let name = Name::new(&name).unwrap();
        let first = encode(&Message::Join {
            cookie: Cookie::EMPTY,
            nonce: i as u64,
            window: 65,
            resume: Token::NONE,
            delivered: 0,
            name,
            max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
        });
        let t = server.handle(Instant::ZERO, addr(i), &first, &mut buf).unwrap();
        let Ok(Message::Cookie { cookie, .. }) = Message::decode(&buf[..t.len]) else {
            panic!("cookie")
        };
        let second = encode(&Message::Join {
            cookie,
            nonce: i as u64,
            window: 65,
            resume: Token::NONE,
            delivered: 0,
            name,
            max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
        });
        let t = server.handle(Instant::ZERO, addr(i), &second, &mut buf).unwrap();
        let Ok(Message::Welcome { token, .. }) = Message::decode(&buf[..t.len]) else {
            panic!("welcome")
        };
        tokens.push(token);
        // Take the Joined event, as an application would: a full queue holds joins back.
        while server.poll_event().is_some() {}
    }
    while server.poll_transmit(Instant::ZERO, &mut buf).is_some() {}
    while server.poll_event().is_some() {}
    (server, tokens)
}

fn relay(c: &mut Criterion) {
    let mut group = c.benchmark_group("relay");
    for recipients in [1usize, 8, 64] {
        let (mut server, tokens) = room(recipients + 1);
        let text = "x".repeat(64);
        let mut buf = [0u8; MAX_FRAME];
        let mut seq = 0u32;
        let mut delivered = 0u32;
        let mut ack = Vec::new();
        group.throughput(Throughput::Elements(recipients as u64));
        group.bench_function(format!("say to {recipients}"), |b| {
            b.iter(|| {
                seq += 1;
                let now = Instant::from_millis(u64::from(seq));
                let say = encode(&Message::Say { token: tokens[0], seq, text: &text });
                black_box(server.handle(now, addr(0), &say, &mut buf));
                let mut sent = 0;
                while let Some(t) = server.poll_transmit(now, &mut buf) {
                    black_box(&buf[..t.len]);
                    sent += 1;
                }
                // Every delivery, and the sender's ack.
                assert_eq!(sent, recipients + 1);
                delivered += 1;
                for (i, token) in tokens.iter().enumerate().skip(1) {
                    ack.clear();
                    ack.extend(encode(&Message::Ack { token: *token, seq: delivered, sack: 0 }));
                    black_box(server.handle(now, addr(i), &ack, &mut buf));
                }
                while server.poll_event().is_some() {}
            })
        });
    }
    group.finish();
}

criterion_group!(benches, relay);
criterion_main!(benches);
