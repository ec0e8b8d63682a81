//! A real MQTT broker for the bridge's tests: `mosquitto` (Debian's package, installed by
//! `.ci/run`) on a free loopback port, as a child process, stopped when dropped; open to
//! anyone, or with its own protections (a password file, an ACL, a TLS listener with a
//! certificate the test makes).
//!
//! Clients reach it through a relay on a port the test holds for the broker's whole life
//! ([`CuttableLink`]): mosquitto itself cannot be told to take any free port, so each of its
//! starts asks the system for one, and starts again on another if some other program took
//! it meanwhile. A restart never hands the clients' port to anyone else.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cuttable::CuttableLink;

/// How long a broker may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// How many ports a start tries before it gives up.
const START_ATTEMPTS: usize = 5;

/// A running broker.
#[derive(Debug)]
pub struct Broker {
    child: Option<Child>,
    /// The port clients connect to: the relay's, the same across restarts.
    port: u16,
    front: CuttableLink,
    /// Its configuration but the listener, and the files it names.
    config: String,
    dir: PathBuf,
    tls: bool,
}

/// A broker's own protections.
#[derive(Debug, Default, Clone)]
pub struct Protections {
    /// Users and their passwords: with any, anonymous clients are refused.
    pub users: Vec<(String, String)>,
    /// The ACL file's text (mosquitto's `acl_file`).
    pub acl: Option<String>,
    /// TLS only, with a certificate for 127.0.0.1 signed by an authority made for the test
    /// ([`Broker::ca`]). Linux only: the tests run there, and the certificates come from
    /// rcgen, which other platforms' type-checks leave out.
    #[cfg(target_os = "linux")]
    pub tls: bool,
}

impl Broker {
    /// Starts a broker open to anyone on a free port of 127.0.0.1.
    pub fn start() -> Broker {
        Broker::start_with(&Protections::default())
    }

    /// Starts a broker with `protections` on a free port of 127.0.0.1.
    pub fn start_with(protections: &Protections) -> Broker {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("minichat-mosquitto-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the broker's directory");
        let mut config = String::new();
        #[cfg(unix)]
        if nix::unistd::getuid().is_root() {
            // Else mosquitto, started as root, reads its files as the user `mosquitto`.
            config.push_str("user root\n");
        }
        if protections.users.is_empty() {
            config.push_str("allow_anonymous true\n");
        } else {
            let passwords = dir.join("passwords");
            for (i, (user, password)) in protections.users.iter().enumerate() {
                let mut passwd = Command::new("mosquitto_passwd");
                passwd.arg("-b");
                if i == 0 {
                    passwd.arg("-c");
                }
                let status = passwd
                    .arg(&passwords)
                    .args([user, password])
                    .status()
                    .expect("mosquitto_passwd runs (Debian's mosquitto package)");
                assert!(status.success(), "mosquitto_passwd failed");
            }
            config.push_str(&format!(
                "allow_anonymous false\npassword_file {}\n",
                passwords.display()
            ));
        }
        if let Some(acl) = &protections.acl {
            let path = dir.join("acl");
            std::fs::write(&path, acl).expect("the ACL is written");
            config.push_str(&format!("acl_file {}\n", path.display()));
        }
        #[cfg(target_os = "linux")]
        let tls = protections.tls;
        #[cfg(not(target_os = "linux"))]
        let tls = false;
        #[cfg(target_os = "linux")]
        if tls {
            config.push_str(&tls_listener(&dir));
        }
        // Until the broker runs, the relay leads nowhere: connections hang up at once.
        let front = CuttableLink::to(SocketAddr::from(([127, 0, 0, 1], 0)));
        let port = front.port();
        let mut broker = Broker { child: None, port, front, config, dir, tls };
        broker.restart();
        broker
    }

    /// The authority that signed a TLS broker's certificate (PEM), for `--bridge-ca`.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The URL servers bridge through, with a topic prefix of the test's own.
    pub fn url(&self, prefix: &str) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        format!("{scheme}://127.0.0.1:{}/{prefix}", self.port)
    }

    /// The same URL with a user name.
    pub fn url_as(&self, user: &str, prefix: &str) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        format!("{scheme}://{user}@127.0.0.1:{}/{prefix}", self.port)
    }

    /// Stops the broker (everything it held is gone: it keeps no persistence).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again (with nothing kept) behind the same port, once it listens.
    pub fn restart(&mut self) {
        self.stop();
        let program = ["mosquitto", "/usr/sbin/mosquitto"]
            .into_iter()
            .find(|p| which(p))
            .unwrap_or("mosquitto");
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            // Asked of the system and released at once: another program may take it
            // before mosquitto does, and then mosquitto says so and this tries another.
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .map(|addr| addr.port())
                .expect("a free port");
            let config = format!("listener {port} 127.0.0.1\n{}", self.config);
            std::fs::write(self.dir.join("mosquitto.conf"), config)
                .expect("the broker's configuration is written");
            let mut child = Command::new(program)
                .arg("-c")
                .arg(self.dir.join("mosquitto.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("mosquitto runs (install Debian's mosquitto package, as .ci/run does)");
            match running(&mut child) {
                Ok(()) => {
                    self.child = Some(child);
                    self.front.retarget(SocketAddr::from(([127, 0, 0, 1], port)));
                    return;
                }
                Err(log) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    failures.push(log);
                }
            }
        }
        panic!("mosquitto did not start in {START_ATTEMPTS} tries: {failures:#?}");
    }
}

/// Waits until mosquitto says it runs (it listens then), with what it logged if it does
/// not within [`READY_WITHIN`]. Its log is read to its end on a thread, so it never
/// blocks on a full pipe.
fn running(child: &mut Child) -> Result<(), Vec<String>> {
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            // Once nobody listens, the rest is read and dropped.
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + READY_WITHIN;
    let mut log = Vec::new();
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains(" running") => return Ok(()),
            Ok(line) => log.push(line),
            Err(_) => return Err(log),
        }
    }
}

/// Everything published under a prefix, as someone who reads the broker sees it.
pub struct Watcher {
    seen: std::sync::mpsc::Receiver<(String, Vec<u8>)>,
    client: rumqttc::Client,
}

impl Broker {
    /// Subscribes to every topic under `prefix`, and waits until the broker confirmed it.
    pub fn watch(&self, prefix: &str) -> Watcher {
        let mut options = rumqttc::MqttOptions::new(
            format!("watcher-{}-{prefix}", std::process::id()),
            "127.0.0.1",
            self.port,
        );
        options.set_keep_alive(Duration::from_secs(5));
        let (client, mut connection) = rumqttc::Client::new(options, 64);
        client.subscribe(format!("{prefix}/#"), rumqttc::QoS::AtLeastOnce).expect("subscribe");
        let (tx, seen) = std::sync::mpsc::channel();
        let (subscribed, is_subscribed) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                        let _ = subscribed.send(());
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish))) => {
                        if tx.send((publish.topic, publish.payload.to_vec())).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
        is_subscribed.recv_timeout(READY_WITHIN).expect("the watcher subscribed");
        Watcher { seen, client }
    }
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

impl Watcher {
    /// What was published so far: topic and payload of each message.
    pub fn seen(&self) -> Vec<(String, Vec<u8>)> {
        self.seen.try_iter().collect()
    }

    /// What was published until nothing more came for `quiet` (at most `limit` in all):
    /// an exchange that has run its course.
    pub fn seen_until_quiet(&self, quiet: Duration, limit: Duration) -> Vec<(String, Vec<u8>)> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        while let Ok(message) =
            self.seen.recv_timeout(quiet.min(deadline.saturating_duration_since(Instant::now())))
        {
            seen.push(message);
        }
        seen
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
    }
}

/// `minichat serve` bridged through `url` with `extra` arguments, once it says it is
/// connected: the server, its address, and that line (which names its server id and
/// whether the bridge is sealed).
pub fn serve_bridged(url: &str, extra: &[&str]) -> (crate::process::Minichat, String, String) {
    let mut args = vec!["serve", "--bind", "127.0.0.1:0", "--bridge", url];
    args.extend_from_slice(extra);
    let (mut server, addr) = crate::process::Minichat::serve_with_stdin(&args);
    let connected = server.stderr_line_containing("bridge: connected to", Duration::from_secs(30));
    (server, addr.to_string(), connected)
}

/// Whether `mosquitto` is installed here.
pub fn mosquitto_installed() -> bool {
    ["mosquitto", "/usr/sbin/mosquitto"].into_iter().any(which)
}

fn which(program: &str) -> bool {
    Command::new(program).arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The configuration of a TLS listener, with an authority and a certificate for 127.0.0.1
/// it signed written into `dir`.
#[cfg(target_os = "linux")]
fn tls_listener(dir: &std::path::Path) -> String {
    let (ca, certificate, key) = certificates();
    for (name, pem) in [("ca.pem", ca), ("server.pem", certificate), ("server.key", key)] {
        std::fs::write(dir.join(name), pem).expect("a certificate is written");
    }
    format!(
        "cafile {}\ncertfile {}\nkeyfile {}\n",
        dir.join("ca.pem").display(),
        dir.join("server.pem").display(),
        dir.join("server.key").display()
    )
}

/// An authority, and a certificate for 127.0.0.1 it signed with its key: PEM each.
#[cfg(target_os = "linux")]
fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("a key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("the authority's certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("a key");
    let certificate = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .and_then(|params| params.signed_by(&key, &issuer))
        .expect("the broker's certificate");
    (ca.pem(), certificate.pem(), key.serialize_pem())
}

/// A client of the broker that publishes what a test says (an attacker's, or a recording's
/// replay): MQTT 3.1.1, taking packets of any size.
pub struct Publisher {
    client: rumqttc::Client,
    acks: std::sync::mpsc::Receiver<()>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Broker {
    /// Connects as `user` (with its password), or anonymously; `Err` with the broker's
    /// refusal if it does not let the client in.
    pub fn publisher(&self, user: Option<(&str, &str)>) -> Result<Publisher, String> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut options = rumqttc::MqttOptions::new(
            format!("publisher-{}-{n}", std::process::id()),
            "127.0.0.1",
            self.port,
        );
        options.set_keep_alive(Duration::from_secs(5));
        options.set_max_packet_size(1 << 24, 1 << 24);
        if let Some((user, password)) = user {
            options.set_credentials(user, password);
        }
        let (client, mut connection) = rumqttc::Client::new(options, 64);
        let (connected, is_connected) = std::sync::mpsc::channel();
        let (acked, acks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        let _ = connected.send(Ok(()));
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                        let _ = acked.send(());
                    }
                    Ok(_) => {}
                    Err(error) => {
                        let _ = connected.send(Err(error.to_string()));
                        return;
                    }
                }
            }
        });
        is_connected.recv_timeout(READY_WITHIN).map_err(|e| e.to_string())??;
        Ok(Publisher { client, acks })
    }
}

impl Publisher {
    /// Publishes `payload` on `topic` (QoS 1), and waits until the broker took it.
    pub fn publish(&self, topic: &str, payload: &[u8]) {
        self.client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload.to_vec())
            .expect("the publisher's queue takes it");
        self.acks.recv_timeout(READY_WITHIN).expect("the broker acknowledged the publish");
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
    }
}
