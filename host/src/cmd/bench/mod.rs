//! `minichat bench`: a load generator that speaks the protocol, and the baselines it is
//! measured against in the same run — a bare std UDP echo loop, `minichat echo`, and the
//! Python originals — reported side by side, as ratios.

mod chat;
mod cpu;
mod flood;
mod idle;
mod load;
mod mqtt;
mod raw;
mod report;
mod scale;
mod servers;
mod targets;

use std::borrow::Cow;
use std::io::IsTerminal;
use std::net::SocketAddr;

use indicatif::{ProgressBar, ProgressStyle};
use minichat_core::secure::Keypair;

use crate::cmd::bench::chat::{Encryption, Mode};
use crate::cmd::bench::cpu::CpuProbe;
use crate::cmd::bench::idle::IdleUsers;
use crate::cmd::bench::load::{Outcome, STAMP_LEN};
use crate::cmd::bench::report::{Report, Row};
use crate::error::HostError;

pub(crate) use load::LoadConfig;
pub(crate) use report::print_table;

/// The load mode for a `--mode` value.
pub(crate) fn chat_mode(mode: crate::cli::BenchMode) -> Mode {
    match mode {
        crate::cli::BenchMode::Echo => Mode::Echo,
        crate::cli::BenchMode::Relay => Mode::Relay,
        crate::cli::BenchMode::Fanout => Mode::Fanout,
    }
}

/// What `minichat bench` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct BenchConfig {
    pub(crate) modes: Vec<Mode>,
    pub(crate) baselines: bool,
    pub(crate) python: bool,
    pub(crate) server: Option<SocketAddr>,
    pub(crate) load: LoadConfig,
    pub(crate) json: bool,
    /// Users who join and stay silent during an extra protocol-echo scenario (0: none).
    pub(crate) idle: usize,
    /// The relay across two bridged servers, and through mosquitto alone, when the relay
    /// runs (and mosquitto is installed).
    pub(crate) broker: bool,
    /// Users connected in each `--scale` scenario (none: no such scenarios).
    pub(crate) scale: Vec<usize>,
    /// Whether the load speaks to `server` in the clear (`--plaintext`) rather than in
    /// encrypted sessions.
    pub(crate) plaintext: bool,
    /// Datagrams a second of the `--flood` scenarios (none: no such scenarios).
    pub(crate) flood: Option<u32>,
}

/// What measures a scenario: given the load and a progress callback (thousandths done).
type Measure = Box<dyn FnOnce(&LoadConfig, &mut dyn FnMut(u64)) -> Result<Outcome, HostError>>;

/// One measured scenario: its key, its description, and what to start.
struct Scenario {
    key: Cow<'static, str>,
    name: Cow<'static, str>,
    unit: &'static str,
    run: Measure,
}

/// Runs every scenario asked for and returns the report.
pub(crate) fn run(config: BenchConfig) -> Result<Report, HostError> {
    // The clients' state machines live on this thread's stack while they are built.
    std::thread::Builder::new()
        .name("bench".into())
        .stack_size(64 << 20)
        .spawn(move || measure(config))
        .map_err(HostError::Thread)?
        .join()
        .unwrap_or(Err(HostError::Panicked { thread: "bench" }))
}

fn measure(config: BenchConfig) -> Result<Report, HostError> {
    let mut load = config.load;
    load.size = load.size.max(STAMP_LEN);
    let scenarios = scenarios(&config, &load);
    let show = !config.json && std::io::stderr().is_terminal();
    let mut rows = Vec::new();
    for scenario in scenarios {
        let bar = if show { ProgressBar::new(1000) } else { ProgressBar::hidden() };
        bar.set_style(
            ProgressStyle::with_template("{prefix:>32} [{bar:30}] {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(scenario.name.clone());
        let mut tick = |per_mille: u64| bar.set_position(per_mille);
        let outcome = (scenario.run)(&load, &mut tick)?;
        bar.finish_and_clear();
        rows.push(Row::new(scenario.key, scenario.name, scenario.unit, outcome));
    }
    Ok(Report::new(&config, &load, rows))
}

fn io(error: std::io::Error) -> HostError {
    HostError::Load(error)
}

fn scenarios(config: &BenchConfig, load: &LoadConfig) -> Vec<Scenario> {
    let mut list: Vec<Scenario> = Vec::new();
    if config.baselines {
        list.extend(baselines(config.python));
    }
    let users = load.clients + 1;
    for &mode in &config.modes {
        list.extend(mode_scenarios(config, mode, users));
    }
    if let (None, Some(rate)) = (config.server, config.flood) {
        list.extend(flood::scenarios(rate));
    }
    if config.server.is_none() {
        for &size in &config.scale {
            let connected = size.max(users);
            let run: Measure = Box::new(move |load, tick| scale::run(connected, users, load, tick));
            let key = format!("scale-{connected}").into();
            let name = format!("protocol echo, {connected} users connected").into();
            list.push(Scenario { key, name, unit: "replies", run });
        }
    }
    list
}

/// The echo servers the others are measured against: a bare loop, `minichat echo`, and
/// (`python`, if installed) the Python originals.
fn baselines(python: bool) -> Vec<Scenario> {
    let mut list = vec![
        echo_baseline("bare-loop", "bare std UDP echo loop", servers::bare_loop),
        echo_baseline("minichat-echo", "minichat echo --upper", servers::minichat_echo),
    ];
    if python && servers::python_available() {
        list.push(echo_baseline("python-plain", "python3 plain UDP upper", servers::python_plain));
        list.push(echo_baseline(
            "python-threading",
            "python3 ThreadingUDPServer lower",
            servers::python_threading,
        ));
    }
    list
}

/// One load mode's scenarios: against `--server` the mode alone; else the mode against a
/// server of its own (for `users`), and its variants side by side.
fn mode_scenarios(config: &BenchConfig, mode: Mode, users: usize) -> Vec<Scenario> {
    let (key, name, unit) = match mode {
        Mode::Echo => ("protocol-echo", "minichat protocol echo", "replies"),
        Mode::Relay => ("relay", "minichat relay, room of N", "deliveries"),
        Mode::Fanout => ("fanout", "minichat fan-out, 1 to N", "deliveries"),
    };
    if let Some(addr) = config.server {
        // Only the modes themselves: the variants below start servers of their own.
        let encryption = if config.plaintext { Encryption::Plain } else { Encryption::Offered };
        let run: Measure = Box::new(move |load, tick| {
            let none = CpuProbe::None;
            chat::run(&[addr], mode, encryption, load, none, none, tick).map_err(io)
        });
        return vec![Scenario { key: key.into(), name: name.into(), unit, run }];
    }
    let mut list = vec![chat(key, name, unit, users, ServerSetup::PLAIN, mode)];
    if mode == Mode::Relay {
        // What encryption costs: the same relay, every session sealed (Noise NK,
        // ChaCha20-Poly1305), right after the plain one.
        let setup = ServerSetup { encrypted: true, ..ServerSetup::PLAIN };
        let name = "minichat relay, encrypted";
        list.push(chat("relay-encrypted", name, unit, users, setup, mode));
    }
    if mode == Mode::Fanout {
        let setup = ServerSetup { batch: 1, ..ServerSetup::PLAIN };
        let name = "minichat fan-out, unbatched";
        list.push(chat("fanout-unbatched", name, unit, users, setup, mode));
    }
    if mode == Mode::Relay {
        // What `serve --capture` costs: the same relay, every datagram written out; right
        // after the plain relay, before the broker scenarios start processes of their own.
        let setup = ServerSetup { capture: true, ..ServerSetup::PLAIN };
        let name = "minichat relay, --capture";
        list.push(chat("relay-captured", name, unit, users, setup, mode));
    }
    if mode == Mode::Relay && config.broker && servers::mosquitto_available() {
        // The room across two servers bridged through a broker, and the broker alone
        // carrying the same relay: what people would otherwise pick.
        list.push(Scenario {
            key: "relay-bridged".into(),
            name: "minichat relay, two bridged servers".into(),
            unit,
            run: Box::new(move |load, tick| bridged_relay(users, load, tick)),
        });
        list.push(Scenario {
            key: "relay-mqtt".into(),
            name: "mosquitto relay, QoS 1".into(),
            unit,
            run: Box::new(|load, tick| {
                let broker = servers::mosquitto()?;
                let outcome = mqtt::run(broker.addr, load, broker.cpu, tick).map_err(io);
                broker.stop();
                outcome
            }),
        });
    }
    if mode == Mode::Echo && config.idle > 0 {
        // What a fuller table costs: the same echo with `idle` more users joined (echo,
        // not relay: in a room the idle users would receive every message too).
        let setup = ServerSetup { idle: config.idle, ..ServerSetup::PLAIN };
        let name = "minichat protocol echo, --idle users joined";
        list.push(chat("protocol-echo-idle", name, unit, users, setup, mode));
    }
    list
}

/// The relay with the load's clients split between two `minichat serve` processes bridged
/// through mosquitto: their CPU time together, the broker's apart.
fn bridged_relay(
    users: usize,
    load: &LoadConfig,
    tick: &mut dyn FnMut(u64),
) -> Result<Outcome, HostError> {
    let broker = servers::mosquitto()?;
    let url = format!("mqtt://{}/bench-{}", broker.addr, std::process::id());
    let a = servers::bridged_process(users, &url)?;
    let b = servers::bridged_process(users, &url)?;
    let (CpuProbe::Process(pa), CpuProbe::Process(pb)) = (a.cpu, b.cpu) else {
        return Err(HostError::NotStarted { name: "minichat serve", why: "no process id".into() });
    };
    let both = CpuProbe::Processes(pa, pb);
    let plain = Encryption::Plain;
    let outcome =
        chat::run(&[a.addr, b.addr], Mode::Relay, plain, load, both, broker.cpu, tick).map_err(io);
    a.stop();
    b.stop();
    broker.stop();
    outcome
}

/// A plain echo server started by `start`, driven by the raw load generator.
fn echo_baseline(
    key: &'static str,
    name: &'static str,
    start: fn() -> Result<servers::Running, HostError>,
) -> Scenario {
    Scenario {
        key: key.into(),
        name: name.into(),
        unit: "replies",
        run: Box::new(move |load, tick| {
            let server = start()?;
            let outcome = raw::run(server.addr, load, server.cpu, tick).map_err(io);
            server.stop();
            outcome
        }),
    }
}

/// How a chat scenario's own server runs: datagrams per system call, whether it writes a
/// capture, how many idle users join it, and whether its sessions are encrypted.
#[derive(Debug, Clone, Copy)]
struct ServerSetup {
    batch: usize,
    capture: bool,
    idle: usize,
    encrypted: bool,
}

impl ServerSetup {
    /// Batched, no capture, no idle users, in the clear.
    const PLAIN: ServerSetup = ServerSetup { batch: 32, capture: false, idle: 0, encrypted: false };
}

/// A chat scenario: the load of `mode` against a server of its own for `users` (and the
/// idle ones) set up as `setup` says.
fn chat(
    key: &'static str,
    name: &'static str,
    unit: &'static str,
    users: usize,
    setup: ServerSetup,
    mode: Mode,
) -> Scenario {
    Scenario {
        key: key.into(),
        name: name.into(),
        unit,
        run: Box::new(move |load, tick| chat_scenario(users, setup, mode, load, tick)),
    }
}

fn chat_scenario(
    users: usize,
    setup: ServerSetup,
    mode: Mode,
    load: &LoadConfig,
    tick: &mut dyn FnMut(u64),
) -> Result<Outcome, HostError> {
    let keypair = if setup.encrypted {
        let mut private = [0u8; 32];
        getrandom::fill(&mut private).map_err(HostError::Random)?;
        Some(Keypair::from_private(private))
    } else {
        None
    };
    let encryption = keypair.as_ref().map_or(Encryption::Plain, |k| Encryption::Key(*k.public()));
    let server = servers::chat_server(users + setup.idle, setup.batch, setup.capture, keypair)?;
    let idle = match setup.idle {
        0 => None,
        count => Some(IdleUsers::join(server.addr, count).map_err(io)?),
    };
    let none = CpuProbe::None;
    let outcome =
        chat::run(&[server.addr], mode, encryption, load, server.cpu, none, tick).map_err(io);
    if let Some(idle) = idle {
        idle.stop();
    }
    server.stop();
    outcome
}
