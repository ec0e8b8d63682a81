//! A real MQTT broker for the bridge's tests: `mosquitto` (Debian's package, installed by
//! `.ci/run`) on a free loopback port, as a child process, stopped when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a broker may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running broker.
#[derive(Debug)]
pub struct Broker {
    child: Option<Child>,
    port: u16,
    config: PathBuf,
}

impl Broker {
    /// Starts a broker on a free port of 127.0.0.1.
    pub fn start() -> Broker {
        // Asked of the system and released at once; another process taking it in between
        // would make the broker fail to start, which `wait_ready` reports.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .expect("a free port");
        let config = std::env::temp_dir()
            .join(format!("minichat-mosquitto-{}-{port}.conf", std::process::id()));
        std::fs::write(&config, format!("listener {port} 127.0.0.1\nallow_anonymous true\n"))
            .expect("the broker's configuration is written");
        let mut broker = Broker { child: None, port, config };
        broker.restart();
        broker
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The URL servers bridge through, with a topic prefix of the test's own.
    pub fn url(&self, prefix: &str) -> String {
        format!("mqtt://127.0.0.1:{}/{prefix}", self.port)
    }

    /// Stops the broker (everything it held is gone: it keeps no persistence).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let program = ["mosquitto", "/usr/sbin/mosquitto"]
            .into_iter()
            .find(|p| which(p))
            .unwrap_or("mosquitto");
        let child = Command::new(program)
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto runs (install Debian's mosquitto package, as .ci/run does)");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + READY_WITHIN;
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("mosquitto exited ({status}) instead of listening on {addr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("mosquitto did not listen on {addr} within {READY_WITHIN:?}");
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
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
    }
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
        let _ = std::fs::remove_file(&self.config);
    }
}
