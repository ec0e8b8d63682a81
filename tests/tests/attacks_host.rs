//! The attacks of issue 8 that need the real program: a console nobody reads, bursts the
//! console must show in full, one host taking every slot, and commands that must act at
//! once. The `minichat` binary over real UDP on 127.0.0.1.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use minichat_core::client::OwnedClientEvent;
use minichat_core::wire::ErrorCode;
use minichat_tests::process::Minichat;
use minichat_tests::udp_client::UdpClient;

const WAIT: Duration = Duration::from_secs(20);

fn joined(name: &str, server: SocketAddr) -> UdpClient {
    let mut client = UdpClient::new(name, server);
    assert!(client.run_until(WAIT, |c| c.client.is_joined()), "{name} joins");
    client
}

/// Says `count` messages of `text` plus their number, keeping the client's queue full,
/// and waits until all are acknowledged.
fn flood(client: &mut UdpClient, count: usize, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sent = 0;
    while sent < count || client.client.pending() > 0 {
        assert!(Instant::now() < deadline, "{sent} of {count} sent in time");
        while sent < count && client.client.pending() < 16 {
            let now = client.now();
            client.client.say(now, &format!("{text}{sent}")).unwrap();
            sent += 1;
        }
        client.run_until(Duration::from_millis(20), |c| c.client.pending() == 0);
    }
}

/// Starts a server whose stdout nobody reads, fills that pipe with `messages` lines of
/// 900 bytes and a flood of long plain-text datagrams, and checks that everyone else is
/// still served: a newcomer joins, chats and gets answers.
fn stalled_server(messages: usize) -> (Minichat, SocketAddr) {
    let (server, addr) = Minichat::serve_with_stdout_unread(&[
        "serve",
        "--plaintext",
        "--bind",
        "127.0.0.1:0",
        "--rate",
        "0",
        "--history",
        "0",
    ]);
    let mut alice = joined("alice", addr);
    flood(&mut alice, messages, &"x".repeat(900));
    let legacy = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..200 {
        legacy.send_to(&[b'y'; 1400], addr).unwrap();
    }
    let mut bob = joined("bob", addr);
    let now = bob.now();
    let id = bob.client.say(now, "still there?").unwrap();
    assert!(bob.run_until(WAIT, |c| c.events.contains(&OwnedClientEvent::Delivered { id })));
    assert!(alice.run_until(WAIT, |c| c.events.iter().any(
        |e| matches!(e, OwnedClientEvent::Message { text, .. } if text.as_str() == "still there?")
    )));
    (server, addr)
}

/// A signal stops a server within a second (plus a debug build's slack), whatever stdout
/// does, and the server stops by itself: exit status 0, where the signal's default
/// action would have killed it (its notice may be stuck behind the console, like
/// everything else it prints).
fn stops_on(server: &mut Minichat, signal: fn(&Minichat)) {
    let asked = Instant::now();
    signal(server);
    let status = server.wait_exit(Duration::from_secs(3));
    assert!(asked.elapsed() < Duration::from_secs(3));
    assert!(status.success(), "a signalled server exits by itself, with 0: {status:?}");
}

// 300 lines of 900 bytes are more than a pipe holds: the console's writer is stuck.
#[test]
fn a_console_nobody_reads_cannot_freeze_the_server_and_sigterm_still_stops_it() {
    stops_on(&mut stalled_server(300).0, Minichat::terminate);
}

#[test]
fn a_console_nobody_reads_cannot_freeze_the_server_and_ctrl_c_still_stops_it() {
    stops_on(&mut stalled_server(300).0, Minichat::interrupt);
}

/// Past the console queue's 4,096 lines, lines are counted, and once output moves again
/// `… N lines not shown` says how many: every message is either shown or counted.
#[test]
fn a_console_past_its_queue_says_how_many_lines_were_not_shown() {
    // More than the pipe, the batch the console's writer is stuck in (at most a queue's
    // worth) and the queue hold.
    const MESSAGES: usize = 10_000;
    let (mut server, addr) = stalled_server(MESSAGES);
    server.resume_stdout();
    let note = server.stderr_line_containing(" not shown", WAIT);
    let not_shown: usize = note
        .strip_prefix("… ")
        .and_then(|rest| rest.strip_suffix(" lines not shown"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not \"… N lines not shown\": {note:?}"));
    // Output moves again: a line said now is shown, after everything kept before it.
    let mut carol = joined("carol", addr);
    let now = carol.now();
    let id = carol.client.say(now, "after the stall").unwrap();
    assert!(carol.run_until(WAIT, |c| c.events.contains(&OwnedClientEvent::Delivered { id })));
    server.stdout_line_containing("carol: after the stall", WAIT);
    let shown = server.stdout_seen().iter().filter(|line| line.starts_with("alice: xxx")).count();
    assert!(not_shown > 0 && shown < MESSAGES, "{shown} shown, {not_shown} not shown");
    // What was shown of alice's plus what was counted covers all she said.
    assert!(
        shown + not_shown >= MESSAGES,
        "{shown} of alice's {MESSAGES} lines shown and {not_shown} counted: some vanished"
    );
    // The queue held its 4,096 lines: no fewer were kept.
    assert!(shown >= 4000, "only {shown} lines were kept");
    // With output moving, the server's own last word gets out too.
    stops_on(&mut server, Minichat::interrupt);
    let stderr = server.stderr_after_exit(WAIT);
    assert!(stderr.iter().any(|line| line.contains("minichat serve: stopped")), "{stderr:?}");
}

#[test]
fn a_burst_of_800_messages_shows_all_800_on_the_console() {
    let (mut server, addr) = Minichat::serve(&[
        "serve",
        "--plaintext",
        "--bind",
        "127.0.0.1:0",
        "--rate",
        "0",
        "--history",
        "0",
    ]);
    let mut alice = joined("alice", addr);
    flood(&mut alice, 800, "burst ");
    for i in 0..800 {
        server.stdout_line_containing(&format!("alice: burst {i}"), WAIT);
    }
}

#[test]
fn one_host_cannot_take_every_slot() {
    let (_server, addr) =
        Minichat::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0", "--per-ip", "2"]);
    let _a = joined("a1", addr);
    let _b = joined("a2", addr);
    let mut third = UdpClient::new("a3", addr);
    assert!(third.run_until(WAIT, |c| c.client.is_closed()));
    assert!(
        third.events.iter().any(|e| matches!(
            e,
            OwnedClientEvent::Refused { code: ErrorCode::TooManyFromAddress, .. }
        )),
        "{:?}",
        third.events
    );
}

/// Joins `count` clients from 127.0.0.1 (each on its own port); the last one's outcome:
/// joined, or refused with its code.
fn join_many(addr: SocketAddr, count: usize) -> (Vec<UdpClient>, Result<(), ErrorCode>) {
    let mut clients: Vec<UdpClient> = (1..count).map(|i| joined(&format!("u{i}"), addr)).collect();
    let mut last = UdpClient::new(&format!("u{count}"), addr);
    assert!(last.run_until(WAIT, |c| c.client.is_joined() || c.client.is_closed()));
    let outcome = last
        .events
        .iter()
        .find_map(|e| match e {
            OwnedClientEvent::Refused { code, .. } => Some(Err(*code)),
            OwnedClientEvent::Joined { .. } => Some(Ok(())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("neither joined nor refused: {:?}", last.events));
    clients.push(last);
    (clients, outcome)
}

/// Without `--per-ip`, one address holds 16 sessions and no more; `--per-ip 0` lifts the
/// limit.
#[test]
fn per_ip_is_16_by_default_and_0_is_no_limit() {
    let (_server, addr) = Minichat::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0"]);
    let (_sixteen, outcome) = join_many(addr, 16);
    assert_eq!(outcome, Ok(()), "the 16th joins");
    let mut seventeenth = UdpClient::new("u17", addr);
    assert!(seventeenth.run_until(WAIT, |c| c.client.is_closed()));
    assert!(
        seventeenth.events.iter().any(|e| matches!(
            e,
            OwnedClientEvent::Refused { code: ErrorCode::TooManyFromAddress, .. }
        )),
        "{:?}",
        seventeenth.events
    );
    let (_server, addr) =
        Minichat::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0", "--per-ip", "0"]);
    let (_many, outcome) = join_many(addr, 40);
    assert_eq!(outcome, Ok(()), "with --per-ip 0 the 40th joins");
}

/// A full server refuses a newcomer with `server-full`, and `send` says so and exits 1.
#[test]
fn a_full_server_refuses_with_server_full() {
    let (_server, addr) = Minichat::serve(&[
        "serve",
        "--plaintext",
        "--bind",
        "127.0.0.1:0",
        "--capacity",
        "2",
        "--per-ip",
        "0",
    ]);
    let (_two, outcome) = join_many(addr, 2);
    assert_eq!(outcome, Ok(()));
    let (_three, outcome) = join_many_more(addr);
    assert_eq!(outcome, Err(ErrorCode::ServerFull));
    let mut send = Minichat::spawn(&[
        "send",
        "--plaintext",
        "--name",
        "late",
        "--server",
        &addr.to_string(),
        "hello?",
    ]);
    assert_eq!(send.wait_exit(WAIT).code(), Some(1));
    let said = send.stderr_after_exit(WAIT).join("\n");
    assert!(said.contains("the server is full"), "{said}");
}

/// One more client on a full server: its outcome.
fn join_many_more(addr: SocketAddr) -> (UdpClient, Result<(), ErrorCode>) {
    let mut extra = UdpClient::new("extra", addr);
    assert!(extra.run_until(WAIT, |c| c.client.is_joined() || c.client.is_closed()));
    let outcome = if extra.client.is_joined() {
        Ok(())
    } else {
        extra
            .events
            .iter()
            .find_map(|e| match e {
                OwnedClientEvent::Refused { code, .. } => Some(Err(*code)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("closed without a refusal: {:?}", extra.events))
    };
    (extra, outcome)
}

#[test]
fn a_kick_takes_effect_at_once() {
    let (mut server, addr) =
        Minichat::serve_with_stdin(&["serve", "--plaintext", "--bind", "127.0.0.1:0"]);
    let mut bob = joined("bob", addr);
    server.stdout_line_containing("bob joined from", WAIT);
    // The server's loop sleeps up to a second when idle; the console line wakes it. The
    // pause is not synchronisation: it lets the loop fall into that idle wait, the case
    // under test, and if it were too short the test would only be easier, never flaky.
    std::thread::sleep(Duration::from_millis(50));
    server.write_line("/kick bob");
    let asked = Instant::now();
    assert!(bob.run_until(WAIT, |c| c.events.contains(&OwnedClientEvent::Kicked)));
    let took = asked.elapsed();
    assert!(took < Duration::from_millis(400), "the kick took {took:?}");
}

#[test]
fn a_line_piped_into_chat_goes_on_the_wire_at_once() {
    let (mut server, addr) = Minichat::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0"]);
    let addr = addr.to_string();
    let mut chat = Minichat::spawn_with_stdin(&[
        "chat", "--name", "piper", "--server", &addr, "--linger", "0",
    ]);
    server.stdout_line_containing("piper joined from", WAIT);
    for i in 0..3 {
        // Lets chat fall idle (the case under test); not synchronisation, as above.
        std::thread::sleep(Duration::from_millis(100));
        chat.write_line(&format!("line {i}"));
        let written = Instant::now();
        server.stdout_line_containing(&format!("piper: line {i}"), WAIT);
        let took = written.elapsed();
        assert!(took < Duration::from_millis(300), "line {i} took {took:?} to reach the server");
    }
    chat.close_stdin();
    assert!(chat.wait_exit(WAIT).success(), "{:?}", chat.stderr_so_far());
}

#[test]
fn a_quiet_server_still_answers_the_last_sender() {
    let (mut server, addr) =
        Minichat::serve_with_stdin(&["serve", "--plaintext", "--bind", "127.0.0.1:0", "--quiet"]);
    let legacy = UdpSocket::bind("127.0.0.1:0").unwrap();
    legacy.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = [0u8; 256];
    // Nothing is shown, so there is no line to wait for: a line read before the datagram
    // arrived answers nobody and says so, and then the test tries again. Each try ends in
    // the reply or that notice, never in a guess at how long to wait.
    let mut answered_nobody = 0;
    for _ in 0..50 {
        legacy.send_to(b"anyone there?\n", addr).unwrap();
        server.write_line("yes, the operator");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok((len, from)) = legacy.recv_from(&mut buf) {
                assert_eq!((&buf[..len], from), (&b"yes, the operator"[..], addr));
                return;
            }
            let notices = server.stderr_so_far();
            let nobody = notices.iter().filter(|l| l.contains("nobody has written yet")).count();
            if nobody > answered_nobody {
                answered_nobody = nobody;
                break;
            }
            assert!(Instant::now() < deadline, "neither an answer nor a notice: {notices:?}");
        }
    }
    panic!("a plain line on a --quiet server never answered the last sender");
}
