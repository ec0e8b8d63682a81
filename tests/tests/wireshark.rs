//! The Wireshark dissector (`contrib/wireshark/minichat.lua`) as tshark runs it, on
//! captures written by the host's `--capture` code: it agrees with the Rust codec on every
//! vector of PROTOCOL.md (the same verdict, the same words), its field output matches a
//! golden file, and the captures of real conversations — over UDP and over a serial line —
//! decode with no frame flagged. Needs `tshark` (`.ci/run` installs Debian's), so `cargo
//! test` leaves these out (ignored); `cargo test -p minichat-tests --test wireshark --
//! --ignored` runs them, as CI does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use host::net::capture::{Capture, Direction, StreamKind};
use minichat_core::error::WireError;
use minichat_core::stream::{MAX_CHECKED_FRAME, StreamDecoder};
use minichat_core::wire::{Message, spec_vectors};
use minichat_tests::process::Minichat;

const WAIT: Duration = Duration::from_secs(20);

/// The fields the golden file holds, in its column order.
const FIELDS: [&str; 17] = [
    "minichat.kind",
    "minichat.token",
    "minichat.nonce",
    "minichat.name",
    "minichat.place",
    "minichat.from",
    "minichat.to",
    "minichat.text",
    "minichat.seq",
    "minichat.counter",
    "minichat.sack",
    "minichat.req",
    "minichat.code",
    "minichat.detail",
    "minichat.legacy",
    "minichat_stream.check_good",
    "_ws.expert.message",
];

/// Where the noisy copy of the stream vector has a bit flipped: a byte of the ping's check.
const NOISE_AT: usize = 17;

/// The server's port in the vectors' capture: not 8080, so the port preference is used.
const PORT: u16 = 18080;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("minichat-wireshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// tshark's field output for `capture` with the dissector: one line per packet, the
/// fields separated by `|`, several values of one field by `,`.
fn tshark(capture: &Path, port: u16, fields: &[&str]) -> Vec<String> {
    tshark_with(capture, port, &[], fields)
}

/// [`tshark`] with more options (`-o NAME:VALUE` pairs, as `options` gives them).
fn tshark_with(capture: &Path, port: u16, options: &[&str], fields: &[&str]) -> Vec<String> {
    let script = repo().join("contrib/wireshark/minichat.lua");
    let mut command = Command::new("tshark");
    command
        .arg("-X")
        .arg(format!("lua_script:{}", script.display()))
        .env_remove("MINICHAT_KEYLOGFILE")
        .args(["-o", &format!("minichat.port:{port}")])
        .args(options)
        .args(["-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-r"])
        .arg(capture)
        .args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]);
    for field in fields {
        command.args(["-e", field]);
    }
    let output = command.output().expect("tshark runs (install it: apt-get install tshark)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tshark failed: {stderr}");
    assert!(!stderr.contains("Lua"), "the dissector reported an error: {stderr}");
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect()
}

/// The capture of every vector of the spec: each datagram vector as a UDP datagram from
/// a client to the server on [`PORT`], the stream vector as a serial record, and that
/// stream again with one bit of the ping's check flipped. Returns the label of each
/// packet, in order.
fn vectors_capture(path: &Path) -> Vec<String> {
    let mut capture = Capture::create(path).unwrap();
    let server = std::net::SocketAddr::from(([127, 0, 0, 1], PORT));
    let client = std::net::SocketAddr::from(([127, 0, 0, 1], 40000));
    let mut labels = Vec::new();
    for (name, bytes) in spec_vectors::all().unwrap() {
        match name.as_str() {
            "crc32-check" => continue, // not a frame: the CRC's own check
            "stream-ping-ack" => {
                capture.stream_bytes(Direction::In, StreamKind::Serial, "/dev/ttyUSB0", &bytes);
                labels.push(name.clone());
                let mut noisy = bytes.clone();
                noisy[NOISE_AT] ^= 0x01;
                capture.stream_bytes(Direction::Out, StreamKind::Serial, "/dev/ttyUSB0", &noisy);
                labels.push(format!("{name} (line noise in the ping)"));
            }
            _ => {
                capture.udp(Direction::In, server, client, &bytes);
                labels.push(name);
            }
        }
    }
    // The same ping between IPv6 addresses, and back.
    let ping = spec_vectors::get("ping").unwrap();
    let server6 = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, PORT));
    let client6 = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 40000));
    capture.udp(Direction::In, server6, client6, &ping);
    labels.push("ping over IPv6".to_owned());
    capture.udp(Direction::Out, server6, client6, &spec_vectors::get("pong").unwrap());
    labels.push("pong over IPv6".to_owned());
    capture.finish().unwrap();
    labels
}

/// What the Rust codec says about a datagram, in the dissector's terms: the kind it
/// parsed to, the plain text of a legacy client, or the sentence of its error (the
/// dissector still shows the fields it read before the error).
fn rust_verdict(bytes: &[u8]) -> (String, String, String) {
    match Message::decode(bytes) {
        Ok(message) => {
            (format!("0x{:02x}", message.kind().to_byte()), String::new(), String::new())
        }
        Err(WireError::NotAFrame) => {
            (String::new(), String::from_utf8_lossy(bytes).into_owned(), String::new())
        }
        Err(error) => (String::new(), String::new(), error.to_string()),
    }
}

#[test]
#[ignore = "needs tshark: .ci/run installs it and runs these with --ignored"]
fn the_dissector_agrees_with_the_rust_codec_on_every_spec_vector() {
    let path = scratch("vectors.pcapng");
    let labels = vectors_capture(&path);
    let lines = tshark(
        &path,
        PORT,
        &["minichat.kind", "minichat.legacy", "_ws.expert.message", "udp.checksum.status"],
    );
    assert_eq!(lines.len(), labels.len(), "{lines:?}");
    let vectors = spec_vectors::all().unwrap();
    let mut streams = 0;
    for (label, line) in labels.iter().zip(&lines) {
        let cells: Vec<&str> = line.split('|').collect();
        if label.starts_with("stream-ping-ack") {
            // The stream: what the core's stream decoder takes from the same bytes (the
            // noisy copy loses the ping to its check), and the dissector says why.
            let bytes = capture_stream_bytes(&vectors, label);
            let mut kinds = Vec::new();
            let mut bad_checks = 0;
            StreamDecoder::<MAX_CHECKED_FRAME>::new().decode_all(&bytes, |frame| match frame {
                Ok(frame) => {
                    kinds.push(format!(
                        "0x{:02x}",
                        Message::decode(frame).unwrap().kind().to_byte()
                    ));
                }
                Err(_) => bad_checks += 1,
            });
            assert_eq!(cells[0], kinds.join(","), "{label}: the kinds (tshark: {line})");
            let flagged = cells[2].matches("does not match").count();
            assert_eq!(flagged, bad_checks, "{label}: bad checks (tshark: {line})");
            streams += 1;
            continue;
        }
        // Every datagram of a capture carries a right UDP checksum, over IPv4 and IPv6.
        assert_eq!(cells[3], "1", "{label}: the UDP checksum (tshark: {line})");
        if label.contains("over IPv6") {
            let kind = if label.starts_with("ping") { "0x24" } else { "0x25" };
            assert_eq!(cells[..3], [kind, "", ""], "{label}: {line}");
        }
        let Some((_, bytes)) = vectors.iter().find(|(n, _)| n == label) else { continue };
        let (kind, legacy, expert) = rust_verdict(bytes);
        if expert.is_empty() {
            assert_eq!(cells[0], kind, "{label}: the kind (tshark: {line})");
        }
        assert_eq!(cells[1], legacy, "{label}: plain text (tshark: {line})");
        assert_eq!(cells[2], expert, "{label}: the error (tshark: {line})");
    }
    assert_eq!(streams, 2);
}

/// The bytes [`vectors_capture`] recorded for the stream record `label`.
fn capture_stream_bytes(vectors: &[(String, Vec<u8>)], label: &str) -> Vec<u8> {
    let (_, bytes) = vectors.iter().find(|(n, _)| n == "stream-ping-ack").unwrap();
    let mut bytes = bytes.clone();
    if label != "stream-ping-ack" {
        bytes[NOISE_AT] ^= 0x01;
    }
    bytes
}

/// Mutants of the spec's valid frames — bytes flipped, cut short, grown — read by both:
/// the dissector must reach the codec's verdict on each (a differential test), and no
/// input may make the script itself fail.
/// Plain text as the original programs' clients send it, control characters included.
const PLAIN_TEXTS: [&str; 6] = [
    "hello, world\n",
    "line\r\n",
    "tab\there",
    "caf\u{e9} \u{6f22}\u{5b57}",
    "x",
    "bell\x07 vt\x0b ff\x0c esc\x1b back\\slash\r",
];

#[test]
#[ignore = "needs tshark: .ci/run installs it and runs these with --ignored"]
fn the_dissector_agrees_with_the_rust_codec_on_mutated_frames() {
    use proptest::prelude::Rng;

    let mut rng = minichat_tests::rng(12);
    let valid: Vec<Vec<u8>> = spec_vectors::all()
        .unwrap()
        .into_iter()
        .filter(|(n, b)| {
            !n.starts_with("bad-")
                && !n.starts_with("stream-")
                && n != "crc32-check"
                && !b.is_empty()
        })
        .map(|(_, b)| b)
        .collect();
    let mut mutants = Vec::new();
    for i in 0..600 {
        let mut bytes = valid[i % valid.len()].clone();
        match rng.next_u32() % 4 {
            0 => {
                let at = 3 + rng.next_u32() as usize % (bytes.len() - 3).max(1);
                if let Some(b) = bytes.get_mut(at) {
                    *b ^= 1 << (rng.next_u32() % 8);
                }
            }
            1 => bytes.truncate(rng.next_u32() as usize % bytes.len()),
            2 => bytes.extend((0..1 + rng.next_u32() % 4).map(|_| rng.next_u32() as u8)),
            _ => {
                let at = rng.next_u32() as usize % bytes.len();
                bytes[at] = rng.next_u32() as u8;
            }
        }
        mutants.push(bytes);
    }
    // And plain text as the original programs' clients send it, so the text itself is
    // compared, not only found.
    for text in PLAIN_TEXTS {
        mutants.push(text.as_bytes().to_vec());
    }
    let path = scratch("mutants.pcapng");
    let mut capture = Capture::create(&path).unwrap();
    let server = std::net::SocketAddr::from(([127, 0, 0, 1], PORT));
    let client = std::net::SocketAddr::from(([127, 0, 0, 1], 40000));
    for bytes in &mutants {
        capture.udp(Direction::In, server, client, bytes);
    }
    capture.finish().unwrap();
    let lines = tshark(&path, PORT, &["minichat.kind", "minichat.legacy", "_ws.expert.message"]);
    assert_eq!(lines.len(), mutants.len());
    for (bytes, line) in mutants.iter().zip(&lines) {
        let (kind, legacy, expert) = rust_verdict(bytes);
        let cells: Vec<&str> = line.split('|').collect();
        let shown = format!("{bytes:02x?}: tshark: {line}");
        if expert.is_empty() {
            assert_eq!(cells[0], kind, "the kind of {shown}");
        }
        if !legacy.is_empty() {
            // tshark shows a string field with C's escapes for \b, \t, \n, \f and \r
            // (other control characters, \a and \v among them, and the backslash as
            // they are: the last plain text above pins that). Text that is UTF-8
            // up to its end (or a NUL, where a string stops) is shown whole; otherwise at
            // least its valid beginning is.
            let until_nul = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
            let valid = match std::str::from_utf8(until_nul) {
                Ok(text) => text,
                Err(e) => std::str::from_utf8(&until_nul[..e.valid_up_to()]).unwrap(),
            };
            let escaped =
                [('\x08', "\\b"), ('\t', "\\t"), ('\n', "\\n"), ('\x0c', "\\f"), ('\r', "\\r")]
                    .into_iter()
                    .fold(valid.to_owned(), |text, (c, shown)| text.replace(c, shown));
            if std::str::from_utf8(until_nul).is_ok() && !valid.contains(['|', ',']) {
                assert_eq!(cells[1], escaped, "plain text {shown}");
            } else if !valid.contains(['|', ',']) {
                let cell = cells[1].as_bytes();
                assert!(cells[1].starts_with(&escaped), "plain text {shown}: {cell:02x?}");
            }
            if !until_nul.is_empty() {
                assert!(!cells[1].is_empty(), "plain text {shown}");
            }
        }
        assert_eq!(cells[2], expert, "the error of {shown}");
    }
}

#[test]
#[ignore = "needs tshark: .ci/run installs it and runs these with --ignored"]
fn the_dissectors_fields_match_the_golden_file() {
    let path = scratch("golden.pcapng");
    let labels = vectors_capture(&path);
    let lines = tshark(&path, PORT, &FIELDS);
    let mut got = format!("# vector|{}\n", FIELDS.join("|"));
    for (label, line) in labels.iter().zip(&lines) {
        got += &format!("{label}|{line}\n");
    }
    let golden = repo().join("contrib/wireshark/testdata/vectors.fields");
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    // Blessing rewrites the file and still fails: a run that changed it never passes, so
    // a variable left set cannot turn a changed output green (CI refuses it too).
    if std::env::var_os("MINICHAT_BLESS").is_some() && got != want {
        std::fs::write(&golden, &got).unwrap();
        panic!(
            "rewrote {}: review the change and run again without MINICHAT_BLESS",
            golden.display()
        );
    }
    assert_eq!(got, want, "tshark's output changed; MINICHAT_BLESS=1 rewrites the golden file");
}

/// The kinds (by byte) tshark found in `capture`, and every expert message.
fn kinds_and_problems(capture: &Path, port: u16) -> (Vec<String>, Vec<String>) {
    let lines = tshark(capture, port, &["minichat.kind", "minichat.text", "_ws.expert.message"]);
    let mut kinds = Vec::new();
    let mut problems = Vec::new();
    for line in &lines {
        let cells: Vec<&str> = line.split('|').collect();
        kinds.extend(cells[0].split(',').filter(|k| !k.is_empty()).map(str::to_owned));
        problems.extend(cells[2].split(',').filter(|p| !p.is_empty()).map(str::to_owned));
    }
    (kinds, problems)
}

#[test]
#[ignore = "needs tshark: .ci/run installs it and runs these with --ignored"]
fn captures_of_a_udp_conversation_decode_on_both_ends() {
    let server_capture = scratch("udp-server.pcapng");
    let client_capture = scratch("udp-client.pcapng");
    // In the clear, so that every kind shows (the encrypted conversation is below).
    let (mut server, addr) = Minichat::serve(&[
        "serve",
        "--plaintext",
        "--bind",
        "127.0.0.1:0",
        "--capture",
        server_capture.to_str().unwrap(),
    ]);
    let mut chat = Minichat::spawn_with_stdin(&[
        "chat",
        "--plaintext",
        "--name",
        "alice",
        "--server",
        &addr.to_string(),
        "--capture",
        client_capture.to_str().unwrap(),
        "--linger",
        "1",
    ]);
    server.stdout_line_containing("alice joined", WAIT);
    chat.write_line("hello through the capture");
    chat.write_line("/who");
    server.stdout_line_containing("hello through the capture", WAIT);
    assert!(chat.close_and_wait(WAIT).success());
    chat.stderr_line_containing("capture written to", WAIT);
    // The server's file is readable while it runs: everything so far is in it within a
    // flush interval, and the chat's departure is seen there.
    server.stdout_line_containing("alice left", WAIT);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (kinds, _) = kinds_and_problems(&server_capture, addr.port());
        if kinds.iter().any(|k| k == "0x04") {
            break; // the leave
        }
        assert!(std::time::Instant::now() < deadline, "the running server's capture: {kinds:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    server.interrupt();
    assert!(server.wait_exit(WAIT).success());
    for capture in [&server_capture, &client_capture] {
        let (kinds, problems) = kinds_and_problems(capture, addr.port());
        assert!(problems.is_empty(), "{}: {problems:?}", capture.display());
        // join, cookie, welcome, say, who, users, ack, leave
        for kind in ["0x01", "0x02", "0x03", "0x10", "0x20", "0x21", "0x14", "0x04"] {
            assert!(
                kinds.iter().any(|k| k == kind),
                "{}: no {kind} in {kinds:?}",
                capture.display()
            );
        }
        let texts = tshark(capture, addr.port(), &["minichat.text"]);
        assert!(texts.iter().any(|t| t == "hello through the capture"), "{texts:?}");
    }
}

/// An encrypted conversation, captured on the server: tshark sees the handshake and sealed
/// frames, and neither the text nor the name appears anywhere in the capture — until it
/// is given the key log the client wrote (`MINICHAT_KEYLOGFILE`).
#[test]
#[ignore = "needs tshark: .ci/run installs it and runs these with --ignored"]
fn a_capture_of_an_encrypted_conversation_holds_none_of_its_text_but_its_key_log_opens_it() {
    let capture = scratch("encrypted.pcapng");
    let key_log = scratch("encrypted.keys");
    let _ = std::fs::remove_file(&key_log);
    let (mut server, addr) = Minichat::serve(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let mut chat = Minichat::spawn_with_stdin_and_env(
        &["chat", "--name", "alice", "--server", &addr.to_string(), "--linger", "0"],
        &[("MINICHAT_KEYLOGFILE", key_log.to_str().unwrap())],
    );
    chat.stderr_line_containing("MINICHAT_KEYLOGFILE is set", WAIT);
    server.stdout_line_containing("alice joined", WAIT);
    chat.write_line("the secret plan");
    server.stdout_line_containing("the secret plan", WAIT);
    assert!(chat.close_and_wait(WAIT).success());
    server.stdout_line_containing("alice left", WAIT);
    server.interrupt();
    assert!(server.wait_exit(WAIT).success());
    let (kinds, problems) = kinds_and_problems(&capture, addr.port());
    assert!(problems.is_empty(), "{problems:?}");
    // key-request, server-key, hello-key (the chat proves a key of its own), cookie,
    // answer, sealed: nothing else.
    for kind in ["0x0d", "0x0e", "0x0f", "0x02", "0x0b", "0x0c"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    let allowed = ["0x0d", "0x0e", "0x0f", "0x02", "0x0b", "0x0c"];
    assert!(kinds.iter().all(|k| allowed.contains(&k.as_str())), "{kinds:?}");
    assert!(tshark(&capture, addr.port(), &["minichat.text"]).iter().all(String::is_empty));
    let bytes = std::fs::read(&capture).unwrap();
    for secret in [&b"secret plan"[..], b"alice"] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret), "{secret:?} in the capture");
    }

    // With the key log, every sealed frame opens, both ways, and the conversation reads.
    let log = std::fs::read_to_string(&key_log).unwrap();
    assert!(log.starts_with("MINICHAT_SESSION ") && log.lines().count() == 1, "{log}");
    let option = format!("minichat.keylog_file:{}", key_log.display());
    let fields = ["minichat.kind", "minichat.decrypted", "minichat.text", "_ws.expert.message"];
    let lines = tshark_with(&capture, addr.port(), &["-o", &option], &fields);
    let cells =
        |i: usize| lines.iter().flat_map(move |l| l.split('|').nth(i).unwrap_or("").split(','));
    assert!(cells(3).all(str::is_empty), "{lines:#?}");
    let kinds: Vec<&str> = cells(0).collect();
    // say, ack and leave, inside sealed frames (the welcome is in the answer's handshake
    // payload, which a key log of transport keys does not open).
    for kind in ["0x10", "0x14", "0x04"] {
        assert!(kinds.contains(&kind), "no {kind} inside the sealed frames: {kinds:?}");
    }
    let ways: Vec<&str> = cells(1).filter(|c| !c.is_empty()).collect();
    assert!(ways.contains(&"client to server") && ways.contains(&"server to client"), "{ways:?}");
    let sealed = kinds.iter().filter(|k| **k == "0x0c").count();
    assert_eq!(ways.len(), sealed, "every sealed frame opens: {lines:#?}");
    assert!(cells(2).any(|t| t == "the secret plan"), "{lines:#?}");
}

#[cfg(unix)]
#[test]
#[ignore = "needs tshark: .ci/run installs it and runs these with --ignored"]
fn a_capture_of_a_serial_conversation_decodes() {
    use minichat_tests::null_modem::NullModem;

    let cable = NullModem::new();
    let capture = scratch("serial.pcapng");
    let (mut server, addr) = Minichat::serve(&[
        "serve",
        "--plaintext",
        "--bind",
        "127.0.0.1:0",
        "--serial",
        &cable.a,
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let mut board = Minichat::spawn_with_stdin(&[
        "chat",
        "--plaintext",
        "--name",
        "mcu",
        "--serial",
        &cable.b,
        "--linger",
        "0",
    ]);
    server.stdout_line_containing("mcu joined from", WAIT);
    board.write_line("mcu is up");
    server.stdout_line_containing("mcu is up", WAIT);
    assert!(board.close_and_wait(WAIT).success());
    server.stdout_line_containing("mcu left", WAIT);
    server.interrupt();
    assert!(server.wait_exit(WAIT).success());
    let (kinds, problems) = kinds_and_problems(&capture, addr.port());
    assert!(problems.is_empty(), "{problems:?}");
    for kind in ["0x01", "0x02", "0x03", "0x10", "0x14", "0x04"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    let links =
        tshark(&capture, addr.port(), &["minichat_stream.link_name", "minichat_stream.check_good"]);
    assert!(
        links.iter().all(|l| *l == format!("{}|1", cable.a) || *l == format!("{}|True", cable.a)),
        "{links:?}"
    );
}
