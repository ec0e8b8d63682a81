//! The core's examples, run as a firmware author runs them: against a real `minichat
//! serve`, each within a deadline, each joining as `mcu` and saying hi; the server's own
//! output shows the join (over which link) and the delivery.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use minichat_tests::process::Minichat;

const WAIT: Duration = Duration::from_secs(10);

/// The example's program: `cargo test --workspace` builds it beside the tests
/// (`target/<profile>/examples/`); a test run alone builds it here, with `features`.
fn example(name: &str, features: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let program =
        profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !program.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "minichat-core", "--features", features])
            .args(["--example", name])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the example {name} failed");
    }
    assert!(program.exists(), "{} was not built", program.display());
    program
}

/// Runs `program` with its one argument `arg` to its end, at most 30 s (the examples give
/// up after 10).
fn run(program: PathBuf, arg: &str) -> Output {
    let mut child = Command::new(program)
        .arg(arg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("the example's status").is_none() {
        if Instant::now() > deadline {
            child.kill().expect("the example is stopped");
            panic!("the example ran past 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the example's output")
}

/// The example ran to success, saying it joined and its hi was delivered; the server saw
/// `mcu` join from a peer whose name starts with `from` and say hi.
fn joined_and_said_hi(output: &Output, server: &mut Minichat, from: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the example failed: {output:?}");
    assert!(stdout.contains("Joined"), "{stdout}");
    assert!(stdout.contains("Delivered"), "{stdout}");
    let joined = server.stdout_line_containing("mcu joined from", WAIT);
    assert!(joined.contains(&format!("mcu joined from {from}")), "{joined}");
    assert_eq!(server.stdout_line_containing("mcu: ", WAIT), "mcu: hi");
}

#[test]
fn udp_std_joins_and_says_hi() {
    let (mut server, addr) =
        Minichat::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0", "--history", "0"]);
    let output = run(example("udp_std", "std"), &addr.to_string());
    joined_and_said_hi(&output, &mut server, "127.0.0.1:");
}

#[test]
fn udp_std_says_why_a_server_refuses_it() {
    // Without --plaintext the server takes encrypted sessions only.
    let (_server, addr) = Minichat::serve(&["serve", "--bind", "127.0.0.1:0"]);
    let output = run(example("udp_std", "std"), &addr.to_string());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the example succeeded: {output:?}");
    assert!(stderr.contains("encrypted sessions only"), "{stderr}");
}

/// smoltcp's interface on the example's stand-in network device, whose link has this
/// computer at 10.0.2.2: real UDP datagrams from smoltcp's packets reach the server.
#[test]
fn udp_smoltcp_joins_and_says_hi() {
    let (mut server, addr) =
        Minichat::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0", "--history", "0"]);
    let board_sees = format!("10.0.2.2:{}", addr.port());
    let output = run(example("udp_smoltcp", "smoltcp"), &board_sees);
    joined_and_said_hi(&output, &mut server, "127.0.0.1:");
}

/// The serial example with TCP for its line: `serve --tcp` frames a connection as a
/// serial line.
#[test]
fn serial_joins_and_says_hi_over_tcp() {
    let (mut server, addr) = Minichat::serve(&[
        "serve",
        "--plaintext",
        "--tcp",
        "--bind",
        "127.0.0.1:0",
        "--history",
        "0",
    ]);
    let output = run(example("serial", "embedded-hal-nb"), &addr.to_string());
    joined_and_said_hi(&output, &mut server, "tcp:127.0.0.1:");
}

/// The serial example on one end of a null-modem cable of pseudo-terminals, `serve
/// --serial` on the other.
#[cfg(unix)]
#[test]
fn serial_joins_and_says_hi_over_a_serial_line() {
    let cable = minichat_tests::null_modem::NullModem::new();
    let (mut server, _) = Minichat::serve(&[
        "serve",
        "--plaintext",
        "--serial",
        &cable.a,
        "--bind",
        "127.0.0.1:0",
        "--history",
        "0",
    ]);
    let output = run(example("serial", "embedded-hal-nb"), &cable.b);
    joined_and_said_hi(&output, &mut server, &format!("serial:{}", cable.a));
}
