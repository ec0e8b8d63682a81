//! The chat as a user runs it: the `minichat` binary over real UDP on 127.0.0.1, a server
//! and `chat`/`send` clients in script mode, plain socket clients for legacy text.

use std::net::UdpSocket;
use std::time::Duration;

use minichat_core::client::OwnedClientEvent;
use minichat_core::wire::{Message, Token};
use minichat_tests::process::Minichat;
use minichat_tests::udp_client::UdpClient;
use minichat_tests::udp_relay::UdpRelay;

const WAIT: Duration = Duration::from_secs(20);

fn server() -> (Minichat, String) {
    let (server, addr) =
        Minichat::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0", "--history", "0"]);
    (server, addr.to_string())
}

/// A scripted chat client that stays connected until its stdin is closed.
fn chatter(name: &str, addr: &str, server: &mut Minichat) -> Minichat {
    let client =
        Minichat::spawn_with_stdin(&["chat", "--name", name, "--server", addr, "--linger", "0"]);
    server.stdout_line_containing(&format!("{name} joined from"), WAIT);
    client
}

#[test]
fn three_users_chat_over_udp_and_direct_messages_reach_only_their_target() {
    let (mut server, addr) = server();
    let mut star2 = chatter("star2", &addr, &mut server);
    let mut star3 = chatter("star3", &addr, &mut server);
    let mut star = chatter("star", &addr, &mut server);
    star.write_line("hello everyone");
    star.write_line("/to star3 psst, just you");
    assert_eq!(star2.stdout_line_containing("hello", WAIT), "star: hello everyone");
    assert_eq!(star3.stdout_line_containing("hello", WAIT), "star: hello everyone");
    assert_eq!(star3.stdout_line_containing("psst", WAIT), "star (direct): psst, just you");
    // star3 answers the room only after it got the direct message; the server keeps one
    // order, so star2 sees this only after the direct message was (not) meant for it.
    star3.write_line("thanks star");
    assert_eq!(star2.stdout_line_containing("thanks", WAIT), "star3: thanks star");
    assert_eq!(star.stdout_line_containing("thanks", WAIT), "star3: thanks star");
    for client in [&mut star, &mut star2, &mut star3] {
        client.close_stdin();
        assert!(client.wait_exit(WAIT).success());
    }
    // Over everything each printed, the lines the waits above read past included.
    let star2_saw = star2.whole_stdout_after_exit(WAIT);
    assert!(star2_saw.iter().all(|line| !line.contains("psst")), "{star2_saw:?}");
    let star_saw = star.whole_stdout_after_exit(WAIT);
    assert_eq!(star_saw, ["star3: thanks star"], "a sender does not get its own messages back");
    server.stdout_line_containing("star -> star3: psst, just you", WAIT);
}

#[test]
fn a_second_user_with_the_same_name_in_another_case_is_refused() {
    let (mut server, addr) = server();
    let mut star2 = chatter("star2", &addr, &mut server);
    let mut twin = Minichat::spawn(&["send", "--name", "STAR2", "--server", &addr, "hello"]);
    assert_eq!(twin.wait_exit(WAIT).code(), Some(1));
    assert!(
        twin.stderr_after_exit(WAIT)
            .contains(&"minichat: not delivered: the name STAR2 belongs to another key; choose another with --name (or join with the key that owns it: --key FILE)".to_owned())
    );
    let mut chat_twin = Minichat::spawn_with_stdin(&["chat", "--name", "Star2", "--server", &addr]);
    chat_twin.write_line("hi");
    chat_twin.close_stdin();
    assert_eq!(chat_twin.wait_exit(WAIT).code(), Some(1));
    let stderr = chat_twin.stderr_after_exit(WAIT).join("\n");
    assert!(
        stderr.contains(
            "the server refused the join: the name Star2 belongs to another key; choose another with --name"
        ),
        "{stderr}"
    );
    star2.close_stdin();
    assert!(star2.wait_exit(WAIT).success());
}

#[test]
fn a_frame_with_another_users_token_from_another_address_is_dropped() {
    let (mut server, server_addr) = Minichat::serve_with_stdin(&[
        "serve",
        "--plaintext",
        "--bind",
        "127.0.0.1:0",
        "--history",
        "0",
    ]);
    let addr = server_addr.to_string();
    let mut watcher = chatter("watcher", &addr, &mut server);
    let mut alice = UdpClient::new("alice", server_addr);
    let mut mallory = UdpClient::new("mallory", server_addr);
    assert!(alice.run_until(WAIT, |c| c.client.is_joined()));
    assert!(mallory.run_until(WAIT, |c| c.client.is_joined()));
    let stolen: Token = alice.client.session_token().unwrap();
    // mallory, from its own address, sends a say carrying alice's token.
    let forged = Message::Say { token: stolen, seq: 1, text: "I am alice" };
    let mut buf = [0u8; 64];
    let len = forged.encode(&mut buf).unwrap();
    mallory.socket().send_to(&buf[..len], server_addr).unwrap();
    // Then alice speaks for herself; the watcher sees only that.
    let now = alice.now();
    alice.client.say(now, "the real alice").unwrap();
    assert!(alice.run_until(WAIT, |c| {
        c.events.iter().any(|e| matches!(e, OwnedClientEvent::Delivered { .. }))
    }));
    assert_eq!(watcher.stdout_line_containing("alice", WAIT), "alice: the real alice");
    // The server took the forgery in and dropped it...
    server.write_line("/stats");
    let counted = server.stdout_line_containing("[stats] datagrams:", WAIT);
    assert!(counted.contains("with another session's token 1,"), "{counted}");
    // ... and nothing came back to mallory for it: an ack or error would carry alice's
    // token, which mallory's client would count as a frame not for it. mallory's own
    // message, said after, is acknowledged after anything answering the forgery.
    let now = mallory.now();
    let own = mallory.client.say(now, "mallory's own").unwrap();
    assert!(
        mallory.run_until(WAIT, |c| c.events.contains(&OwnedClientEvent::Delivered { id: own }))
    );
    assert_eq!(mallory.client.stats().ignored, 0);
    assert_eq!(watcher.stdout_line_containing("mallory", WAIT), "mallory: mallory's own");
    watcher.close_stdin();
    assert!(watcher.wait_exit(WAIT).success());
    assert!(watcher.whole_stdout_after_exit(WAIT).iter().all(|l| !l.contains("I am alice")));
}

#[test]
fn send_says_delivered_or_not_in_its_exit_status() {
    let (mut server, addr) = server();
    let mut bob = chatter("bob", &addr, &mut server);
    // Both sends are ann's: with her key (the first owns the name).
    let key = minichat_tests::process::user_key("send-exit", "ann");
    let ann = ["send", "--name", "ann", "--key", &key, "--server", &addr];
    let mut ok = Minichat::spawn(&[&ann[..], &["--to", "bob", "hi bob"]].concat());
    assert_eq!(ok.wait_exit(WAIT).code(), Some(0));
    assert_eq!(bob.stdout_line_containing("hi bob", WAIT), "ann (direct): hi bob");
    let mut nobody = Minichat::spawn(&[&ann[..], &["--to", "nobody", "hello?"]].concat());
    assert_eq!(nobody.wait_exit(WAIT).code(), Some(1));
    let stderr = nobody.stderr_after_exit(WAIT);
    // First the key trusted on first use (a fresh home), then the answer.
    assert!(stderr[0].starts_with("minichat: first session with "), "{stderr:?}");
    assert_eq!(stderr[1..], ["minichat: not delivered: no user named nobody is connected"]);
    bob.close_stdin();
    assert!(bob.wait_exit(WAIT).success());
}

#[test]
fn a_client_started_before_its_server_joins_once_it_comes_up() {
    // An address the test holds, where nothing answers yet: the client's joins go
    // unanswered. The server comes up behind it (no port let go and bound again).
    let relay = UdpRelay::new();
    let addr = relay.addr().to_string();
    let mut early = Minichat::spawn_with_stdin(&[
        "chat", "--name", "early", "--server", &addr, "--linger", "0",
    ]);
    early.write_line("typed before the server was up");
    early.close_stdin();
    let notice = early.stderr_line_containing("no server answers", WAIT);
    assert!(notice.starts_with(&format!("minichat: no server answers at {addr}")), "{notice}");
    assert!(notice.contains("retrying in"), "{notice}");
    let (mut server, server_addr) =
        Minichat::serve(&["serve", "--bind", "127.0.0.1:0", "--history", "0"]);
    relay.retarget(Some(server_addr));
    server.stdout_line_containing("early: typed before the server was up", WAIT);
    assert!(early.wait_exit(WAIT).success());
}

#[test]
fn legacy_plain_text_clients_are_shown_and_answered_in_plain_text() {
    let (mut server, addr) = Minichat::serve_with_stdin(&["serve", "--bind", "127.0.0.1:0"]);
    let legacy = UdpSocket::bind("127.0.0.1:0").unwrap();
    legacy.set_read_timeout(Some(WAIT)).unwrap();
    legacy.send_to(b"hello from the old client\n", addr).unwrap();
    let shown = server.stdout_line_containing("hello from the old client", WAIT);
    assert_eq!(shown, format!("[{}] hello from the old client", legacy.local_addr().unwrap()));
    server.write_line("hello, old friend");
    let mut buf = [0u8; 256];
    let (len, from) = legacy.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..len], from), (&b"hello, old friend"[..], addr));
}

#[test]
fn remote_control_characters_are_escaped() {
    let (mut server, addr) = server();
    let mut reader = chatter("reader", &addr, &mut server);
    let mut sender = UdpClient::new("sender", addr.parse().unwrap());
    assert!(sender.run_until(WAIT, |c| c.client.is_joined()));
    let now = sender.now();
    sender.client.say(now, "bell\u{7} and \u{1b}[2J clear").unwrap();
    assert!(sender.run_until(WAIT, |c| {
        c.events.iter().any(|e| matches!(e, OwnedClientEvent::Delivered { .. }))
    }));
    assert_eq!(reader.stdout_line_containing("bell", WAIT), "sender: bell\\x07 and \\x1b[2J clear");
    reader.close_stdin();
    assert!(reader.wait_exit(WAIT).success());
}

#[test]
fn ctrl_c_stops_the_server_and_its_clients_are_told() {
    let (mut server, addr) = server();
    let mut star = chatter("star", &addr, &mut server);
    server.interrupt();
    assert!(server.wait_exit(WAIT).success());
    let stderr = server.stderr_after_exit(WAIT);
    assert!(
        stderr.iter().any(|l| l == "minichat serve: stopped; 1 connected user told"),
        "{stderr:?}"
    );
    star.stderr_line_containing("the server is shutting down", WAIT);
}

#[test]
fn the_demo_runs_without_a_network() {
    let mut demo = Minichat::spawn(&["demo", "--loss", "20", "--seed", "3"]);
    assert!(demo.wait_exit(WAIT).success());
    let out = demo.stdout_after_exit(WAIT);
    for expected in [
        "star2 hears star: hello everyone",
        "star3 hears star: hello everyone",
        "star2 hears star3 (direct): psst, star2: only you can read this",
        "star3 gets its echo back: SHOUT THIS",
        "star3: left",
    ] {
        assert!(out.iter().any(|l| l.ends_with(expected)), "missing {expected:?} in {out:#?}");
    }
    assert!(out.last().is_some_and(|l| l.starts_with("done: every message arrived exactly once")));
}

#[test]
fn the_help_lists_every_command() {
    // (That no command means `serve` is a unit test of the host: running it here would
    // take 127.0.0.1:8080, which tests may not.)
    let mut help = Minichat::spawn(&["--help"]);
    assert!(help.wait_exit(WAIT).success());
    let out = help.stdout_after_exit(WAIT).join("\n");
    for command in ["serve", "chat", "send", "demo", "echo"] {
        assert!(out.contains(&format!("  {command} ")), "{out}");
    }
    assert!(out.contains("the default when no command is given"), "{out}");
}

#[test]
fn after_a_server_crash_clients_rejoin_by_themselves_and_nothing_typed_is_lost() {
    // The restarted server keeps its key, as a real one does: the clients trusted it.
    let home = std::env::temp_dir().join(format!("minichat-crash-{}", std::process::id()));
    let key = home.join("server.key");
    let key = key.to_str().unwrap();
    // The clients know the server by a relay's address, held by the test throughout: the
    // restarted server comes up behind it (no port let go and bound again).
    let relay = UdpRelay::new();
    let (mut server, server_addr) =
        Minichat::serve(&["serve", "--bind", "127.0.0.1:0", "--keepalive", "1", "--key", key]);
    relay.retarget(Some(server_addr));
    let addr = relay.addr().to_string();
    let mut reader = chatter("reader", &addr, &mut server);
    let mut writer = chatter("writer", &addr, &mut server);
    writer.write_line("before the crash");
    assert_eq!(reader.stdout_line_containing("before", WAIT), "writer: before the crash");
    server.kill();
    relay.retarget(None);
    writer.write_line("typed while the server was down");
    let (mut server, server_addr) =
        Minichat::serve(&["serve", "--bind", "127.0.0.1:0", "--keepalive", "1", "--key", key]);
    relay.retarget(Some(server_addr));
    // Both notice within two keep-alive periods (plus start-up), re-join and resend.
    server.stdout_line_containing("writer: typed while the server was down", WAIT);
    assert_eq!(
        reader.stdout_line_containing("typed while", WAIT),
        "writer: typed while the server was down"
    );
    writer.stderr_line_containing("joined again", WAIT);
    for client in [&mut reader, &mut writer] {
        client.close_stdin();
        assert!(client.wait_exit(WAIT).success());
    }
    let _ = std::fs::remove_dir_all(&home);
}

/// The bench's JSON from scenario `key`'s row on.
fn row<'a>(out: &'a str, key: &str) -> &'a str {
    out.split(&format!("\"key\": \"{key}\"")).nth(1).unwrap_or_else(|| panic!("no {key} in {out}"))
}

/// A number member of the JSON object `row` starts with.
fn field(row: &str, name: &str) -> Option<f64> {
    let value = row.split(&format!("\"{name}\": ")).nth(1)?;
    value.split([',', '\n']).next()?.trim().parse().ok()
}

#[test]
fn bench_runs_every_scenario_and_reports_ratios_as_json() {
    let mut bench = Minichat::spawn(&[
        "bench",
        "--duration",
        "0.5",
        "--clients",
        "3",
        "--window",
        "4",
        "--idle",
        "20",
        "--scale=10,60",
        "--json",
    ]);
    let status = bench.wait_exit(Duration::from_secs(120));
    let out = bench.stdout_after_exit(WAIT).join("\n");
    assert!(status.success(), "{out}\n{:?}", bench.stderr_after_exit(WAIT));
    for key in [
        "bare-loop",
        "minichat-echo",
        "protocol-echo",
        "protocol-echo-idle",
        "relay",
        "relay-encrypted",
        "relay-captured",
        "fanout",
        "fanout-unbatched",
        "scale-10",
        "scale-60",
    ] {
        let row = row(&out, key);
        let rate = field(row, "messages_per_second").unwrap_or_else(|| panic!("no rate for {key}"));
        assert!(rate > 0.0, "{key} moved nothing");
    }
    for target in [
        "relay CPU per delivered message / bare loop CPU per reply",
        "encrypted relay CPU per delivery / relay CPU per delivery",
    ] {
        assert!(out.contains(&format!("\"target\": \"{target}\"")), "{target}: {out}");
    }
    // With mosquitto installed (as CI has it): the relay across two bridged servers and
    // through the broker alone, each with the broker's CPU.
    if minichat_tests::broker::mosquitto_installed() {
        for key in ["relay-bridged", "relay-mqtt"] {
            let row = row(&out, key);
            let rate = field(row, "messages_per_second").unwrap_or(0.0);
            assert!(rate > 0.0, "{key} moved nothing: {row}");
            assert!(field(row, "broker_cpu_ns_per_message").is_some(), "{key}: {row}");
        }
    }
    // The scale scenarios: a server process each, with its users counted and its memory.
    let scaled = row(&out, "scale-60");
    assert!(scaled.contains("\"connected\": 60"), "{scaled}");
    let rss = field(scaled, "server_rss_kib");
    assert!(rss.is_some_and(|kib| kib > 0.0), "no memory for scale-60: {scaled}");
    assert!(out.contains("echo CPU per reply, 60 users connected / 10 connected"), "{out}");
}

#[test]
fn legacy_text_that_is_empty_not_utf8_or_full_of_controls_is_shown_safely() {
    let (mut server, addr) = Minichat::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0"]);
    let legacy = UdpSocket::bind("127.0.0.1:0").unwrap();
    let from = legacy.local_addr().unwrap();
    legacy.send_to(b"", addr).unwrap();
    assert_eq!(server.stdout_line_containing(&format!("[{from}]"), WAIT), format!("[{from}] "));
    legacy.send_to(b"caf\xc3 \xfeok", addr).unwrap();
    assert_eq!(
        server.stdout_line_containing("ok", WAIT),
        format!("[{from}] caf\u{fffd} \u{fffd}ok"),
        "invalid UTF-8 shows as replacement characters"
    );
    legacy.send_to(b"\x1b[2Jgone\x07\xe2\x80\xaeevil", addr).unwrap();
    assert_eq!(
        server.stdout_line_containing("gone", WAIT),
        format!("[{from}] \\x1b[2Jgone\\x07\\u{{202e}}evil"),
        "controls and bidi overrides are escaped"
    );
    // And the chat goes on.
    let mut client = UdpClient::new("after", addr);
    assert!(client.run_until(WAIT, |c| c.client.is_joined()));
}

#[test]
fn a_chat_with_nothing_to_say_joins_then_leaves_and_says_when_it_never_could() {
    let (mut server, addr) = server();
    // stdin is empty: the session asked for is still made, then left.
    let mut quiet = Minichat::spawn(&[
        "chat",
        "--name",
        "quiet",
        "--server",
        &addr,
        "--linger",
        "0",
        "--plaintext",
    ]);
    assert!(quiet.wait_exit(WAIT).success(), "{:?}", quiet.stderr_after_exit(WAIT));
    server.stdout_line_containing("quiet joined from", WAIT);
    server.stdout_line_containing("quiet left", WAIT);
    // A server that never answers (a socket held open, read by nobody): it says so and
    // fails once its give-up time passed.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let nobody = silent.local_addr().unwrap().to_string();
    let mut lonely = Minichat::spawn(&[
        "chat",
        "--name",
        "lonely",
        "--server",
        &nobody,
        "--linger",
        "0",
        "--timeout",
        "2",
        "--plaintext",
    ]);
    assert_eq!(lonely.wait_exit(WAIT).code(), Some(1));
    let said = lonely.stderr_after_exit(WAIT).join("\n");
    assert!(said.contains("never joined: no answer from"), "{said}");
}

/// `chat` leaves on `/quit` and on Ctrl-C (SIGINT, here: a script has no keys), at once:
/// with its input still open and a long linger, the server sees it leave and it exits 0.
#[test]
fn chat_leaves_on_quit_and_on_ctrl_c() {
    let (mut server, addr) = server();
    let mut watcher = chatter("watcher", &addr, &mut server);
    for (name, stop) in [("quitter", "/quit"), ("interrupted", "SIGINT")] {
        let mut client = Minichat::spawn_with_stdin(&[
            "chat", "--name", name, "--server", &addr, "--linger", "600",
        ]);
        server.stdout_line_containing(&format!("{name} joined from"), WAIT);
        client.write_line("last words");
        assert_eq!(
            watcher.stdout_line_containing("last words", WAIT),
            format!("{name}: last words")
        );
        if stop == "/quit" {
            client.write_line("/quit");
        } else {
            client.interrupt();
        }
        assert_eq!(
            server.stdout_line_containing(&format!("{name} "), WAIT),
            format!("{name} left")
        );
        assert!(client.wait_exit(WAIT).success(), "{name}: {:?}", client.stderr_so_far());
    }
    watcher.close_stdin();
    assert!(watcher.wait_exit(WAIT).success());
}

/// At a terminal, Ctrl-C and Ctrl-D at the prompt leave, as `/quit` does.
#[cfg(unix)]
#[test]
fn chat_at_a_terminal_leaves_on_ctrl_c_and_ctrl_d() {
    use minichat_tests::terminal::AtTerminal;

    let (mut server, addr) = server();
    for (name, key) in [("ctrlc", b"\x03"), ("ctrld", b"\x04")] {
        let mut chat = AtTerminal::spawn(&["chat", "--name", name, "--server", &addr]);
        server.stdout_line_containing(&format!("{name} joined from"), WAIT);
        chat.wait_for(">>>:", WAIT);
        chat.type_keys(b"typed at the prompt\r");
        server.stdout_line_containing(&format!("{name}: typed at the prompt"), WAIT);
        chat.type_keys(key);
        assert_eq!(
            server.stdout_line_containing(&format!("{name} "), WAIT),
            format!("{name} left")
        );
        assert!(chat.wait_exit(WAIT).success(), "{name}: {:?}", chat.screen());
    }
}

/// `send --timeout N` against a server that never answers: not delivered, exit 1, and the
/// reason names the address and the time, once that time has passed (not before).
#[test]
fn send_says_when_no_answer_came_within_its_timeout() {
    // A socket held open and read by nobody: datagrams go in, nothing comes back.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let nobody = silent.local_addr().unwrap().to_string();
    let started = std::time::Instant::now();
    let mut send = Minichat::spawn(&[
        "send",
        "--name",
        "lonely",
        "--server",
        &nobody,
        "--timeout",
        "2",
        "--plaintext",
        "anyone?",
    ]);
    assert_eq!(send.wait_exit(WAIT).code(), Some(1));
    let took = started.elapsed();
    let said = send.stderr_after_exit(WAIT);
    assert_eq!(
        said.last().map(String::as_str),
        Some(&*format!("minichat: not delivered: no answer from {nobody} within 2 s")),
        "{said:?}"
    );
    assert!(took >= Duration::from_secs(2), "gave up after {took:?}");
}

/// Someone who read a session's token off the wire takes the session over while its
/// client's link is down, and speaks under the number of the client's unacknowledged
/// message. The client, back (from a new address), is told the session moved, tries to
/// join again, and reports that message: `chat`'s exit status is then 1, never a silent 0.
#[test]
fn a_message_maybe_lost_to_a_taken_session_makes_chat_exit_1() {
    let (mut server, addr) = server();
    let server_addr: std::net::SocketAddr = addr.parse().unwrap();
    let mut watcher = chatter("watcher", &addr, &mut server);
    // The victim speaks in the clear through a relay the test holds: its path, which the
    // test reads and cuts.
    let relay = UdpRelay::new();
    relay.retarget(Some(server_addr));
    let via = relay.addr().to_string();
    let mut victim = Minichat::spawn_with_stdin(&[
        "chat",
        "--plaintext",
        "--name",
        "victim",
        "--server",
        &via,
        "--linger",
        "0",
        "--timeout",
        "5",
    ]);
    server.stdout_line_containing("victim joined from", WAIT);
    // The welcome, as it passed through the relay (the server may say "joined" first).
    let deadline = std::time::Instant::now() + WAIT;
    let token = loop {
        let welcome = relay.answers().iter().find_map(|bytes| match Message::decode(bytes) {
            Ok(Message::Welcome { token, .. }) => Some(token),
            _ => None,
        });
        if let Some(token) = welcome {
            break token;
        }
        assert!(std::time::Instant::now() < deadline, "no welcome went through the relay");
        std::thread::sleep(Duration::from_millis(5));
    };
    // The victim's link goes down while it says something: its message waits unacked.
    relay.retarget(None);
    victim.write_line("from the real victim");
    // The attacker answers the server's challenge from its own address, and speaks first
    // under the victim's first number.
    let attacker = UdpSocket::bind("127.0.0.1:0").unwrap();
    attacker.set_read_timeout(Some(WAIT)).unwrap();
    let send = |message: &Message<'_>| {
        let mut buf = [0u8; 256];
        let len = message.encode(&mut buf).unwrap();
        attacker.send_to(&buf[..len], server_addr).unwrap();
    };
    send(&Message::Ping { token, req: 1 });
    let mut buf = [0u8; 2048];
    let nonce = loop {
        let (len, _) = attacker.recv_from(&mut buf).expect("the server challenges the attacker");
        if let Ok(Message::Challenge { nonce, .. }) = Message::decode(&buf[..len]) {
            break nonce;
        }
    };
    send(&Message::ChallengeResponse { token, nonce });
    send(&Message::Say { token, seq: 1, text: "forged" });
    assert_eq!(watcher.stdout_line_containing("victim:", WAIT), "victim: forged");
    // The link comes back, from a new address (its NAT rebound): the server challenges
    // it there, the victim answers, and the session moves back to it, with the number it
    // holds taken by someone else's message.
    relay.rebind();
    relay.retarget(Some(server_addr));
    victim.close_stdin();
    let status = victim.wait_exit(Duration::from_secs(60));
    let said = victim.stderr_after_exit(WAIT).join("\n");
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains("the server moved this session to another address"), "{said}");
    // Its message is reported, never silently dropped: as maybe lost (if the move
    // answered its own challenge), or as not delivered once the taken name kept it out
    // past its --timeout.
    let reported = said.lines().any(|line| {
        line.contains("from the real victim")
            && (line.contains("may not have been delivered") || line.contains("not delivered"))
    });
    assert!(reported, "{said}");
}
