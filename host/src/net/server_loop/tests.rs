//! The server loop's own tests: a turn that stops early says so, bursts of joins, and
//! the hot path's allocations.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use minichat_core::client::{Client, ClientConfig, ClientEvent};
use minichat_core::server::Alone;
use minichat_core::time::Instant;
use minichat_core::transport::Driver;
use minichat_core::wire::{Cookie, EchoMode, Message, Token};

use super::*;
use crate::net::server_memory::DEFAULT_BUFFER;

const WARM: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

struct TestClient {
    client: Client<16, 64, 16>,
    socket: UdpSocket,
    driver: Driver,
    start: StdInstant,
    delivered: usize,
    received: usize,
}

impl TestClient {
    fn new(name: &str, server: SocketAddr) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let config = ClientConfig::new(name, server, 0x5eed).unwrap();
        TestClient {
            client: Client::new(config, Instant::ZERO),
            socket,
            driver: Driver::new(),
            start: StdInstant::now(),
            delivered: 0,
            received: 0,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.start.elapsed().as_millis()).unwrap())
    }

    fn turn(&mut self) {
        let now = self.now();
        let _ = self.driver.turn(now, &mut self.socket, &mut self.client, |_| {});
        while let Some(event) = self.client.poll_event() {
            match event {
                ClientEvent::Delivered { .. } => self.delivered += 1,
                ClientEvent::Message { .. } => self.received += 1,
                _ => {}
            }
        }
    }
}

/// Relays `count` messages among three clients (with echoes between), turning until
/// all arrived or ten seconds passed.
fn exchange(clients: &mut [TestClient], count: usize) {
    // Generous: a debug build on a loaded machine; the loop ends as soon as it is done.
    let deadline = StdInstant::now() + StdDuration::from_secs(60);
    let target: Vec<usize> = clients.iter().map(|c| c.received + 2 * count).collect();
    let mut sent = 0;
    while StdInstant::now() < deadline {
        for c in clients.iter_mut() {
            if sent < count * 3 && c.client.pending() < 8 {
                let now = c.now();
                c.client.say(now, "steady state, no allocation please").unwrap();
                if sent % 10 == 0 {
                    let _ = c.client.echo(now, EchoMode::Upper, "echo too");
                }
                sent += 1;
            }
            c.turn();
        }
        if sent == count * 3 && clients.iter().zip(&target).all(|(c, t)| c.received >= *t) {
            return;
        }
        std::thread::sleep(StdDuration::from_micros(200));
    }
    panic!(
        "the exchange did not finish: {:?}",
        clients.iter().map(|c| c.received).collect::<Vec<_>>()
    );
}

/// A server on a free port, in the clear, for `capacity` users from one address.
fn plain_loop(capacity: usize) -> ServerLoop {
    let mut config = ServerConfig::new([9; 16], 1);
    config.set_capacity(capacity).unwrap();
    config.set_per_ip(0).unwrap();
    let listen = Listen { bind: "127.0.0.1:0".parse().unwrap(), tcp: false, serial: Vec::new() };
    ServerLoop::bind(&listen, config, DEFAULT_BUFFER).unwrap()
}

/// Runs `net` as `minichat serve` does (a turn, the events taken, a wait only when
/// the turn says nothing is left) until `done`; returns how many waits it took.
fn serve_until(
    net: &mut ServerLoop,
    foreign: &mut dyn FnMut(SocketAddr, &[u8]),
    mut done: impl FnMut(&mut ServerLoop) -> bool,
) -> usize {
    let deadline = StdInstant::now() + StdDuration::from_secs(30);
    let mut waits = 0;
    while !done(net) {
        assert!(StdInstant::now() < deadline, "the server did not finish in 30 s");
        let more = net.turn(foreign, &Alone).unwrap();
        while net.server.poll_event().is_some() {}
        if !more && !done(net) {
            waits += 1;
            net.wait(StdDuration::from_millis(100)).unwrap();
        }
    }
    waits
}

#[test]
fn a_turn_that_stops_with_datagrams_queued_says_so() {
    let mut net = plain_loop(4);
    // One datagram per batch: a turn takes at most ROUNDS of them.
    net.set_batch(1);
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sent = 3 * ROUNDS + 5;
    for i in 0..sent {
        sender.send_to(format!("line {i}").as_bytes(), net.addr()).unwrap();
    }
    let seen = std::cell::Cell::new(0);
    let waits = serve_until(&mut net, &mut |_, _| seen.set(seen.get() + 1), |_| seen.get() >= sent);
    let seen = seen.get();
    // Loopback delivers a datagram before `send_to` returns: everything was queued
    // before the first turn, and the socket, edge-triggered, raises no new event.
    assert_eq!(waits, 0, "the loop slept with {} datagrams still queued", sent - seen);
}

#[test]
fn a_burst_of_joins_is_answered_without_resends() {
    const JOINS: usize = 3 * EVENT_QUEUE;
    let mut net = plain_loop(JOINS);
    let clients: Vec<UdpSocket> = (0..JOINS)
        .map(|_| {
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client.set_nonblocking(true).unwrap();
            client
        })
        .collect();
    let join = |cookie: Cookie, i: usize| {
        let name = format!("u{i}");
        let message = Message::Join {
            cookie,
            nonce: 7,
            window: 8,
            resume: Token::NONE,
            delivered: 0,
            name: minichat_core::wire::Name::new(&name).unwrap(),
            max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
        };
        let mut b = vec![0u8; message.buffer_len()];
        message.encode(&mut b).unwrap();
        b
    };
    // Each client's cookie, then every join at once, each sent exactly once.
    for (i, client) in clients.iter().enumerate() {
        client.send_to(&join(Cookie::EMPTY, i), net.addr()).unwrap();
    }
    let mut cookies = vec![None; JOINS];
    let mut welcomed = vec![false; JOINS];
    let mut buf = [0u8; MAX_FRAME];
    let mut read = |cookies: &mut Vec<Option<Cookie>>, welcomed: &mut Vec<bool>| {
        for (i, client) in clients.iter().enumerate() {
            while let Ok(n) = client.recv(&mut buf) {
                match Message::decode(&buf[..n]) {
                    Ok(Message::Cookie { cookie, .. }) => cookies[i] = Some(cookie),
                    Ok(Message::Welcome { .. }) => welcomed[i] = true,
                    other => panic!("unexpected answer {other:?}"),
                }
            }
        }
    };
    serve_until(&mut net, &mut |_, _| {}, |_| {
        read(&mut cookies, &mut welcomed);
        cookies.iter().all(Option::is_some)
    });
    for (i, (client, cookie)) in clients.iter().zip(&cookies).enumerate() {
        client.send_to(&join(cookie.unwrap(), i), net.addr()).unwrap();
    }
    serve_until(&mut net, &mut |_, _| {}, |_| {
        read(&mut cookies, &mut welcomed);
        welcomed.iter().all(|w| *w)
    });
    assert_eq!(net.server.user_count(), JOINS);
}

#[test]
fn the_servers_hot_path_allocates_nothing_in_steady_state() {
    let phase = Arc::new(AtomicU8::new(WARM));
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let server_phase = Arc::clone(&phase);
    let server = std::thread::Builder::new()
        .spawn(move || {
            let mut config = ServerConfig::new([9; 16], 1);
            config.set_rate_per_sec(0).unwrap();
            let listen =
                Listen { bind: "127.0.0.1:0".parse().unwrap(), tcp: false, serial: Vec::new() };
            let mut net = ServerLoop::bind(&listen, config, DEFAULT_BUFFER).unwrap();
            addr_tx.send(net.addr()).unwrap();
            let run = |net: &mut ServerLoop, until: u8| {
                while server_phase.load(Ordering::SeqCst) < until {
                    net.turn(&mut |_, _| {}, &Alone).unwrap();
                    while net.server.poll_event().is_some() {}
                    net.wait(StdDuration::from_millis(5)).unwrap();
                }
            };
            run(&mut net, MEASURE);
            let info = allocation_counter::measure(|| run(&mut net, STOP));
            (info.count_total, net.server.stats().messages)
        })
        .unwrap();
    let addr = addr_rx.recv().unwrap();
    let mut clients: Vec<TestClient> =
        ["a", "b", "c"].iter().map(|n| TestClient::new(n, addr)).collect();
    // Generous: a debug build on a loaded machine; the loop ends as soon as it is done.
    let deadline = StdInstant::now() + StdDuration::from_secs(60);
    while !clients.iter().all(|c| c.client.is_joined()) {
        assert!(StdInstant::now() < deadline, "clients join");
        clients.iter_mut().for_each(TestClient::turn);
        std::thread::sleep(StdDuration::from_millis(1));
    }
    // Warm up: every buffer and table the server will use gets used once.
    exchange(&mut clients, 100);
    phase.store(MEASURE, Ordering::SeqCst);
    exchange(&mut clients, 300);
    phase.store(STOP, Ordering::SeqCst);
    let (allocations, messages) = server.join().unwrap();
    assert!(messages >= 1200, "{messages} messages went through");
    assert_eq!(allocations, 0, "the server thread allocated while relaying {messages} messages");
}
