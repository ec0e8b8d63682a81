//! Encrypted sessions as a user meets them, with the `minichat` binary over UDP on
//! 127.0.0.1: the server's key made and shown, trust on first use remembered, a changed
//! key refused loudly, a pin that does not match refused, a client in the clear refused
//! unless the server takes it, and a key file others can read refused.

use std::path::PathBuf;
use std::time::Duration;

use minichat_tests::process::Minichat;
use minichat_tests::udp_relay::UdpRelay;

const WAIT: Duration = Duration::from_secs(30);

/// A scratch directory of this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("minichat-secure-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The fingerprint the server printed at start.
fn fingerprint(server: &mut Minichat) -> String {
    let line = server.stdout_line_containing("encrypted sessions with key", WAIT);
    line.split("with key ").nth(1).unwrap().split(' ').next().unwrap().to_owned()
}

fn send(args: &[&str]) -> (Option<i32>, Vec<String>) {
    let mut send = Minichat::spawn(args);
    let code = send.wait_exit(WAIT).code();
    (code, send.stderr_after_exit(WAIT))
}

#[test]
fn the_first_key_is_trusted_and_a_changed_one_refused_loudly() {
    let dir = scratch("tofu");
    let known = dir.join("known_servers");
    let known = known.to_str().unwrap();
    // The clients' address is a relay the test holds: the second server takes the first's
    // place behind it, with no port let go and bound again.
    let relay = UdpRelay::new();
    let (mut first, first_addr) = Minichat::serve(&["serve", "--bind", "127.0.0.1:0"]);
    relay.retarget(Some(first_addr));
    let first_print = fingerprint(&mut first);
    let addr = relay.addr().to_string();
    let key = minichat_tests::process::user_key("tofu", "ann");
    let args =
        ["send", "--name", "ann", "--key", &key, "--server", &addr, "--known-servers", known, "hi"];
    let (code, stderr) = send(&args);
    assert_eq!(code, Some(0), "{stderr:?}");
    assert!(
        stderr.iter().any(|l| l.contains("first session with") && l.contains(&first_print)),
        "{stderr:?}"
    );
    // The second time the key is known: nothing to say.
    let (code, stderr) = send(&args);
    assert_eq!((code, stderr.len()), (Some(0), 0), "{stderr:?}");
    let remembered = std::fs::read(known).unwrap();
    // Another server (another key) at the same address.
    drop(first);
    let (mut second, second_addr) = Minichat::serve(&["serve", "--bind", "127.0.0.1:0"]);
    relay.retarget(Some(second_addr));
    let second_print = fingerprint(&mut second);
    let (code, stderr) = send(&args);
    assert_eq!(code, Some(1), "{stderr:?}");
    let warning = stderr.join("\n");
    assert!(
        warning.contains(&format!("WARNING: the key of the server at {addr} changed")),
        "{warning}"
    );
    assert!(warning.contains(&first_print) && warning.contains(&second_print), "{warning}");
    assert!(warning.contains("Not joining"), "{warning}");
    // The refusal changed nothing: the first key is still the one remembered, so the next
    // try is refused as loudly, and ann never joined the second server.
    assert_eq!(std::fs::read(known).unwrap(), remembered, "known_servers was rewritten");
    let (code, stderr) = send(&args);
    assert_eq!(code, Some(1), "{stderr:?}");
    assert!(stderr.join("\n").contains("changed"), "{stderr:?}");
    second.terminate();
    assert!(second.wait_exit(WAIT).success());
    let shown = second.whole_stdout_after_exit(WAIT);
    assert!(!shown.iter().any(|l| l.starts_with("ann")), "ann joined the second server: {shown:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_pinned_key_is_the_only_one_taken() {
    let (mut server, addr) = Minichat::serve(&["serve", "--bind", "127.0.0.1:0"]);
    let print = fingerprint(&mut server);
    let addr = addr.to_string();
    let (code, stderr) =
        send(&["send", "--name", "ann", "--server", &addr, "--server-key", &print, "hi"]);
    assert_eq!((code, stderr.len()), (Some(0), 0), "pinned and matching: {stderr:?}");
    let wrong = "0000-1111-2222-3333-4444-5555-6666-7777";
    let (code, stderr) =
        send(&["send", "--name", "bob", "--server", &addr, "--server-key", wrong, "hi"]);
    assert_eq!(code, Some(1));
    let refusal = stderr.join("\n");
    assert!(
        refusal.contains(&format!("presented the key {print}, not the key --server-key pins")),
        "{refusal}"
    );
    server.stdout_line_containing("ann: hi", WAIT);
    // All the server showed, to its exit: bob never joined.
    server.terminate();
    assert!(server.wait_exit(WAIT).success());
    let shown = server.whole_stdout_after_exit(WAIT);
    assert!(!shown.iter().any(|l| l.starts_with("bob")), "bob joined: {shown:?}");
}

#[test]
fn a_client_in_the_clear_is_refused_unless_the_server_takes_it() {
    let (_strict, addr) = Minichat::serve(&["serve", "--bind", "127.0.0.1:0"]);
    let (code, stderr) =
        send(&["send", "--plaintext", "--name", "ann", "--server", &addr.to_string(), "hi"]);
    assert_eq!(code, Some(1));
    assert!(stderr.join("\n").contains("this server takes encrypted sessions only"), "{stderr:?}");
    let (mut lenient, addr) = Minichat::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0"]);
    let (code, stderr) =
        send(&["send", "--plaintext", "--name", "ann", "--server", &addr.to_string(), "hi"]);
    assert_eq!(code, Some(0), "{stderr:?}");
    assert!(stderr.join("\n").contains("this session is not encrypted"), "{stderr:?}");
    lenient.stdout_line_containing("ann: hi", WAIT);
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused_and_a_new_one_is_private() {
    use std::os::unix::fs::PermissionsExt;

    let dir = scratch("perms");
    let key = dir.join("server.key");
    let (mut server, _) =
        Minichat::serve(&["serve", "--bind", "127.0.0.1:0", "--key", key.to_str().unwrap()]);
    let line = server.stdout_line_containing("encrypted sessions with key", WAIT);
    assert!(line.contains("made now"), "{line}");
    drop(server);
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut refused =
        Minichat::spawn(&["serve", "--bind", "127.0.0.1:0", "--key", key.to_str().unwrap()]);
    assert!(!refused.wait_exit(WAIT).success());
    let err = refused.stderr_after_exit(WAIT).join("\n");
    assert!(err.contains("can be read by others (mode 644): run chmod 600"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_bench_loads_a_running_server_in_encrypted_sessions_or_says_why_it_cannot() {
    let (_server, addr) =
        Minichat::serve(&["serve", "--bind", "127.0.0.1:0", "--rate", "0", "--per-ip", "0"]);
    let addr = addr.to_string();
    let load = ["bench", "--server", &addr, "--mode", "relay", "--no-baselines", "--clients", "2"];
    let quick = ["--window", "2", "--duration", "0.3", "--json"];
    let mut bench = Minichat::spawn(&[&load[..], &quick[..]].concat());
    let status = bench.wait_exit(WAIT);
    let out = bench.stdout_after_exit(WAIT).join("\n");
    assert!(status.success(), "{out}\n{:?}", bench.stderr_after_exit(WAIT));
    assert!(out.contains("\"key\": \"relay\""), "{out}");
    assert!(!out.contains("\"messages_per_second\": 0.0"), "{out}");
    // The protocol echo too, sealed like everything else (it used to get no reply).
    let echo = ["bench", "--server", &addr, "--mode", "echo", "--no-baselines", "--clients", "2"];
    let mut bench = Minichat::spawn(&[&echo[..], &quick[..]].concat());
    let status = bench.wait_exit(WAIT);
    let out = bench.stdout_after_exit(WAIT).join("\n");
    assert!(status.success(), "{out}\n{:?}", bench.stderr_after_exit(WAIT));
    assert!(out.contains("\"key\": \"protocol-echo\""), "{out}");
    assert!(!out.contains("\"messages_per_second\": 0.0"), "{out}");
    // In the clear, the server (started without --plaintext) refuses the load's clients:
    // the bench says so instead of waiting.
    let mut plain = Minichat::spawn(&[&load[..], &quick[..], &["--plaintext"][..]].concat());
    let status = plain.wait_exit(WAIT);
    let stderr = plain.stderr_after_exit(WAIT).join("\n");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refused the bench's clients"), "{stderr}");
    assert!(stderr.contains("encrypt"), "{stderr}");
}

#[test]
fn minichat_key_shows_the_key_serve_uses_in_hex_and_as_its_fingerprint() {
    let dir = scratch("key");
    let key = dir.join("server.key");
    let key = key.to_str().unwrap();
    let mut shown = Minichat::spawn(&["key", "--key", key]);
    assert!(shown.wait_exit(WAIT).success());
    let out = shown.stdout_after_exit(WAIT);
    assert!(out.iter().any(|l| l.contains("(made now)")), "{out:?}");
    let field = |name: &str| {
        let line = out.iter().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{out:?}"));
        line.split_whitespace().last().unwrap().to_owned()
    };
    let (public, print) = (field("public key:"), field("fingerprint:"));
    assert_eq!(public.len(), 64, "{public}");
    assert!(public.chars().all(|c| c.is_ascii_hexdigit()), "{public}");
    // --public: the hex alone, the same key (not made again).
    let mut alone = Minichat::spawn(&["key", "--key", key, "--public"]);
    assert!(alone.wait_exit(WAIT).success());
    assert_eq!(alone.stdout_after_exit(WAIT), vec![public.clone()]);
    // serve announces the same fingerprint for that file.
    let (mut server, addr) = Minichat::serve(&["serve", "--key", key, "--bind", "127.0.0.1:0"]);
    assert_eq!(fingerprint(&mut server), print);
    // A client pins it by either form: the fingerprint, or the key in hexadecimal.
    let addr = addr.to_string();
    for (name, pin) in [("byprint", &print), ("byhex", &public)] {
        let (code, stderr) =
            send(&["send", "--name", name, "--server", &addr, "--server-key", pin, "hi"]);
        assert_eq!(code, Some(0), "--server-key {pin}: {stderr:?}");
        server.stdout_line_containing(&format!("{name}: hi"), WAIT);
    }
    // Anything else is refused at once, saying what it takes.
    let (code, stderr) =
        send(&["send", "--name", "cut", "--server", &addr, "--server-key", "1a2b-3c4d", "hi"]);
    assert_eq!(code, Some(2), "{stderr:?}");
    let said = stderr.join("\n");
    assert!(said.contains("8 hexadecimal digits") && said.contains("key --public"), "{said}");
}

#[test]
fn the_console_counts_encrypted_sessions_and_frames_for_sessions_it_does_not_have() {
    let dir = scratch("stats");
    let known = dir.join("known_servers");
    let (mut server, addr) = Minichat::serve_with_stdin(&["serve", "--bind", "127.0.0.1:0"]);
    let print = fingerprint(&mut server);
    let addr = addr.to_string();
    let args = [
        "send",
        "--name",
        "ann",
        "--server",
        &addr,
        "--server-key",
        &print,
        "--known-servers",
        known.to_str().unwrap(),
        "hello",
    ];
    let (code, stderr) = send(&args);
    assert_eq!(code, Some(0), "{stderr:?}");
    server.stdout_line_containing("ann: hello", WAIT);
    // A sealed frame (kind 0x0c) for a session nobody has: answered unknown-session, as
    // any frame with a token the server does not know.
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut forged = vec![0xff, 0x02, 0x0c];
    forged.extend_from_slice(&[0x5a; 8 + 8 + 32]);
    socket.send_to(&forged, &addr).unwrap();
    // Its answer says the server has counted it.
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut answer = [0u8; 64];
    let (len, _) = socket.recv_from(&mut answer).unwrap();
    assert_eq!(answer[..len][..3], [0xff, 0x02, 0x05], "unknown-session");
    server.write_line("/stats");
    // The lines come in this order.
    let datagrams = server.stdout_line_containing("[stats] datagrams: ", WAIT);
    assert!(datagrams.ends_with("answered unknown-session 1"), "{datagrams}");
    let messages = server.stdout_line_containing("[stats] messages: ", WAIT);
    assert!(messages.starts_with("[stats] messages: accepted 1,"), "{messages}");
    let encryption = server.stdout_line_containing("[stats] encryption: ", WAIT);
    assert!(encryption.starts_with("[stats] encryption: handshakes 1,"), "{encryption}");
    let _ = std::fs::remove_dir_all(dir);
}
