//! Floods against the `minichat` binary over real UDP on 127.0.0.1 (the attacks of issue
//! 24, items 1, 2 and 9): a flood of hellos from one source with one valid cookie leaves
//! the server answering everyone else, and it is back at once when the flood stops; a
//! burst of joins is answered without resends. Every flood has a fixed rate and duration.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Cookie, Message, Name, Token};
use minichat_tests::process::Minichat;

const WAIT: Duration = Duration::from_secs(20);

fn encode(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

/// Sends `request` and waits up to `within` for an answer `matches` takes.
fn ask(
    socket: &UdpSocket,
    server: SocketAddr,
    request: &[u8],
    within: Duration,
    mut matches: impl FnMut(&Message<'_>) -> bool,
) -> bool {
    socket.send_to(request, server).unwrap();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; MAX_FRAME];
    while Instant::now() < deadline {
        socket.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        if let Ok(n) = socket.recv(&mut buf)
            && Message::decode(&buf[..n]).is_ok_and(|m| matches(&m))
        {
            return true;
        }
    }
    false
}

/// A hello whose handshake is garbage: with a valid cookie, each one used to cost the
/// server a Diffie-Hellman computation.
fn garbage_hello(cookie: Cookie, nonce: u64) -> Vec<u8> {
    encode(&Message::Hello { cookie, nonce, handshake: &[0x5a; 80] })
}

#[test]
fn a_flood_of_hellos_from_one_source_leaves_the_server_answering_everyone() {
    let (mut server, addr) = Minichat::serve_with_stdin(&["serve", "--bind", "127.0.0.1:0"]);
    // The flooder's valid cookie: the answer to its first hello.
    let flooder = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut cookie = None;
    let got = ask(&flooder, addr, &garbage_hello(Cookie::EMPTY, 1), WAIT, |m| match m {
        Message::Cookie { cookie: c, .. } => {
            cookie = Some(*c);
            true
        }
        _ => false,
    });
    assert!(got, "the flooder gets its cookie");
    let cookie = cookie.unwrap();
    // 20,000 hellos a second for 2 seconds, in steps of a millisecond, from a thread.
    let flood = std::thread::spawn(move || {
        let hello = garbage_hello(cookie, 2);
        let start = Instant::now();
        let mut sent = 0u64;
        while start.elapsed() < Duration::from_secs(2) {
            let due = start.elapsed().as_millis() as u64 * 20;
            while sent < due {
                let _ = flooder.send_to(&hello, addr);
                sent += 1;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        sent
    });
    // Meanwhile another user asks for the server's key, ten times a second: each
    // question is answered within a second.
    let prober = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (mut asked, mut answered) = (0, 0);
    while !flood.is_finished() {
        asked += 1;
        let request = encode(&Message::KeyRequest { nonce: asked });
        let within = Duration::from_secs(1);
        if ask(
            &prober,
            addr,
            &request,
            within,
            |m| matches!(m, Message::ServerKey { nonce, .. } if *nonce == asked),
        ) {
            answered += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = flood.join().unwrap();
    assert!(sent >= 20_000, "the flood sent {sent} hellos");
    assert!(answered * 10 >= asked * 9, "{answered} of {asked} key requests answered in 1 s");
    // At once afterwards, a real client joins (encrypted, from the flooder's own host:
    // its budget refills at 4 handshakes a second) and its message is shown.
    let mut send = Minichat::spawn(&[
        "send",
        "--server",
        &addr.to_string(),
        "--name",
        "after",
        "--timeout",
        "10",
        "still here",
    ]);
    assert!(send.wait_exit(WAIT).success(), "{:?}", send.stderr_after_exit(WAIT));
    server.stdout_line_containing("after: still here", WAIT);
    // The flood's hellos that reached the server were dropped unread, not computed (all
    // it took in, but the other user's questions and the real client's frames).
    server.write_line("/stats");
    let count = |line: &str, what: &str| {
        line.split(": ")
            .flat_map(|part| part.split(", "))
            .find_map(|part| part.strip_prefix(what))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let datagrams = server.stdout_line_containing("[stats] datagrams", WAIT);
    let taken_in = count(&datagrams, "in ");
    let encryption = server.stdout_line_containing("[stats] encryption", WAIT);
    let limited = count(&encryption, "hellos over their source's handshake budget ");
    assert!(taken_in >= sent / 2, "the server took in {taken_in} of {sent}: {datagrams}");
    assert!(
        limited * 10 >= taken_in.saturating_sub(100) * 9,
        "{limited} of {taken_in} hellos dropped unread: {encryption}"
    );
}

#[test]
fn a_burst_of_a_thousand_joins_is_answered_without_resends() {
    const JOINS: usize = 1_000;
    let (_server, addr) = Minichat::serve(&[
        "serve",
        "--plaintext",
        "--quiet",
        "--bind",
        "127.0.0.1:0",
        "--per-ip",
        "0",
        "--capacity",
        "2000",
    ]);
    let clients: Vec<UdpSocket> = (0..JOINS)
        .map(|_| {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.set_nonblocking(true).unwrap();
            socket
        })
        .collect();
    let join = |cookie: Cookie, i: usize| {
        let name = format!("u{i}");
        encode(&Message::Join {
            cookie,
            nonce: 9,
            window: 8,
            resume: Token::NONE,
            delivered: 0,
            name: Name::new(&name).unwrap(),
            max_frame: minichat_core::wire::limits::MAX_FRAME_U16,
        })
    };
    // Each client's cookie, a hundred at a time (the server's socket is not the test).
    let mut cookies: Vec<Option<Cookie>> = vec![None; JOINS];
    let mut buf = [0u8; MAX_FRAME];
    for wave in (0..JOINS).collect::<Vec<_>>().chunks(100) {
        let deadline = Instant::now() + WAIT;
        for &i in wave {
            clients[i].send_to(&join(Cookie::EMPTY, i), addr).unwrap();
        }
        while wave.iter().any(|&i| cookies[i].is_none()) {
            assert!(Instant::now() < deadline, "cookies come back");
            for &i in wave {
                if let Ok(n) = clients[i].recv(&mut buf)
                    && let Ok(Message::Cookie { cookie, .. }) = Message::decode(&buf[..n])
                {
                    cookies[i] = Some(cookie);
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // Then the joins with their cookies in bursts of 200, each join sent once and never
    // again: more than the server's event queue (64) holds, few enough that no socket
    // buffer overflows whatever the machine allows.
    let mut welcomed = vec![false; JOINS];
    for wave in (0..JOINS).collect::<Vec<_>>().chunks(200) {
        for &i in wave {
            clients[i].send_to(&join(cookies[i].unwrap(), i), addr).unwrap();
        }
        let deadline = Instant::now() + WAIT;
        while wave.iter().any(|&i| !welcomed[i]) && Instant::now() < deadline {
            for &i in wave {
                if let Ok(n) = clients[i].recv(&mut buf)
                    && let Ok(Message::Welcome { .. }) = Message::decode(&buf[..n])
                {
                    welcomed[i] = true;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let count = welcomed.iter().filter(|w| **w).count();
    assert_eq!(count, JOINS, "joins answered without a resend");
}

#[test]
fn the_bench_floods_three_servers_and_reports_each() {
    let mut bench = Minichat::spawn(&[
        "bench",
        "--no-baselines",
        "--flood",
        "2000",
        "--duration",
        "0.5",
        "--json",
    ]);
    let status = bench.wait_exit(Duration::from_secs(60));
    let out = bench.stdout_after_exit(WAIT).join("\n");
    assert!(status.success(), "{out}\n{:?}", bench.stderr_after_exit(WAIT));
    for key in ["flood-plain", "flood-hello", "flood-hello-unbudgeted"] {
        assert!(out.contains(&format!("\"key\": \"{key}\"")), "{key} in {out}");
    }
    assert!(out.contains("\"offered_per_second\": "), "{out}");
    assert!(out.contains("datagrams taken in under a flood of hellos"), "{out}");
}
