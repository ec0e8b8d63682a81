//! The core's examples, run as a firmware author runs them: against a real `minichat
//! serve`, each within a deadline.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use minichat_tests::process::Minichat;

const WAIT: Duration = Duration::from_secs(10);

/// The example's program: `cargo test --workspace` builds it beside the tests
/// (`target/<profile>/examples/`); a test run alone builds it here.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let program =
        profile_dir.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !program.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "minichat-core", "--features", "std"])
            .args(["--example", name])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the example {name} failed");
    }
    assert!(program.exists(), "{} was not built", program.display());
    program
}

/// Runs `program` with `args` to its end, at most 30 s (the examples give up after 10).
fn run(program: PathBuf, args: &[String]) -> Output {
    let mut child = Command::new(program)
        .args(args)
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

#[test]
fn udp_std_joins_and_says_hi() {
    let (mut server, addr) =
        Minichat::serve(&["serve", "--plaintext", "--bind", "127.0.0.1:0", "--history", "0"]);
    let output = run(example("udp_std"), &[addr.to_string()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the example failed: {output:?}");
    assert!(stdout.contains("Joined"), "{stdout}");
    assert!(stdout.contains("Delivered"), "{stdout}");
    server.stdout_line_containing("mcu joined from", WAIT);
}

#[test]
fn udp_std_says_why_a_server_refuses_it() {
    // Without --plaintext the server takes encrypted sessions only.
    let (_server, addr) = Minichat::serve(&["serve", "--bind", "127.0.0.1:0"]);
    let output = run(example("udp_std"), &[addr.to_string()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the example succeeded: {output:?}");
    assert!(stderr.contains("encrypted sessions only"), "{stderr}");
}
