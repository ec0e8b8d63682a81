//! The QEMU firmware (`firmware/qemu`) as a test runs it: built once per test process,
//! booted on QEMU's lm3s6965evb with its UARTs on given serial devices, and stopped when
//! the test is done. Needs `qemu-system-arm` and the `thumbv7m-none-eabi` target (`.ci/run`
//! installs both).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The firmware program `name` (`qemu-chat`, `qemu-server`), built in release mode.
pub fn firmware(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/qemu");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--release"])
            .current_dir(&root)
            .env_remove("RUSTFLAGS")
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the QEMU firmware failed");
        root.join("target/thumbv7m-none-eabi/release")
    });
    let path = dir.join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A running emulator, stopped when dropped.
#[derive(Debug)]
pub struct Qemu {
    child: Child,
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
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu-system-arm starts (install it: apt-get install qemu-system-arm)");
        Qemu { child }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
