//! minichat on a microcontroller, for real: the firmware of `firmware/qemu` booted on
//! QEMU's lm3s6965evb, its UARTs joined to the host's `minichat` by serial lines (null-modem
//! cables between pseudo-terminals).
//!
//! These need `qemu-system-arm` and the `thumbv7m-none-eabi` target, which `.ci/run`
//! installs; they are ignored by a plain `cargo test` and run with
//! `cargo test -p minichat-tests --test qemu -- --ignored`.
#![cfg(unix)]

use std::path::PathBuf;
use std::time::Duration;

use minichat_core::secure::Keypair;
use minichat_core::wire::limits::MAX_SEALED_TEXT;
use minichat_tests::null_modem::NullModem;
use minichat_tests::process::Minichat;
use minichat_tests::qemu::{
    BOARD_PRIVATE_KEY, Qemu, firmware, ram_report_firmware, secure_firmware, small_frames_firmware,
    wrap_soon_firmware,
};

/// Generous: the emulator boots in well under a second, but CI machines are slow and the
/// firmware retries its join up to every 2 s.
const WAIT: Duration = Duration::from_secs(30);

#[test]
#[ignore = "needs qemu-system-arm; .ci/run runs it"]
fn the_microcontroller_joins_says_it_is_up_and_answers_in_upper_case() {
    let cable = NullModem::new();
    let (mut server, addr) = Minichat::serve(&plain_server(&cable, &[]));
    board_answers(&mut server, &addr.to_string(), &cable, &firmware("qemu-chat"), &[], "hello");
}

/// A host server that takes the board's client, which speaks in the clear, on `cable`
/// (the computers in the room do not), keeps no history, and takes `more` arguments.
fn plain_server<'a>(cable: &'a NullModem, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "serve",
        "--plaintext",
        "--bind",
        "127.0.0.1:0",
        "--serial",
        &cable.b,
        "--history",
        "0",
    ];
    args.extend_from_slice(more);
    args
}

/// More direct messages at once than the board's client holds (one message out, eight
/// events): the server's operator writes them in one go, and every one is answered, once,
/// in order, by a client that sends stop-and-wait.
#[test]
#[ignore = "needs qemu-system-arm; .ci/run runs it"]
fn a_burst_of_direct_messages_is_answered_in_full() {
    const BURST: usize = 20;
    let cable = NullModem::new();
    let (mut server, _addr) = Minichat::serve_with_stdin(&plain_server(&cable, &[]));
    let _board = Qemu::boot(&firmware("qemu-chat"), &[&cable.a]);
    // The operator's plain lines answer whoever wrote last: the board, once it is up.
    server.stdout_line_containing("mcu: mcu is up", WAIT);
    for i in 1..=BURST {
        server.write_line(&format!("burst {i}"));
    }
    for i in 1..=BURST {
        let answer = server.stdout_line_containing("mcu -> server:", WAIT);
        assert_eq!(answer, format!("mcu -> server: BURST {i}"));
    }
}

/// Issue 26: the board's client in 4 KiB of RAM, `.data` + `.bss` + the stack's high-water
/// mark, measured on the board (`--features ram-report`: the stack painted at reset, read
/// back after each direct message). After direct messages of different lengths, up to the
/// longest a computer in the room can send, the last report is the figure. The board
/// answers texts up to 256 B (its outbox), says when one is longer, and is told of one
/// longer than its 384-byte event arena as a loss, which it logs.
#[test]
#[ignore = "needs qemu-system-arm; .ci/run runs it"]
fn the_microcontroller_client_chats_in_4_kib_of_ram() {
    // Issue 26's budget (BENCHMARKS.md, "Firmware on QEMU", records the figure).
    const BUDGET: u32 = 4096;
    // The longest a computer can send: its session with the server is encrypted.
    let longest: String = "Ab".repeat(MAX_SEALED_TEXT).chars().take(MAX_SEALED_TEXT).collect();
    let answered = ["hi", "Hello, board: how much RAM?", &"Mid-length text ".repeat(16)];
    let too_long = "Too long to answer ".repeat(16);
    let not_answered = [
        (too_long.as_str(), "qemu-chat: too long to answer"),
        (longest.as_str(), "qemu-chat: missed messages"),
    ];
    let ram = ram_in_a_conversation(&ram_report_firmware("qemu-chat"), &answered, &not_answered);
    assert!(
        ram.total <= BUDGET,
        "qemu-chat uses {} B of RAM (static {} B, stack {} B), over issue 26's {BUDGET} B",
        ram.total,
        ram.statics,
        ram.stack,
    );
}

/// Issue 26: the board's client built for frames of 256 B in 2 KiB of RAM. Its join says
/// so: a text its frames cannot carry reaches it as a loss it is told of (the server never
/// sends it), and the conversation goes on.
#[test]
#[ignore = "needs qemu-system-arm; .ci/run runs it"]
fn the_microcontroller_client_with_256_byte_frames_chats_in_2_kib_of_ram() {
    const BUDGET: u32 = 2048;
    // 221 B: the longest text a 256-byte frame delivers; more than the board answers.
    let fits = "Fits the frame ".repeat(15).chars().take(221).collect::<String>();
    let answered = ["hi", "Hello, small board", &"Mid-length ".repeat(11)];
    let not_answered = [
        (fits.as_str(), "qemu-chat: too long to answer"),
        (&*"Longer than the board's frames ".repeat(20), "qemu-chat: missed messages"),
    ];
    let kernel = small_frames_firmware("qemu-chat");
    let ram = ram_in_a_conversation(&kernel, &answered, &not_answered);
    assert!(
        ram.total <= BUDGET,
        "qemu-chat for 256-byte frames uses {} B of RAM (static {} B, stack {} B), over \
         issue 26's {BUDGET} B",
        ram.total,
        ram.statics,
        ram.stack,
    );
}

/// Boots `kernel` (built with `ram-report`) beside a host server, has a computer send it
/// each of `answered` (which it must answer) and then each of `not_answered` (of which it
/// must log what is paired with it) as direct messages, and returns the RAM the board
/// reported last. The board reports after each direct message, so the last report covers
/// the whole conversation.
fn ram_in_a_conversation(
    kernel: &PathBuf,
    answered: &[&str],
    not_answered: &[(&str, &str)],
) -> Ram {
    let texts: Vec<&str> =
        answered.iter().copied().chain(not_answered.iter().map(|(t, _)| *t)).collect();
    let cable = NullModem::new();
    let (mut server, addr) = Minichat::serve(&plain_server(&cable, &[]));
    let mut board = Qemu::boot(kernel, &[&cable.a]);
    server.stdout_line_containing("mcu joined from", WAIT);
    let addr = addr.to_string();
    let mut tester = Minichat::spawn_with_stdin(&[
        "chat", "--name", "tester", "--server", &addr, "--linger", "3",
    ]);
    for text in &texts {
        tester.write_line(&format!("/to mcu {text}"));
    }
    let status = tester.close_and_wait(WAIT);
    assert!(status.success(), "tester: {status}, stderr {:?}", tester.stderr_so_far());
    let out = tester.stdout_after_exit(WAIT);
    for text in answered {
        let answer = format!("mcu (direct): {}", text.to_uppercase());
        assert!(out.contains(&answer), "no answer to a text of {} bytes: {out:?}", text.len());
    }

    // One report after each direct message; what the board said of those it could not
    // answer comes before their reports.
    let mut reports: Vec<Ram> = Vec::new();
    let mut said = Vec::new();
    while reports.len() < texts.len() {
        let line = board.log_line_containing("qemu-chat: ", WAIT);
        match line.strip_prefix("qemu-chat: RAM ") {
            Some(_) => reports.push(Ram::parse(&line)),
            None => said.push(line),
        }
    }
    for (_, told) in not_answered {
        assert!(said.iter().any(|line| line.contains(told)), "{told:?} not in {said:?}");
    }
    let (first, last) = (reports[0], reports[reports.len() - 1]);
    println!(
        "{}'s RAM after {} direct messages (the longest {} B): {} B (static {} B, stack {} \
         B); after the first: stack {} B",
        kernel.display(),
        texts.len(),
        texts.iter().map(|t| t.len()).max().unwrap_or(0),
        last.total,
        last.statics,
        last.stack,
        first.stack,
    );
    // The figures are what they say: the statics the same in every report (the linker's),
    // a stack that only deepens, and not past what a client could plausibly need.
    for ram in &reports {
        assert_eq!(ram.total, ram.statics + ram.stack, "{ram:?}");
        assert_eq!(ram.statics, first.statics, "{reports:?}");
        assert!(ram.statics > 0 && (1..16 * 1024).contains(&ram.stack), "{ram:?}");
    }
    assert!(reports.windows(2).all(|pair| pair[0].stack <= pair[1].stack), "{reports:?}");
    last
}

/// One report of the board's RAM: `qemu-chat: RAM <total> B (static <s> B, stack <k> B)`.
#[derive(Clone, Copy, Debug)]
struct Ram {
    total: u32,
    statics: u32,
    stack: u32,
}

impl Ram {
    fn parse(line: &str) -> Ram {
        let numbers: Vec<u32> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|word| !word.is_empty())
            .map(|digits| digits.parse().expect("a number"))
            .collect();
        let [total, statics, stack] = numbers[..] else { panic!("not a RAM report: {line:?}") };
        Ram { total, statics, stack }
    }
}

/// The core's clock is 32 bits of milliseconds and wraps every 49.7 days; a board's
/// millisecond counter wraps with it. This board's starts ten seconds before the wrap
/// (`wrap-soon`): it joins before, keeps its session through the wrap with keep-alives
/// every 2 s (the server drops a user silent for 6 s), says so 10 s after, and answers.
#[test]
#[ignore = "needs qemu-system-arm; .ci/run runs it"]
fn the_microcontroller_keeps_its_session_and_answers_after_its_clock_wraps() {
    let cable = NullModem::new();
    let (mut server, addr) = Minichat::serve(&plain_server(&cable, &["--keepalive", "2"]));
    let kernel = wrap_soon_firmware("qemu-chat");
    let wrapped = ["mcu: mcu's clock wrapped 10 s ago"];
    board_answers(&mut server, &addr.to_string(), &cable, &kernel, &wrapped, "after the wrap");
    // One session all along: the board was never dropped for silence and never re-joined.
    // (The console's other lines about mcu are its direct messages, "mcu -> …".)
    server.stdout_so_far();
    let about_mcu: Vec<&String> = server
        .stdout_seen()
        .iter()
        .filter(|line| line.starts_with("mcu ") && !line.contains(" -> "))
        .collect();
    assert_eq!(about_mcu.len(), 1, "{about_mcu:?}");
    assert!(about_mcu[0].starts_with("mcu joined from serial:"), "{about_mcu:?}");
}

/// Boots `kernel` (a `qemu-chat`) on `cable` in the room of `server` (at `addr`): someone
/// in the room sees it come up (and then the lines `before_asking`), and its answer to a
/// direct message `text` (the script: `printf '/to mcu hello\n' | minichat chat
/// --name tester --linger 3`) is the text upper-cased.
fn board_answers(
    server: &mut Minichat,
    addr: &str,
    cable: &NullModem,
    kernel: &PathBuf,
    before_asking: &[&str],
    text: &str,
) {
    let mut watcher = Minichat::spawn_with_stdin(&[
        "chat", "--name", "watcher", "--server", addr, "--linger", "0",
    ]);
    server.stdout_line_containing("watcher joined from", WAIT);
    let _board = Qemu::boot(kernel, &[&cable.a]);
    let joined = server.stdout_line_containing("mcu joined from", WAIT);
    assert!(joined.ends_with(&format!("serial:{}", cable.b)), "{joined}");
    assert_eq!(watcher.stdout_line_containing("is up", WAIT), "mcu: mcu is up");
    for line in before_asking {
        assert_eq!(&watcher.stdout_line_containing(line, WAIT), line);
    }
    let mut tester = Minichat::spawn_with_stdin(&[
        "chat", "--name", "tester", "--server", addr, "--linger", "3",
    ]);
    tester.write_line(&format!("/to mcu {text}"));
    assert!(tester.close_and_wait(WAIT).success());
    let out = tester.stdout_after_exit(WAIT);
    assert!(out.contains(&format!("mcu (direct): {}", text.to_uppercase())), "{out:?}");
    assert!(watcher.close_and_wait(WAIT).success());
}

#[test]
#[ignore = "needs qemu-system-arm; .ci/run runs it"]
fn two_computers_chat_through_the_microcontroller_server() {
    let BoardServer { _cables, _board, mut zero, mut one } =
        BoardServer::boot(&firmware("qemu-server"));
    one.write_line("hello from one");
    assert_eq!(zero.stdout_line_containing("hello", WAIT), "one: hello from one");
    zero.write_line("/to one psst");
    assert_eq!(one.stdout_line_containing("psst", WAIT), "zero (direct): psst");
    zero.write_line("/who");
    assert_eq!(zero.stdout_line_containing("users", WAIT), "users (2): zero, one");
    assert!(zero.close_and_wait(WAIT).success());
    assert!(one.close_and_wait(WAIT).success());
}

/// The board's server (`kernel`, a `qemu-server`) with a computer on each of its UARTs,
/// `zero` on UART0 and `one` on UART1, both joined. A test binds every field (the board
/// and the cables too, which stop when dropped), the cables first, so they go last.
struct BoardServer {
    _cables: (NullModem, NullModem),
    _board: Qemu,
    zero: Minichat,
    one: Minichat,
}

impl BoardServer {
    fn boot(kernel: &PathBuf) -> BoardServer {
        let (uart0, uart1) = (NullModem::new(), NullModem::new());
        let _board = Qemu::boot(kernel, &[&uart0.a, &uart1.a]);
        let zero = join_the_board("zero", &uart0);
        let one = join_the_board("one", &uart1);
        BoardServer { _cables: (uart0, uart1), _board, zero, one }
    }
}

/// `minichat chat` as `name` over the serial line `cable` to the board's server, which
/// speaks in the clear; returns once it has joined.
fn join_the_board(name: &str, cable: &NullModem) -> Minichat {
    let mut chat = Minichat::spawn_with_stdin(&[
        "chat",
        "--name",
        name,
        "--serial",
        &cable.b,
        "--linger",
        "0",
        "--plaintext",
    ]);
    chat.stderr_line_containing(&format!("joined as {name}"), WAIT);
    chat
}

/// The board's server through its clock's wrap (`wrap-soon`: it starts ten seconds
/// before, with keep-alives every 2 s and bursts of 2 messages at 1 a second): its
/// operator says so 10 s after, four messages sent at once all arrive (the rate limiter
/// refills after the wrap: with the old 64-bit core it did not, and the last two never
/// came), and a user who goes silent is dropped on time.
#[test]
#[ignore = "needs qemu-system-arm; .ci/run runs it"]
fn the_microcontroller_server_keeps_time_after_its_clock_wraps() {
    let BoardServer { _cables, _board, mut zero, mut one } =
        BoardServer::boot(&wrap_soon_firmware("qemu-server"));
    let wrapped = zero.stdout_line_containing("wrapped", WAIT);
    assert_eq!(wrapped, "server: the board's clock wrapped 10 s ago");
    for i in 1..=4 {
        one.write_line(&format!("after the wrap {i}"));
    }
    for i in 1..=4 {
        let line = zero.stdout_line_containing("after the wrap", WAIT);
        assert_eq!(line, format!("one: after the wrap {i}"));
    }
    // One goes silent (killed: no leave); the board drops it after 6 s of silence. Its
    // last keep-alive went at most 2 s before it was killed, so the drop comes 4 to 6 s
    // after (plus a poll's and an emulator's slack), neither early nor late.
    zero.write_line("/who");
    assert_eq!(zero.stdout_line_containing("users (", WAIT), "users (2): zero, one");
    one.kill();
    let killed = std::time::Instant::now();
    let deadline = killed + WAIT;
    loop {
        zero.write_line("/who");
        if zero.stdout_line_containing("users (", WAIT) == "users (1): zero" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "one was never dropped");
        std::thread::sleep(Duration::from_millis(200));
    }
    let took = killed.elapsed();
    assert!(
        (Duration::from_secs(3)..Duration::from_secs(12)).contains(&took),
        "one was dropped {took:?} after it went silent, not about 6 s"
    );
    assert!(zero.close_and_wait(WAIT).success());
}

/// The server key of the encrypted conversation with the board: fixed, so the firmware
/// that pins it is built once and kept.
const SERVER_PRIVATE_KEY: [u8; 32] = [0x5a; 32];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A server with the key in `key_file` on 127.0.0.1 and the serial line `cable.b`, with
/// `more` flags, its console on stdin.
fn secure_serve(
    key_file: &std::path::Path,
    cable: &NullModem,
    more: &[&str],
) -> (Minichat, std::net::SocketAddr) {
    let key = key_file.to_str().unwrap();
    let args = ["serve", "--key", key, "--bind", "127.0.0.1:0", "--serial", &cable.b];
    Minichat::serve_with_stdin(&[&args[..], more].concat())
}

/// A scratch directory for test `name` with the server's key file in it (its records go
/// beside it), and the secure board built to pin that server.
fn secure_setup(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;

    let dir = std::env::temp_dir().join(format!("minichat-qemu-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("server.key");
    std::fs::write(&key_file, hex(&SERVER_PRIVATE_KEY) + "\n").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let public = hex(Keypair::from_private(SERVER_PRIVATE_KEY).public());
    (dir, key_file, secure_firmware("qemu-chat", &public))
}

#[test]
#[ignore = "needs qemu-system-arm; .ci/run runs it"]
fn the_microcontroller_chats_in_an_encrypted_session_with_the_server_it_pins() {
    let (dir, key_file, kernel) = secure_setup("secure");
    let cable = NullModem::new();
    // No --plaintext: every session is encrypted, the board's too.
    let (mut server, addr) = secure_serve(&key_file, &cable, &["--history", "0"]);
    server.stdout_line_containing("sessions in the clear are refused", WAIT);
    board_answers(&mut server, &addr.to_string(), &cable, &kernel, &[], "secret hello");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The board proves its own key as it joins (issue 27): a server that lets in only listed
/// keys admits it while its line is there, cuts it off the moment the line is removed
/// (SIGHUP), and refuses it, with the reason, when it is not listed.
#[test]
#[ignore = "needs qemu-system-arm; .ci/run runs it"]
fn the_board_joins_with_its_own_key_only_while_its_operator_lists_it() {
    let (dir, key_file, kernel) = secure_setup("listed");
    let board_key = *Keypair::from_private(BOARD_PRIVATE_KEY).public();
    let list = dir.join("authorized_keys");
    std::fs::write(&list, format!("# the board\n{} mcu\n", hex(&board_key))).unwrap();
    let serve = |cable: &NullModem| {
        secure_serve(&key_file, cable, &["--authorized-keys", list.to_str().unwrap()])
    };
    let cable = NullModem::new();
    let (mut server, _) = serve(&cable);
    let mut board = Qemu::boot(&kernel, &[&cable.a]);
    server.stdout_line_containing("mcu joined from", WAIT);
    board.log_line_containing("qemu-chat: joined as mcu (encrypted)", WAIT);
    server.write_line("/who");
    let who = server.stdout_line_containing("users (1)", WAIT);
    let print = minichat_core::secure::fingerprint(&board_key);
    assert!(who.contains(&format!("key {}", print.as_str())), "{who}");
    // Its line removed: cut off at once.
    std::fs::write(&list, "# nobody\n").unwrap();
    server.hang_up();
    let notice = server.stderr_line_containing("SIGHUP", WAIT);
    assert!(notice.ends_with("ended the sessions of mcu"), "{notice}");
    board.log_line_containing("qemu-chat: the operator removed mcu", WAIT);
    drop(board);
    drop(server);
    // Not listed from the start: refused, and the board is told why.
    let cable = NullModem::new();
    let (_server, _) = serve(&cable);
    let mut board = Qemu::boot(&kernel, &[&cable.a]);
    board.log_line_containing(
        "qemu-chat: refused: this server lets in only the keys its operator listed",
        WAIT,
    );
    let _ = std::fs::remove_dir_all(&dir);
}
