//! Servers bridged through a real MQTT broker share one room (`docs/BRIDGE.md`): the
//! `minichat` binary as users run it, two servers, their clients, and `mosquitto` started
//! by the test. Ignored by default like the QEMU tests, because a fresh machine has no
//! broker; `.ci/run` installs mosquitto and runs them with `--ignored`.

use std::time::Duration;

use minichat_tests::broker::{Broker, serve_bridged};
use minichat_tests::cuttable::CuttableLink;
use minichat_tests::process::Minichat;
use minichat_tests::udp_relay::UdpRelay;

const WAIT: Duration = Duration::from_secs(30);

/// A bridged server through `broker` under `prefix`, once it says it is connected.
fn bridged(broker: &Broker, prefix: &str) -> (Minichat, String) {
    bridged_to(&broker.url(prefix))
}

/// A bridged server in the clear (everyone on the test's broker is trusted).
fn bridged_to(url: &str) -> (Minichat, String) {
    let (server, addr, _) = serve_bridged(url, &["--anyone-on-the-broker-may-speak-for-users"]);
    (server, addr)
}

/// Waits until `a` and `b` met through the broker: from then on each one's posts reach
/// the other.
fn meet(a: &mut Minichat, b: &mut Minichat) {
    a.stderr_line_containing("shares the room", WAIT);
    b.stderr_line_containing("shares the room", WAIT);
}

/// A user on the server at `addr`, once the server saw it join.
fn user(name: &str, addr: &str, server: &mut Minichat) -> Minichat {
    let client =
        Minichat::spawn_with_stdin(&["chat", "--name", name, "--server", addr, "--linger", "0"]);
    server.stdout_line_containing(&format!("{name} joined from"), WAIT);
    client
}

#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn room_messages_and_the_operator_reach_every_bridged_server() {
    let broker = Broker::start();
    let (mut a, addr_a) = bridged(&broker, "room-test");
    let (mut b, addr_b) = bridged(&broker, "room-test");
    meet(&mut a, &mut b);
    let mut alice = user("alice", &addr_a, &mut a);
    let mut bob = user("bob", &addr_b, &mut b);
    let mut carol = user("carol", &addr_b, &mut b);

    alice.write_line("hello from A");
    assert_eq!(bob.stdout_line_containing("hello from A", WAIT), "alice: hello from A");
    assert_eq!(carol.stdout_line_containing("hello from A", WAIT), "alice: hello from A");
    // B's console shows it too, as any room message.
    b.stdout_line_containing("alice: hello from A", WAIT);

    bob.write_line("hello from B");
    assert_eq!(alice.stdout_line_containing("hello from B", WAIT), "bob: hello from B");
    assert_eq!(carol.stdout_line_containing("hello from B", WAIT), "bob: hello from B");

    // Each sender's order holds across the bridge.
    for k in 0..20 {
        alice.write_line(&format!("a{k}"));
    }
    for k in 0..20 {
        assert_eq!(bob.stdout_line_containing(": a", WAIT), format!("alice: a{k}"));
    }

    a.write_line("/all from the operator of A");
    assert_eq!(
        bob.stdout_line_containing("from the operator", WAIT),
        "server: from the operator of A"
    );

    // Nothing came twice: a server never republishes what came through the bridge. All
    // each client showed, from its start to its exit.
    bob.write_line("last");
    alice.stdout_line_containing("bob: last", WAIT);
    assert!(alice.close_and_wait(WAIT).success());
    assert!(bob.close_and_wait(WAIT).success());
    let seen = alice.whole_stdout_after_exit(WAIT);
    assert_eq!(seen.iter().filter(|l| l.ends_with("hello from B")).count(), 1, "{seen:#?}");
    let seen = bob.whole_stdout_after_exit(WAIT);
    assert_eq!(seen.iter().filter(|l| l.ends_with("hello from A")).count(), 1, "{seen:#?}");
    assert!(!seen.iter().any(|l| l.contains("bob: hello from B")), "{seen:#?}");
}

#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn a_broker_restart_loses_nothing_and_each_room_goes_on_meanwhile() {
    let mut broker = Broker::start();
    let (mut a, addr_a) = bridged(&broker, "restart-test");
    let (mut b, addr_b) = bridged(&broker, "restart-test");
    meet(&mut a, &mut b);
    let mut alice = user("alice", &addr_a, &mut a);
    let mut alice2 = user("alice2", &addr_a, &mut a);
    let mut bob = user("bob", &addr_b, &mut b);
    alice.write_line("before");
    assert_eq!(bob.stdout_line_containing("before", WAIT), "alice: before");

    broker.stop();
    a.stderr_line_containing("cannot reach the broker", WAIT);
    b.stderr_line_containing("cannot reach the broker", WAIT);
    // Each room still works on its own.
    alice.write_line("during the outage");
    assert_eq!(alice2.stdout_line_containing("during", WAIT), "alice: during the outage");
    bob.write_line("bob during the outage");

    // A broker that remembers nothing: the servers fetch what the other missed.
    broker.restart();
    a.stderr_line_containing("bridge: connected again", WAIT);
    b.stderr_line_containing("bridge: connected again", WAIT);
    assert_eq!(bob.stdout_line_containing("during the outage", WAIT), "alice: during the outage");
    assert_eq!(alice.stdout_line_containing("bob during", WAIT), "bob: bob during the outage");

    alice.write_line("after");
    assert_eq!(bob.stdout_line_containing("after", WAIT), "alice: after");
    assert!(bob.close_and_wait(WAIT).success());
    let seen = bob.whole_stdout_after_exit(WAIT);
    assert_eq!(seen.iter().filter(|l| l.ends_with("during the outage")).count(), 1, "{seen:#?}");
}

/// A server cut off from the broker (the broker keeps running, and forgets it: no session
/// is kept) asks, once back, for what it missed, and sends what it held.
#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn a_server_cut_off_from_the_broker_fetches_what_it_missed() {
    let broker = Broker::start();
    let path = CuttableLink::to(broker.addr());
    let (mut a, addr_a) = bridged(&broker, "cut-test");
    let (mut b, addr_b) = bridged_to(&format!("mqtt://127.0.0.1:{}/cut-test", path.port()));
    meet(&mut a, &mut b);
    let mut alice = user("alice", &addr_a, &mut a);
    let mut bob = user("bob", &addr_b, &mut b);
    alice.write_line("first");
    assert_eq!(bob.stdout_line_containing("first", WAIT), "alice: first");

    path.cut();
    b.stderr_line_containing("cannot reach the broker", WAIT);
    // Published while B has no subscription: the broker drops it for B.
    alice.write_line("while B was away");
    a.stdout_line_containing("alice: while B was away", WAIT);
    bob.write_line("held by B");

    path.restore();
    b.stderr_line_containing("bridge: connected again", WAIT);
    assert_eq!(bob.stdout_line_containing("while B", WAIT), "alice: while B was away");
    assert_eq!(alice.stdout_line_containing("held by B", WAIT), "bob: held by B");
    alice.write_line("then");
    assert_eq!(bob.stdout_line_containing("then", WAIT), "alice: then");
}

#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn direct_messages_names_and_who_reach_across_bridged_servers() {
    let broker = Broker::start();
    let (mut a, addr_a) = bridged(&broker, "direct-test");
    let (mut b, addr_b) = bridged(&broker, "direct-test");
    meet(&mut a, &mut b);
    // Each server hears of the other's user (waited for one at a time: a line that comes
    // while another is awaited is passed over).
    let mut alice = user("alice", &addr_a, &mut a);
    b.stdout_line_containing("alice joined on server", WAIT);
    let mut bob = user("bob", &addr_b, &mut b);
    a.stdout_line_containing("bob joined on server", WAIT);

    // Direct messages both ways, marked as such.
    alice.write_line("/to bob hi bob");
    assert_eq!(bob.stdout_line_containing("hi bob", WAIT), "alice (direct): hi bob");
    bob.write_line("/to alice hi alice");
    assert_eq!(alice.stdout_line_containing("hi alice", WAIT), "bob (direct): hi alice");
    // A name no server holds is refused at once, as on a server alone.
    alice.write_line("/to nobody are you there");
    alice.stderr_line_containing("no user named nobody is connected", WAIT);

    // /who lists everyone: the client's, and the console's with each user's server.
    alice.write_line("/who");
    let who = alice.stdout_line_containing("users (", WAIT);
    assert!(who.starts_with("users (2): alice, bob (on server "), "{who}");
    a.write_line("/who");
    let who = a.stdout_line_containing("users (", WAIT);
    assert!(who.starts_with("users (2): alice (127.0.0.1:"), "{who}");
    assert!(who.contains("bob (on server "), "{who}");

    // A name held on one server is taken on the other (case and look-alikes included).
    let mut impostor = Minichat::spawn(&["chat", "--name", "BOB", "--server", &addr_a]);
    assert!(!impostor.wait_exit(WAIT).success());
    let err = impostor.stderr_after_exit(WAIT).join("\n");
    assert!(err.contains("the name BOB is taken"), "{err}");

    // The operator's plain line answers the last sender, on whichever server it is.
    bob.write_line("anyone from A?");
    a.stdout_line_containing("bob: anyone from A?", WAIT);
    a.write_line("yes, the operator of A");
    assert_eq!(
        bob.stdout_line_containing("operator of A", WAIT),
        "server (direct): yes, the operator of A"
    );

    // Once bob leaves, A forgets him: his name is free there, and a tell says no such user.
    assert!(bob.close_and_wait(WAIT).success(), "{:?}", bob.stderr_so_far());
    a.stdout_line_containing("bob left server", WAIT);
    alice.write_line("/to bob still there?");
    alice.stderr_line_containing("no user named bob is connected", WAIT);
    let _bob_on_a = user("bob", &addr_a, &mut a);
}

/// Two servers admit the same name while cut off from each other: once they hear of each
/// other, the earlier claim keeps it on both, and the later user is told and leaves.
#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn a_name_claimed_on_two_servers_at_once_is_kept_by_the_first() {
    let broker = Broker::start();
    let path = CuttableLink::to(broker.addr());
    let (mut a, addr_a) = bridged(&broker, "claim-test");
    let (mut b, addr_b) = bridged_to(&format!("mqtt://127.0.0.1:{}/claim-test", path.port()));
    meet(&mut a, &mut b);
    path.cut();
    b.stderr_line_containing("cannot reach the broker", WAIT);
    a.stderr_line_containing("left the room", WAIT);

    let mut first = user("carol", &addr_a, &mut a);
    let mut second = user("Carol", &addr_b, &mut b);
    path.restore();
    b.stderr_line_containing("bridge: connected again", WAIT);

    // The later one is told, and its client ends with the reason.
    assert!(!second.wait_exit(WAIT).success());
    let err = second.stderr_after_exit(WAIT).join("\n");
    assert!(err.contains("the name is taken on another server"), "{err}");
    b.stdout_line_containing("Carol lost its name to a user of another server", WAIT);
    // The first keeps it, and both servers agree on where it is (once A heard B's leave).
    a.stdout_line_containing("Carol left server", WAIT);
    first.write_line("/who");
    assert_eq!(first.stdout_line_containing("users (", WAIT), "users (1): carol");
    b.write_line("/who");
    let who = b.stdout_line_containing("users (", WAIT);
    assert!(who.starts_with("users (1): carol (on server "), "{who}");
}

#[test]
fn a_bad_bridge_url_is_a_clear_error() {
    let mut server = Minichat::spawn(&["serve", "--bind", "127.0.0.1:0", "--bridge", "tcp://x"]);
    assert!(!server.wait_exit(WAIT).success());
    let err = server.stderr_after_exit(WAIT).join("\n");
    assert!(err.contains("expected mqtt://[USER@]HOST[:PORT][/PREFIX]"), "{err}");
}

/// A fleet key file (64 hexadecimal digits, readable by its owner only) in a scratch
/// directory of this test process.
fn fleet_key(name: &str, digit: char) -> String {
    let path =
        std::env::temp_dir().join(format!("minichat-bridge-{}-{name}.key", std::process::id()));
    std::fs::write(&path, format!("{}\n", digit.to_string().repeat(64))).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_str().unwrap().to_owned()
}

#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn servers_of_one_fleet_seal_the_room_from_the_broker_and_from_other_fleets() {
    let broker = Broker::start();
    let watcher = broker.watch("sealed-test");
    let key = fleet_key("fleet", 'a');
    let url = broker.url("sealed-test");
    let sealed = |url: &str| {
        let (server, addr, connected) = serve_bridged(url, &["--fleet-key", &key]);
        assert!(connected.contains("sealed with the fleet's key"), "{connected}");
        (server, addr)
    };
    let (mut a, addr_a) = sealed(&url);
    let (mut b, addr_b) = sealed(&url);
    meet(&mut a, &mut b);
    let fleet_user = |name: &str, addr: &str, server: &mut Minichat| {
        let client = Minichat::spawn_with_stdin(&[
            "chat",
            "--name",
            name,
            "--server",
            addr,
            "--linger",
            "0",
            "--fleet-key",
            &key,
        ]);
        server.stdout_line_containing(&format!("{name} joined from"), WAIT);
        client
    };
    let mut alice = fleet_user("alice", &addr_a, &mut a);
    let mut bob = fleet_user("bob", &addr_b, &mut b);
    alice.write_line("the sealed plan");
    assert_eq!(bob.stdout_line_containing("sealed plan", WAIT), "alice: the sealed plan");

    // The broker carried the room, and could read none of it.
    let seen = watcher.seen();
    assert!(seen.iter().any(|(topic, _)| topic.contains("/room/")), "{seen:?}");
    for (topic, payload) in &seen {
        // (Long enough that random bytes never match: the payloads are ciphertext.)
        for secret in [&b"sealed plan"[..], b"alice", b"\"v\":"] {
            assert!(
                !payload.windows(secret.len()).any(|w| w == secret),
                "{topic}: {:?} in {}",
                String::from_utf8_lossy(secret),
                String::from_utf8_lossy(payload)
            );
        }
    }

    // A server of another fleet (here, in the clear) under the same prefix reads nothing
    // of the room, and its posts are dropped by the fleet's, which say so once.
    let (mut other, addr_other) = bridged(&broker, "sealed-test");
    let mut carol = user("carol", &addr_other, &mut other);
    a.stderr_line_containing("does not open with this fleet's key", WAIT);
    carol.write_line("let me in");
    alice.write_line("only for the fleet");
    assert_eq!(bob.stdout_line_containing("only for", WAIT), "alice: only for the fleet");
    alice.write_line("/who");
    let who = alice.stdout_line_containing("users (", WAIT);
    assert!(who.starts_with("users (2): alice, bob (on server "), "{who}");
    // By now the fleet's messages reached carol's server through the broker: everything
    // it and carol showed, to their exits, has none of them.
    assert!(carol.close_and_wait(WAIT).success());
    let carol_saw = carol.whole_stdout_after_exit(WAIT);
    other.terminate();
    assert!(other.wait_exit(WAIT).success());
    let other_saw = other.whole_stdout_after_exit(WAIT);
    for (who, saw) in [("carol", &carol_saw), ("her server", &other_saw)] {
        assert!(
            saw.iter().all(|l| !l.contains("fleet") && !l.contains("sealed")),
            "{who}: {saw:?}"
        );
    }
    assert!(other_saw.iter().any(|l| l.contains("carol: let me in")), "{other_saw:?}");
}

/// A bridged server that crashes and comes back (a new server to the others, at the
/// address its users know): the other forgets the old one's users at once, the users
/// re-join by themselves and lose nothing they typed, and the room goes on across both
/// servers, each message once.
#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn a_bridged_server_that_restarts_brings_its_users_back_into_the_room() {
    let broker = Broker::start();
    let (mut a, addr_a) = bridged(&broker, "server-restart-test");
    // The restarted B keeps its key, as a real one does: its users trusted it.
    let home = std::env::temp_dir().join(format!("minichat-bridge-{}-b", std::process::id()));
    let key = home.join("server.key");
    let key = key.to_str().unwrap();
    let url = broker.url("server-restart-test");
    let b_args = ["--anyone-on-the-broker-may-speak-for-users", "--key", key];
    let (mut b, addr_b, _) = serve_bridged(&url, &b_args);
    // B's users know it by a relay's address, held by the test: the restarted B comes up
    // behind it.
    let relay = UdpRelay::new();
    relay.retarget(Some(addr_b.parse().unwrap()));
    let via = relay.addr().to_string();
    meet(&mut a, &mut b);
    let mut alice = user("alice", &addr_a, &mut a);
    let mut bob = user("bob", &via, &mut b);
    a.stdout_line_containing("bob joined on server", WAIT);
    bob.write_line("before");
    assert_eq!(alice.stdout_line_containing("before", WAIT), "bob: before");

    b.kill();
    relay.retarget(None);
    // The broker's last will for B: A forgets its users.
    let gone = a.stderr_line_containing("left the room", WAIT);
    assert!(gone.ends_with("(1 user gone with it)"), "{gone}");
    bob.write_line("typed while B was down");

    let (mut b2, addr_b2, _) = serve_bridged(&url, &b_args);
    relay.retarget(Some(addr_b2.parse().unwrap()));
    b2.stderr_line_containing("shares the room", WAIT);
    b2.stdout_line_containing("bob joined from", WAIT);
    assert_eq!(alice.stdout_line_containing("typed while", WAIT), "bob: typed while B was down");
    alice.write_line("welcome back");
    assert_eq!(bob.stdout_line_containing("welcome back", WAIT), "alice: welcome back");
    alice.write_line("/who");
    let who = alice.stdout_line_containing("users (", WAIT);
    assert!(who.starts_with("users (2): alice, bob (on server "), "{who}");

    assert!(alice.close_and_wait(WAIT).success());
    assert!(bob.close_and_wait(WAIT).success(), "{:?}", bob.stderr_so_far());
    let alice_saw = alice.whole_stdout_after_exit(WAIT);
    for text in ["bob: before", "bob: typed while B was down"] {
        assert_eq!(alice_saw.iter().filter(|l| *l == text).count(), 1, "{alice_saw:#?}");
    }
    let bob_saw = bob.whole_stdout_after_exit(WAIT);
    assert_eq!(bob_saw.iter().filter(|l| *l == "alice: welcome back").count(), 1, "{bob_saw:#?}");
    drop(b2);
    let _ = std::fs::remove_dir_all(&home);
}

/// The broker restarts while one server is publishing a stream of messages (some of them
/// sent to the broker and not yet acknowledged by it, or not yet sent): every message its
/// sender saw acknowledged reaches the other server's user, in order and once.
#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn a_broker_restart_mid_stream_loses_nothing_acknowledged() {
    const LINES: usize = 300;
    let mut broker = Broker::start();
    let (mut a, addr_a) = bridged(&broker, "midstream-test");
    let (mut b, addr_b) = bridged(&broker, "midstream-test");
    meet(&mut a, &mut b);
    let mut alice = user("alice", &addr_a, &mut a);
    let mut bob = user("bob", &addr_b, &mut b);
    for k in 0..LINES {
        alice.write_line(&format!("m{k}"));
    }
    // Some of the stream has crossed: the broker goes away and comes back in the middle.
    assert_eq!(bob.stdout_line_containing("alice: m", WAIT), "alice: m0");
    broker.restart();
    // Every line was acknowledged to alice (her exit status says so)...
    assert!(alice.close_and_wait(Duration::from_secs(60)).success(), "{:?}", alice.stderr_so_far());
    // ... and reaches bob, in order and once.
    bob.stdout_line_containing(&format!("alice: m{}", LINES - 1), Duration::from_secs(60));
    assert!(bob.close_and_wait(WAIT).success());
    let got: Vec<String> = bob
        .whole_stdout_after_exit(WAIT)
        .into_iter()
        .filter(|l| l.starts_with("alice: m"))
        .collect();
    let expected: Vec<String> = (0..LINES).map(|k| format!("alice: m{k}")).collect();
    assert_eq!(got, expected);
}
