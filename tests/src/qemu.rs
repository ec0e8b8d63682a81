//! The QEMU firmware (`firmware/qemu`) as a test runs it: built once per test process,
//! booted on QEMU's lm3s6965evb with its UARTs on given serial devices, its log read, and
//! stopped when the test is done. Needs `qemu-system-arm` and the `thumbv7m-none-eabi`
//! target (`.ci/run` installs both).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The firmware program `name` (`qemu-chat`, `qemu-server`), built in release mode.
pub fn firmware(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    program(BUILT.get_or_init(|| build(None, None)), name)
}

/// The board's own private key in the secure build (MINICHAT_CLIENT_KEY): its joins prove
/// the key made from it.
pub const BOARD_PRIVATE_KEY: [u8; 32] = [0x6b; 32];

/// The firmware program `name` built with `--features client-keys` (encrypted sessions and
/// a key of its own; into `target/client-keys`), with
/// the server's public key `server_key` (64 hexadecimal digits) and the board's own key
/// ([`BOARD_PRIVATE_KEY`]) compiled in. One key per test process: the first call's.
pub fn secure_firmware(name: &str, server_key: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    program(BUILT.get_or_init(|| build(Some("client-keys"), Some(server_key))), name)
}

/// The firmware program `name` built with `--features wrap-soon` (into `target/wrap-soon`):
/// its clock starts ten seconds before it wraps.
pub fn wrap_soon_firmware(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    program(BUILT.get_or_init(|| build(Some("wrap-soon"), None)), name)
}

/// The firmware program `name` built with `--features ram-report` (into
/// `target/ram-report`): `qemu-chat` logs the RAM it has used after each direct message it
/// answers (read with [`Qemu::log_line_containing`]).
pub fn ram_report_firmware(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    program(BUILT.get_or_init(|| build(Some("ram-report"), None)), name)
}

/// The firmware for frames of 256 B (`small-frames`), with the RAM report.
pub fn small_frames_firmware(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    program(BUILT.get_or_init(|| build(Some("small-frames,ram-report"), None)), name)
}

fn program(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Builds the QEMU firmware, with `feature` (features separated by commas) into
/// `target/FEATURE` (`+` for each comma; where `.ci/run` and the README build `secure`
/// too), or without into `target`; returns where the programs are.
fn build(feature: Option<&str>, server_key: Option<&str>) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/qemu");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--quiet", "--release"])
        .current_dir(&root)
        .env_remove("RUSTFLAGS")
        .env_remove("MINICHAT_FLEET_KEY");
    if let Some(key) = server_key {
        command.env("MINICHAT_SERVER_KEY", key);
        // The board's own key, with the server's: its joins prove it.
        let private: String = BOARD_PRIVATE_KEY.iter().map(|b| format!("{b:02x}")).collect();
        command.env("MINICHAT_CLIENT_KEY", private);
    }
    let target = match feature {
        Some(feature) => {
            let dir = format!("target/{}", feature.replace(',', "+"));
            command.args(["--features", feature, "--target-dir", &dir]);
            root.join(dir)
        }
        None => root.join("target"),
    };
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building the QEMU firmware failed");
    target.join("thumbv7m-none-eabi/release")
}

/// A running emulator, stopped when dropped.
#[derive(Debug)]
pub struct Qemu {
    child: Child,
    /// The firmware's log (semihosting, on the emulator's stdout), line by line.
    log: Receiver<String>,
}

impl Qemu {
    /// Boots `kernel` with UART0, UART1, … on the serial devices `uarts`.
    pub fn boot(kernel: &PathBuf, uarts: &[&str]) -> Qemu {
        let mut command = Command::new("qemu-system-arm");
        command.args([
            "-cpu",
            "cortex-m3",
            "-machine",
            "lm3s6965evb",
            "-nographic",
            "-monitor",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
        ]);
        for uart in uarts {
            command.args(["-serial", uart]);
        }
        command.arg("-kernel").arg(kernel);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu-system-arm starts (install it: apt-get install qemu-system-arm)");
        // Read on a thread, so the emulator never waits on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, log) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Qemu { child, log }
    }

    /// Waits up to `timeout` for a line of the firmware's log containing `needle`; the
    /// lines before it are passed over for good.
    pub fn log_line_containing(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line from the board with {needle:?} within {timeout:?}"),
            }
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
