//! The servers `minichat bench` measures, each started on its own and stopped after: the
//! bare std UDP echo loop (benchmark-only reference code), `minichat echo`, the chat
//! server, and the Python originals.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::thread::JoinHandle;
use std::time::Duration;

use minichat_core::ConfigError;
use minichat_core::secure::Keypair;
use minichat_core::server::{Alone, ServerConfig, ServerIdentity};
use minichat_core::wire::EchoMode;

use crate::cmd::bench::cpu::CpuProbe;
use crate::cmd::echo::{EchoConfig, EchoLoop};
use crate::error::HostError;
use crate::net::capture::Capture;
use crate::net::server_loop::{Listen, ServerLoop};
use crate::net::server_memory::DEFAULT_BUFFER;

/// How often a stopped server notices.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// A server under test.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    pub(crate) cpu: CpuProbe,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    child: Option<Child>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("addr", &self.addr).finish()
    }
}

impl Running {
    /// Stops the server and waits for it.
    pub(crate) fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Runs `body` on a named thread that reports its CPU probe and address, and stops when
/// the flag is set.
fn spawn_thread(
    name: &'static str,
    stack: usize,
    body: impl FnOnce(&dyn Fn(SocketAddr), Arc<AtomicBool>) -> Result<(), HostError> + Send + 'static,
) -> Result<Running, HostError> {
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = channel();
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name(name.into())
        .stack_size(stack)
        .spawn(move || {
            let probe = CpuProbe::this_thread();
            let ready_tx = tx.clone();
            let ready = move |addr: SocketAddr| {
                let _ = ready_tx.send(Ok((addr, probe)));
            };
            if let Err(error) = body(&ready, flag) {
                let _ = tx.send(Err(error));
            }
        })
        .map_err(HostError::Thread)?;
    let (addr, cpu) = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| HostError::NotStarted { name, why: "no address within 10 s".into() })??;
    Ok(Running { addr, cpu, stop, thread: Some(thread), child: None })
}

/// The reference: a blocking `recv_from` / `send_to` loop on a std socket, replying
/// upper-cased — the plainest correct UDP echo server Rust has.
pub(crate) fn bare_loop() -> Result<Running, HostError> {
    spawn_thread("bare echo loop", 1 << 20, |ready, stop| {
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(HostError::Poll)?;
        socket.set_read_timeout(Some(STOP_CHECK)).map_err(HostError::Poll)?;
        ready(socket.local_addr().map_err(HostError::Poll)?);
        let mut buf = [0u8; 65_536];
        while !stop.load(Ordering::Relaxed) {
            let Ok((len, peer)) = socket.recv_from(&mut buf) else { continue };
            if let Some(data) = buf.get_mut(..len) {
                data.make_ascii_uppercase();
                let _ = socket.send_to(data, peer);
            }
        }
        Ok(())
    })
}

/// `minichat echo --upper`, batched, on its own thread.
pub(crate) fn minichat_echo() -> Result<Running, HostError> {
    spawn_thread("minichat echo", 8 << 20, |ready, stop| {
        let config = EchoConfig {
            mode: EchoMode::Upper,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            tcp: false,
        };
        let mut service = EchoLoop::bind(config)?;
        ready(service.addr);
        while !stop.load(Ordering::Relaxed) {
            service.turn(Some(STOP_CHECK))?;
        }
        Ok(())
    })
}

/// The chat server for `users`, quiet, without a rate limit or a per-address limit (every
/// load client comes from 127.0.0.1), moving `batch` datagrams per system call; with
/// `capture`, writing everything to a capture file in the temporary directory (removed
/// when the server stops); with `identity`, taking encrypted sessions only.
pub(crate) fn chat_server(
    users: usize,
    batch: usize,
    capture: bool,
    identity: Option<Keypair>,
) -> Result<Running, HostError> {
    spawn_thread("chat server", 8 << 20, move |ready, stop| {
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).map_err(HostError::Random)?;
        let mut config = ServerConfig::new(secret, getrandom::u64().map_err(HostError::Random)?);
        let settings = |config: &mut ServerConfig| -> Result<(), ConfigError> {
            config.set_capacity(users)?.set_rate_per_sec(0)?.set_per_ip(0)?.set_history(0)?;
            // Every load client joins from one address at once: the relay is measured, not
            // the handshake budget.
            config.set_handshakes_per_sec(0)?;
            Ok(())
        };
        settings(&mut config).map_err(HostError::ServerConfig)?;
        let listen =
            Listen { bind: SocketAddr::from(([127, 0, 0, 1], 0)), tcp: false, serial: Vec::new() };
        let mut net = ServerLoop::bind(&listen, config, DEFAULT_BUFFER)?;
        net.set_batch(batch);
        if let Some(keypair) = identity {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(HostError::Random)?;
            net.server.set_identity(ServerIdentity { keypair, psk: None, plaintext: false }, seed);
        }
        let path = std::env::temp_dir().join(format!(
            "minichat-bench-{}-{}.pcapng",
            std::process::id(),
            net.addr().port()
        ));
        if capture {
            let capture = Capture::create(&path)
                .map_err(|source| HostError::Capture { path: path.clone(), source })?;
            net.set_capture(capture);
        }
        ready(net.addr());
        while !stop.load(Ordering::Relaxed) {
            let more = net.turn(&mut |_, _| {}, &Alone)?;
            while net.server.poll_event().is_some() {}
            if !more {
                net.wait(STOP_CHECK)?;
            }
        }
        if let Some(capture) = net.take_capture() {
            let dropped = capture
                .finish()
                .map_err(|source| HostError::Capture { path: path.clone(), source })?;
            if dropped > 0 {
                tracing::warn!(dropped, "the bench's capture dropped records");
            }
            let _ = std::fs::remove_file(&path);
        }
        Ok(())
    })
}

/// The tutorial's plain UDP server: `recvfrom(1024)`, reply `data.upper()`.
const PYTHON_PLAIN: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    data, addr = s.recvfrom(1024)
    s.sendto(data.upper(), addr)
"#;

/// The tutorial's threaded server: `socketserver.ThreadingUDPServer`, reply `data.lower()`.
const PYTHON_THREADING: &str = r#"
import socketserver, sys
class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data.lower(), self.client_address)
server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// Whether `python3` runs here.
pub(crate) fn python_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn python(script: &str) -> Result<Running, HostError> {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| HostError::Spawn { program: "python3", source })?;
    let not_started = |why: String| HostError::NotStarted { name: "Python original", why };
    let stdout =
        child.stdout.take().ok_or_else(|| not_started("its output is not piped".into()))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| not_started(e.to_string()))?;
    let port: u16 =
        line.trim().parse().map_err(|_| not_started(format!("it printed {line:?}, not a port")))?;
    Ok(Running {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        cpu: CpuProbe::Process(child.id()),
        stop: Arc::new(AtomicBool::new(false)),
        thread: None,
        child: Some(child),
    })
}

/// `minichat serve` itself, as a process of its own, for `capacity` users: quiet, without a
/// rate limit or a per-address limit (the load's clients all come from 127.0.0.1).
pub(crate) fn serve_process(capacity: usize) -> Result<Running, HostError> {
    serve_process_with(capacity, None, &[])
}

/// [`serve_process`] with `extra` arguments (`--handshake-rate 0`, say).
pub(crate) fn serve_process_args(capacity: usize, extra: &[&str]) -> Result<Running, HostError> {
    serve_process_with(capacity, None, extra)
}

/// [`serve_process`] bridged through the broker at `bridge` (a URL), once it says it is
/// connected.
pub(crate) fn bridged_process(capacity: usize, bridge: &str) -> Result<Running, HostError> {
    serve_process_with(capacity, Some(bridge), &[])
}

fn serve_process_with(
    capacity: usize,
    bridge: Option<&str>,
    extra: &[&str],
) -> Result<Running, HostError> {
    let not_started = |why: String| HostError::NotStarted { name: "minichat serve", why };
    let exe = std::env::current_exe().map_err(|e| not_started(e.to_string()))?;
    let mut command = Command::new(exe);
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--quiet", "--per-ip", "0", "--rate", "0"])
        // The load's clients speak in the clear (the encrypted relay is measured apart).
        .arg("--plaintext")
        .args(["--capacity", &capacity.to_string()])
        .args(extra);
    if let Some(url) = bridge {
        // The bench's own broker, on loopback, for its own servers.
        command.args(["--bridge", url, "--anyone-on-the-broker-may-speak-for-users"]);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if bridge.is_some() { Stdio::piped() } else { Stdio::null() })
        .spawn()
        .map_err(|source| HostError::Spawn { program: "minichat serve", source })?;
    if let Some(stderr) = child.stderr.take() {
        // Its notices, until it says the bridge is up; the rest is read and dropped, so
        // the pipe never fills.
        let (connected, is_connected) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("bridge: connected") {
                    let _ = connected.send(());
                }
            }
        });
        if is_connected.recv_timeout(Duration::from_secs(10)).is_err() {
            let _ = child.kill();
            return Err(not_started("its bridge did not connect within 10 s".into()));
        }
    }
    let stdout =
        child.stdout.take().ok_or_else(|| not_started("its output is not piped".into()))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| not_started(e.to_string()))?;
    // "minichat serve: listening on 127.0.0.1:PORT (udp), up to N users; ..."
    let addr = line
        .split_whitespace()
        .find_map(|word| word.parse::<SocketAddr>().ok())
        .ok_or_else(|| not_started(format!("it printed {line:?}, not its address")))?;
    Ok(Running {
        addr,
        cpu: CpuProbe::Process(child.id()),
        stop: Arc::new(AtomicBool::new(false)),
        thread: None,
        child: Some(child),
    })
}

/// Whether `mosquitto` can be started (Debian's package; `.ci/run` installs it).
pub(crate) fn mosquitto_available() -> bool {
    mosquitto_program().is_some()
}

fn mosquitto_program() -> Option<&'static str> {
    ["mosquitto", "/usr/sbin/mosquitto"].into_iter().find(|program| {
        Command::new(program).arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
    })
}

/// An MQTT broker, `mosquitto`, on a free port of 127.0.0.1 (its address is the TCP one).
pub(crate) fn mosquitto() -> Result<Running, HostError> {
    let not_started = |why: String| HostError::NotStarted { name: "mosquitto", why };
    let program = mosquitto_program().ok_or_else(|| not_started("it is not installed".into()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|e| not_started(e.to_string()))?
        .port();
    let config = std::env::temp_dir()
        .join(format!("minichat-bench-mosquitto-{}-{port}.conf", std::process::id()));
    std::fs::write(&config, format!("listener {port} 127.0.0.1\nallow_anonymous true\n"))
        .map_err(|e| not_started(e.to_string()))?;
    let mut child = Command::new(program)
        .arg("-c")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| HostError::Spawn { program: "mosquitto", source })?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            return Err(not_started(format!("it did not listen on {addr}")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_file(&config);
    Ok(Running {
        addr,
        cpu: CpuProbe::Process(child.id()),
        stop: Arc::new(AtomicBool::new(false)),
        thread: None,
        child: Some(child),
    })
}

/// The plain Python UDP echo server of the tutorial.
pub(crate) fn python_plain() -> Result<Running, HostError> {
    python(PYTHON_PLAIN)
}

/// The threaded Python UDP echo server of the tutorial.
pub(crate) fn python_threading() -> Result<Running, HostError> {
    python(PYTHON_THREADING)
}
