//! The peer baseline of the bridged relay: the same relay through an MQTT broker alone.
//! CLIENTS MQTT clients (rumqttc) subscribe to one topic and publish to it at QoS 1, each
//! keeping WINDOW publishes unacknowledged by the broker (as a minichat client keeps
//! WINDOW messages unacknowledged by its server), with the same stamped payload; a
//! delivery is a client receiving another's message.

use std::net::SocketAddr;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Outgoing, Packet, QoS};

use crate::cmd::bench::cpu::CpuProbe;
use crate::cmd::bench::load::{LoadConfig, Outcome, Phase, Window, read_stamp, stamp};

const TOPIC: &str = "minichat-bench/room";

/// What a client's connection thread reports.
enum Heard {
    /// The broker acknowledged one of its publishes.
    Acked(usize),
    /// It received a message: (receiver, payload).
    Message(usize, Vec<u8>),
    /// Subscribed (its subscription is in place).
    Ready,
    Failed(String),
}

struct Peer {
    client: Client,
    in_flight: usize,
    next_seq: u64,
}

/// Drives the broker at `broker` with `config`; `cpu` reads the broker's CPU time.
pub(crate) fn run(
    broker: SocketAddr,
    config: &LoadConfig,
    cpu: CpuProbe,
    progress: &mut dyn FnMut(u64),
) -> std::io::Result<Outcome> {
    let (heard, hearing) = channel();
    let mut peers = Vec::with_capacity(config.clients);
    for i in 0..config.clients {
        peers.push(connect(broker, i, config.window, heard.clone())?);
    }
    drop(heard);
    // Everyone subscribed before the clock starts.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut ready = 0;
    while ready < peers.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match hearing.recv_timeout(left) {
            Ok(Heard::Ready) => ready += 1,
            Ok(Heard::Failed(why)) => return Err(std::io::Error::other(why)),
            Ok(_) => {}
            Err(_) => return Err(std::io::Error::other("the MQTT clients could not subscribe")),
        }
    }
    // No minichat server here: the broker's CPU is reported as such.
    let mut window = Window::new(config, CpuProbe::None).with_broker(cpu);
    let mut outcome = Outcome::default();
    let mut text = String::with_capacity(config.size);
    let mut last_progress = Instant::now();
    loop {
        let phase = window.phase();
        if phase == Phase::Done {
            break;
        }
        for (i, peer) in peers.iter_mut().enumerate() {
            while peer.in_flight < config.window {
                stamp(&mut text, i, peer.next_seq, window.micros(), config.size);
                if peer.client.try_publish(TOPIC, QoS::AtLeastOnce, false, text.clone()).is_err() {
                    break;
                }
                peer.in_flight += 1;
                peer.next_seq += 1;
            }
        }
        take(&hearing, &mut peers, &window, phase, &mut outcome)?;
        if last_progress.elapsed() > Duration::from_millis(10) {
            progress(window.progress());
            last_progress = Instant::now();
        }
    }
    window.finish(&mut outcome);
    for peer in &peers {
        let _ = peer.client.try_disconnect();
    }
    Ok(outcome)
}

/// Waits a little for what the connections heard, and takes all of it.
fn take(
    hearing: &Receiver<Heard>,
    peers: &mut [Peer],
    window: &Window,
    phase: Phase,
    outcome: &mut Outcome,
) -> std::io::Result<()> {
    let mut next = hearing.recv_timeout(Duration::from_millis(5)).ok();
    while let Some(heard) = next.take() {
        next = hearing.try_recv().ok();
        match heard {
            Heard::Acked(i) => {
                if let Some(peer) = peers.get_mut(i) {
                    peer.in_flight = peer.in_flight.saturating_sub(1);
                }
            }
            Heard::Message(receiver, payload) => {
                let Some((sender, _, sent)) = read_stamp(&payload) else { continue };
                if sender != receiver && phase == Phase::Measure {
                    outcome.messages += 1;
                    let latency = window.micros().saturating_sub(sent);
                    outcome.latencies_us.push(u32::try_from(latency).unwrap_or(u32::MAX));
                }
            }
            Heard::Ready => {}
            Heard::Failed(why) => return Err(std::io::Error::other(why)),
        }
    }
    Ok(())
}

/// Client `i`, its connection driven on a thread of its own.
fn connect(
    broker: SocketAddr,
    i: usize,
    window: usize,
    heard: Sender<Heard>,
) -> std::io::Result<Peer> {
    let id = format!("minichat-bench-{}-{i}", std::process::id());
    let mut options = MqttOptions::new(id, broker.ip().to_string(), broker.port());
    options.set_keep_alive(Duration::from_secs(30));
    options.set_inflight(u16::try_from(window.max(1)).unwrap_or(u16::MAX));
    let (client, mut connection) = Client::new(options, window.max(1) * 2);
    client
        .try_subscribe(TOPIC, QoS::AtLeastOnce)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::thread::Builder::new().name(format!("mqtt bench {i}")).spawn(move || {
        for event in connection.iter() {
            let report = match event {
                Ok(Event::Incoming(Packet::PubAck(_))) => Heard::Acked(i),
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    Heard::Message(i, publish.payload.to_vec())
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => Heard::Ready,
                Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
                Ok(_) => continue,
                Err(error) => Heard::Failed(format!("MQTT client {i}: {error}")),
            };
            let failed = matches!(report, Heard::Failed(_));
            if heard.send(report).is_err() || failed {
                return;
            }
        }
    })?;
    Ok(Peer { client, in_flight: 0, next_seq: 0 })
}
