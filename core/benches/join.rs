//! A client joining a server, both state machines and no I/O, in the clear and in an
//! encrypted session (Noise NK, and NKpsk0 with a fleet key), side by side:
//! `cargo bench -p minichat-core --features secure --bench join`. One iteration is the
//! whole join — join, cookie, join again (with the handshake), welcome (with its answer) —
//! on a fresh server and client, so the difference between the rows is the handshake.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    reason = "a benchmark: a failure here is a broken benchmark"
)]

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use minichat_core::client::{Client, ClientConfig, ServerKey};
use minichat_core::secure::{Initiator, Keypair, PROLOGUE, Pattern, Responder, Session};
use minichat_core::server::{ServerConfig, ServerIdentity, StaticServer};
use minichat_core::time::Instant;
use minichat_core::wire::limits::MAX_FRAME;

type BenchServer = StaticServer<4, 8>;

/// How the pair talks.
#[derive(Clone, Copy)]
enum Joining {
    Plain,
    Nk,
    NkPsk0,
}

const SERVER: &str = "127.0.0.1:8080";
const CLIENT: &str = "127.0.0.1:40000";

/// A fresh server and a client about to join it, set up for `session`.
fn pair(session: Joining, keypair: &Keypair) -> (Box<BenchServer>, Client) {
    let mut config = ServerConfig::new([1; 16], 1);
    config.set_rate_per_sec(0).unwrap();
    let mut server = Box::new(BenchServer::new(config).unwrap());
    let config = ClientConfig::new("alice", SERVER.parse().unwrap(), 0x5eed).unwrap();
    let mut client = Client::new(config, Instant::ZERO);
    let psk = match session {
        Joining::Plain => return (server, client),
        Joining::Nk => None,
        Joining::NkPsk0 => Some([7; 32]),
    };
    let identity = ServerIdentity { keypair: keypair.clone(), psk, plaintext: false };
    server.set_identity(identity, [2; 32]);
    client.set_server_key(ServerKey { public: *keypair.public(), psk }, [3; 32]);
    (server, client)
}

/// Carries datagrams both ways until the client has joined.
fn join(server: &mut BenchServer, client: &mut Client, buf: &mut [u8]) {
    let server_addr: SocketAddr = SERVER.parse().unwrap();
    let client_addr: SocketAddr = CLIENT.parse().unwrap();
    for _ in 0..8 {
        let Some(out) = client.poll_transmit(Instant::ZERO, buf) else { break };
        let datagram = buf[..out.len].to_vec();
        let Some(reply) = server.handle(Instant::ZERO, client_addr, &datagram, buf) else {
            break;
        };
        let reply = buf[..reply.len].to_vec();
        client.handle(Instant::ZERO, server_addr, &reply);
        if client.is_joined() {
            return;
        }
    }
    panic!("the client did not join");
}

fn joins(c: &mut Criterion) {
    let keypair = Keypair::from_private([9; 32]);
    let mut group = c.benchmark_group("join");
    for (label, session) in
        [("plain", Joining::Plain), ("nk", Joining::Nk), ("nkpsk0", Joining::NkPsk0)]
    {
        group.bench_function(label, |b| {
            let mut buf = [0u8; MAX_FRAME];
            b.iter_batched(
                || pair(session, &keypair),
                |(mut server, mut client)| {
                    join(&mut server, &mut client, &mut buf);
                    black_box((server, client))
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// A session's two ends, from a whole handshake.
fn sessions(keypair: &Keypair) -> (Session, Session) {
    let mut first = [0u8; 128];
    let pattern = Pattern::Nk;
    let (initiator, len) =
        Initiator::start(&pattern, PROLOGUE, keypair.public(), [4; 32], b"", &mut first).unwrap();
    let (responder, _) = Responder::read(&pattern, PROLOGUE, keypair, &mut first[..len]).unwrap();
    let mut answer = [0u8; 128];
    let (server, len) = responder.answer(&pattern, [5; 32], b"", &mut answer).unwrap();
    let (client, _) = initiator.finish(&pattern, &mut answer[..len]).unwrap();
    (client, server)
}

/// Sealing and opening a frame's body: what every encrypted datagram costs, beside
/// copying the same bytes (the plain frame's cost).
fn sealing(c: &mut Criterion) {
    let keypair = Keypair::from_private([9; 32]);
    let mut group = c.benchmark_group("seal+open");
    for size in [16usize, 64, 256, 1024] {
        let (mut client, mut server) = sessions(&keypair);
        let text = vec![0x61u8; size];
        let mut buf = vec![0u8; size + 16];
        let ad = [0u8; 19];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("{size} bytes"), |b| {
            b.iter(|| {
                buf[..size].copy_from_slice(&text);
                let (nonce, len) = client.seal(&ad, &mut buf, size).unwrap();
                black_box(server.open(nonce, &ad, &mut buf[..len]).unwrap())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, joins, sealing);
criterion_main!(benches);
