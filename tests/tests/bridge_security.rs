//! The bridge against whoever else can reach the broker (the attacks of issue 24, items 4
//! and 5): a bridge in the clear only where the operator says anyone on the broker may
//! speak for its users; the broker's own protections (passwords, ACLs, TLS); recorded
//! messages of a sealed bridge not taken again; a publish too large for the bridge
//! costing nothing but itself. The `minichat` binary and a real `mosquitto`, started by
//! the tests (ignored by default, like `bridge.rs`: `.ci/run` installs mosquitto and runs
//! them with `--ignored`).

use std::time::Duration;

use minichat_tests::broker::{Broker, Protections, Publisher, serve_bridged};
use minichat_tests::process::Minichat;

const WAIT: Duration = Duration::from_secs(30);

/// A file holding `text`, readable by its owner only, in a scratch directory.
fn private_file(name: &str, text: &str) -> String {
    let path = std::env::temp_dir()
        .join(format!("minichat-bridge-security-{}-{name}", std::process::id()));
    std::fs::write(&path, format!("{text}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_str().unwrap().to_owned()
}

/// A bridged server with `extra` arguments, once it says it is connected.
fn bridged(url: &str, extra: &[&str]) -> (Minichat, String) {
    let (server, addr, _) = bridged_with_id(url, extra);
    (server, addr)
}

/// [`bridged`], and the server id it says it has.
fn bridged_with_id(url: &str, extra: &[&str]) -> (Minichat, String, String) {
    let (server, addr, line) = serve_bridged(url, extra);
    let id = line
        .split(" as server ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no server id in {line:?}"))
        .to_owned();
    (server, addr, id)
}

/// Publishes, as `publisher`, what makes server `to` take a room message `text` from
/// "mallory" on a server `fake` that does not exist: where its posts start for `to`,
/// then the post.
fn forge(publisher: &Publisher, prefix: &str, to: &str, fake: &str, text: &str) {
    let met = format!(r#"{{"v":1,"server":"{fake}","met":0}}"#);
    publisher.publish(&format!("{prefix}/met/{to}"), met.as_bytes());
    let post = format!(
        r#"{{"v":1,"server":"{fake}","seq":1,"kind":"say","from":"mallory","text":"{text}"}}"#
    );
    publisher.publish(&format!("{prefix}/room/{fake}"), post.as_bytes());
}

fn meet(a: &mut Minichat, b: &mut Minichat) {
    a.stderr_line_containing("shares the room", WAIT);
    b.stderr_line_containing("shares the room", WAIT);
}

/// A user on the server at `addr`, once the server saw it join (`extra`: its fleet key).
fn user(name: &str, addr: &str, server: &mut Minichat, extra: &[&str]) -> Minichat {
    let mut args = vec!["chat", "--name", name, "--server", addr, "--linger", "0"];
    args.extend_from_slice(extra);
    let client = Minichat::spawn_with_stdin(&args);
    server.stdout_line_containing(&format!("{name} joined from"), WAIT);
    client
}

const CLEAR: &str = "--anyone-on-the-broker-may-speak-for-users";

#[test]
fn a_bridge_in_the_clear_is_refused_unless_the_operator_says_anyone_may_speak() {
    // Refused before anything listens or connects: no broker is needed.
    let mut server =
        Minichat::spawn(&["serve", "--bind", "127.0.0.1:0", "--bridge", "mqtt://127.0.0.1:9/x"]);
    assert!(!server.wait_exit(WAIT).success());
    let err = server.stderr_after_exit(WAIT).join("\n");
    assert!(err.contains("--fleet-key FILE"), "{err}");
    assert!(err.contains(CLEAR), "{err}");
    assert!(!err.contains("listening on"), "{err}");
}

#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn a_broker_with_passwords_and_acls_lets_in_the_fleet_and_no_one_else() {
    let broker = Broker::start_with(&Protections {
        users: vec![("fleet".into(), "s3cret".into()), ("other".into(), "pass2".into())],
        acl: Some(
            "user fleet\ntopic readwrite acl-test/#\nuser other\ntopic readwrite other/#\n".into(),
        ),
        ..Protections::default()
    });
    let password = private_file("password", "s3cret");
    let url = broker.url_as("fleet", "acl-test");
    let with_password = ["--bridge-password-file", password.as_str(), CLEAR];
    let (mut a, addr_a) = bridged(&url, &with_password);
    let (mut b, addr_b, id_b) = bridged_with_id(&url, &with_password);
    meet(&mut a, &mut b);
    let mut alice = user("alice", &addr_a, &mut a, &[]);
    let mut bob = user("bob", &addr_b, &mut b, &[]);
    alice.write_line("inside the fleet");
    assert_eq!(bob.stdout_line_containing("inside", WAIT), "alice: inside the fleet");

    // In the clear, whoever may publish under the prefix speaks for anyone: here the
    // fleet's own user, whom the ACL lets in.
    let fleet = broker.publisher(Some(("fleet", "s3cret"))).expect("the fleet's user connects");
    forge(&fleet, "acl-test", &id_b, "00000000000000f1", "forged by an insider");
    assert_eq!(bob.stdout_line_containing("insider", WAIT), "mallory: forged by an insider");
    // Anyone else: the broker does not let an anonymous client in, and another user may
    // not publish under the fleet's prefix (the broker drops it).
    assert!(broker.publisher(None).is_err(), "an anonymous client got in");
    let other = broker.publisher(Some(("other", "pass2"))).expect("the other user connects");
    forge(&other, "acl-test", &id_b, "00000000000000f2", "forged by an outsider");
    alice.write_line("after the forgery");
    assert_eq!(bob.stdout_line_containing("after the", WAIT), "alice: after the forgery");
    bob.stdout_so_far();
    let seen = bob.stdout_seen();
    assert!(!seen.iter().any(|line| line.contains("outsider")), "{seen:?}");

    // A server with the wrong password is told so, and its room goes on.
    let wrong = private_file("wrong", "not-it");
    let mut refused = Minichat::spawn_with_stdin(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--bridge",
        &url,
        "--bridge-password-file",
        &wrong,
        CLEAR,
    ]);
    refused.stderr_line_containing("refused this server's user name or password", WAIT);
}

#[cfg(target_os = "linux")] // where the tests run; elsewhere they are only type-checked
#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn servers_bridge_over_tls_to_a_broker_whose_certificate_they_check() {
    let broker = Broker::start_with(&Protections { tls: true, ..Protections::default() });
    let ca = broker.ca();
    let ca = ca.to_str().unwrap();
    let url = broker.url("tls-test");
    assert!(url.starts_with("mqtts://"), "{url}");
    let (mut a, addr_a) = bridged(&url, &["--bridge-ca", ca, CLEAR]);
    let (mut b, addr_b) = bridged(&url, &["--bridge-ca", ca, CLEAR]);
    meet(&mut a, &mut b);
    let mut alice = user("alice", &addr_a, &mut a, &[]);
    let mut bob = user("bob", &addr_b, &mut b, &[]);
    alice.write_line("over tls");
    assert_eq!(bob.stdout_line_containing("over tls", WAIT), "alice: over tls");

    // A server that does not trust the authority that signed the broker's certificate
    // (here: only the system's) does not connect, and says why.
    let mut untrusting =
        Minichat::spawn_with_stdin(&["serve", "--bind", "127.0.0.1:0", "--bridge", &url, CLEAR]);
    let line = untrusting.stderr_line_containing("cannot reach the broker", WAIT);
    assert!(
        line.to_lowercase().contains("certificate") || line.contains("UnknownIssuer"),
        "{line}"
    );
}

#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn recorded_messages_of_a_sealed_bridge_are_not_taken_again() {
    let broker = Broker::start();
    let watcher = broker.watch("replay-test");
    let key = private_file("fleet.key", &"c".repeat(64));
    let url = broker.url("replay-test");
    let (mut a, addr_a) = bridged(&url, &["--fleet-key", &key]);
    let (mut b, addr_b) = bridged(&url, &["--fleet-key", &key]);
    meet(&mut a, &mut b);
    let fleet = ["--fleet-key", key.as_str()];
    let mut alice = user("alice", &addr_a, &mut a, &fleet);
    let mut bob = user("bob", &addr_b, &mut b, &fleet);
    alice.write_line("once");
    assert_eq!(bob.stdout_line_containing("once", WAIT), "alice: once");
    bob.write_line("/who");
    bob.stdout_line_containing("users (2)", WAIT);

    // Everything the servers published (greetings, answers, rosters, replay requests,
    // room posts) once their meeting ran its course, published again ten times over by
    // someone who recorded it.
    let recorded = watcher.seen_until_quiet(Duration::from_millis(500), WAIT);
    let greetings = recorded.iter().filter(|(topic, _)| topic.contains("/hello/")).count();
    assert!(greetings >= 2, "{recorded:?}");
    let replayer = broker.publisher(None).expect("anyone connects to this broker");
    for _ in 0..10 {
        for (topic, payload) in &recorded {
            replayer.publish(topic, payload);
        }
    }
    alice.write_line("twice?");
    assert_eq!(bob.stdout_line_containing("twice?", WAIT), "alice: twice?");
    a.stderr_line_containing("is not fresh", WAIT);

    // Nothing was taken again: bob saw "once" once, and the servers answered none of it.
    // They published alice's new line, and the last of their meeting if the recording
    // was taken before it reached the broker; the recording's greetings alone, taken,
    // would have made them publish an answer and a replay request each time (40 or more).
    bob.stdout_so_far();
    let seen = bob.stdout_seen();
    assert_eq!(seen.iter().filter(|l| l.ends_with("once")).count(), 1, "{seen:?}");
    let published: Vec<_> = watcher
        .seen()
        .into_iter()
        .filter(|message| !recorded.contains(message) && !message.0.contains("/echo/"))
        .collect();
    let topics: Vec<&str> = published.iter().map(|(topic, _)| topic.as_str()).collect();
    assert!(topics.len() <= 8, "the servers published {} messages: {topics:?}", topics.len());
    bob.write_line("/who");
    let who = bob.stdout_line_containing("users (", WAIT);
    assert!(who.starts_with("users (2): bob, alice (on server "), "{who}");
}

#[test]
#[ignore = "needs mosquitto; .ci/run installs it and runs this"]
fn a_publish_too_large_for_the_bridge_costs_nothing_but_itself() {
    let broker = Broker::start();
    let url = broker.url("large-test");
    let (mut a, addr_a) = bridged(&url, &[CLEAR]);
    let (mut b, addr_b) = bridged(&url, &[CLEAR]);
    meet(&mut a, &mut b);
    let mut alice = user("alice", &addr_a, &mut a, &[]);
    let mut bob = user("bob", &addr_b, &mut b, &[]);
    // 30 publishes of 100 kB on a topic both servers read (more than the in-flight
    // messages mosquitto 2.0 would hold for a client by default).
    let big = broker.publisher(None).expect("anyone connects to this broker");
    for _ in 0..30 {
        big.publish("large-test/room/0000000000000009", &vec![b'x'; 100_000]);
    }
    alice.write_line("still here");
    assert_eq!(bob.stdout_line_containing("still", WAIT), "alice: still here");
    bob.write_line("and back");
    assert_eq!(alice.stdout_line_containing("and back", WAIT), "bob: and back");
    // Neither server lost its connection to the broker (each would have said it
    // connected again, and the other that it left).
    for server in [&mut a, &mut b] {
        let said = server.stderr_so_far();
        assert!(
            !said.iter().any(|l| l.contains("connected again") || l.contains("left the room")),
            "{said:?}"
        );
    }
}
