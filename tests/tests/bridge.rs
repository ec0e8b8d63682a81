//! Servers bridged through a real MQTT broker share one room (`docs/BRIDGE.md`): the
//! `minichat` binary as users run it, two servers, their clients, and `mosquitto` started
//! by the test. Ignored by default like the QEMU tests, because a fresh machine has no
//! broker; `.ci/run` installs mosquitto and runs them with `--ignored`.

use std::time::Duration;

use minichat_tests::broker::Broker;
use minichat_tests::cuttable::CuttableLink;
use minichat_tests::process::Minichat;

const WAIT: Duration = Duration::from_secs(30);

/// A bridged server through `broker` under `prefix`, once it says it is connected.
fn bridged(broker: &Broker, prefix: &str) -> (Minichat, String) {
    bridged_to(&broker.url(prefix))
}

fn bridged_to(url: &str) -> (Minichat, String) {
    let (mut server, addr) =
        Minichat::serve_with_stdin(&["serve", "--bind", "127.0.0.1:0", "--bridge", url]);
    server.stderr_line_containing("bridge: connected to", WAIT);
    (server, addr.to_string())
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

    // Nothing came twice: a server never republishes what came through the bridge.
    bob.write_line("last");
    alice.stdout_line_containing("bob: last", WAIT);
    alice.stdout_so_far();
    let seen = alice.stdout_seen();
    assert_eq!(seen.iter().filter(|l| l.ends_with("hello from B")).count(), 1, "{seen:#?}");
    bob.stdout_so_far();
    let seen = bob.stdout_seen();
    assert_eq!(seen.iter().filter(|l| l.ends_with("hello from A")).count(), 1, "{seen:#?}");
    assert!(!seen.iter().any(|l| l.contains("bob: hello from B")), "{seen:#?}");
}

#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn a_broker_restart_loses_nothing_and_each_room_goes_on_meanwhile() {
    let mut broker = Broker::start();
    let (mut a, addr_a) = bridged(&broker, "restart-test");
    let (mut b, addr_b) = bridged(&broker, "restart-test");
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
    bob.stdout_so_far();
    let seen = bob.stdout_seen();
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
fn a_bad_bridge_url_is_a_clear_error() {
    let mut server = Minichat::spawn(&["serve", "--bind", "127.0.0.1:0", "--bridge", "tcp://x"]);
    assert!(!server.wait_exit(WAIT).success());
    let err = server.stderr_after_exit(WAIT).join("\n");
    assert!(err.contains("expected mqtt://HOST:PORT[/PREFIX]"), "{err}");
}
