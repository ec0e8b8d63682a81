//! What `minichat bench` prints: a row per scenario, and the design's targets as ratios of
//! scenarios measured in the same run.

use std::borrow::Cow;

use serde::Serialize;

use crate::cmd::bench::BenchConfig;
use crate::cmd::bench::load::{LoadConfig, Outcome};

/// One scenario's results.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) key: Cow<'static, str>,
    pub(crate) name: Cow<'static, str>,
    /// What a "message" is here: replies, or deliveries.
    pub(crate) unit: &'static str,
    pub(crate) messages_per_second: f64,
    pub(crate) p50_us: Option<u32>,
    pub(crate) p99_us: Option<u32>,
    pub(crate) lost: u64,
    /// Server CPU time per message, nanoseconds (when the bench started the server).
    pub(crate) server_cpu_ns_per_message: Option<f64>,
    /// The broker's CPU time per message, nanoseconds (bridged and MQTT scenarios).
    pub(crate) broker_cpu_ns_per_message: Option<f64>,
    /// Users connected during the window (the `--scale` scenarios).
    pub(crate) connected: Option<usize>,
    /// The server process's resident memory, KiB (the `--scale` scenarios).
    pub(crate) server_rss_kib: Option<u64>,
    /// Datagrams offered a second (the `--flood` scenarios: `messages_per_second` is
    /// what the server took in, `lost` what its socket dropped).
    pub(crate) offered_per_second: Option<f64>,
    /// The server's CPU time over the window, as a share of one core (`--flood`).
    pub(crate) server_core_share: Option<f64>,
    /// Another user's key requests answered within a second, and asked (`--flood`; p50
    /// and p99 are their answers' times).
    pub(crate) probes: Option<(u64, u64)>,
}

impl Row {
    pub(crate) fn new(
        key: Cow<'static, str>,
        name: Cow<'static, str>,
        unit: &'static str,
        mut outcome: Outcome,
    ) -> Row {
        Row {
            key,
            name,
            unit,
            messages_per_second: outcome.rate(),
            p50_us: outcome.latency(500),
            p99_us: outcome.latency(990),
            lost: outcome.lost,
            server_cpu_ns_per_message: outcome.cpu_per_message_ns(),
            broker_cpu_ns_per_message: outcome.broker_cpu_per_message_ns(),
            connected: outcome.connected,
            server_rss_kib: outcome.server_rss_kib,
            offered_per_second: outcome.offered.map(|n| n as f64 / outcome.seconds.max(1e-9)),
            server_core_share: outcome
                .offered
                .and(outcome.server_cpu)
                .map(|cpu| cpu.as_secs_f64() / outcome.seconds.max(1e-9)),
            probes: outcome.probes,
        }
    }
}

/// A target of the design's (or an issue's), as a ratio of two scenarios of this run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Ratio {
    pub(crate) target: Cow<'static, str>,
    pub(crate) goal: &'static str,
    pub(crate) measured: f64,
    pub(crate) met: bool,
}

/// The machine the numbers come from.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) kernel: String,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) machine: Machine,
    pub(crate) clients: usize,
    pub(crate) window: usize,
    pub(crate) size: usize,
    pub(crate) seconds: f64,
    /// Users joined and silent in the `protocol-echo-idle` scenario.
    pub(crate) idle: usize,
    pub(crate) scenarios: Vec<Row>,
    pub(crate) ratios: Vec<Ratio>,
}

impl Report {
    pub(crate) fn new(config: &BenchConfig, load: &LoadConfig, scenarios: Vec<Row>) -> Report {
        let ratios = ratios(&scenarios);
        Report {
            machine: machine(),
            clients: load.clients,
            window: load.window,
            size: load.size,
            seconds: load.duration.as_secs_f64(),
            idle: config.idle,
            scenarios,
            ratios,
        }
    }
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Machine { cpu, cores, kernel }
}

fn find<'a>(rows: &'a [Row], key: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.key == key)
}

/// What of a scenario a target compares.
#[derive(Debug, Clone, Copy)]
enum Measure {
    /// Messages a second.
    Rate,
    /// The server's CPU time per message.
    Cpu,
    /// The server's CPU time as a share of one core (`--flood`).
    CoreShare,
}

impl Measure {
    /// This measure of the scenario `key`, if it ran and measured something.
    fn of(self, rows: &[Row], key: &str) -> Option<f64> {
        let row = find(rows, key)?;
        let value = match self {
            Measure::Rate => Some(row.messages_per_second),
            Measure::Cpu => row.server_cpu_ns_per_message,
            Measure::CoreShare => row.server_core_share,
        };
        value.filter(|v| *v > 0.0)
    }
}

/// A target of the design's (or an issue's): `measure` of the scenario `of` over the
/// same of `over`, met when `met` says so of the ratio.
#[derive(Debug)]
struct Target {
    target: &'static str,
    goal: &'static str,
    measure: Measure,
    of: &'static str,
    over: &'static str,
    met: fn(f64) -> bool,
}

impl Target {
    /// The ratio measured in `rows`, if both scenarios ran.
    fn ratio(&self, rows: &[Row]) -> Option<Ratio> {
        let measured = self.measure.of(rows, self.of)? / self.measure.of(rows, self.over)?;
        Some(Ratio {
            target: self.target.into(),
            goal: self.goal,
            measured,
            met: (self.met)(measured),
        })
    }
}

/// The targets, in the order the report lists them.
const TARGETS: [Target; 16] = [
    Target {
        target: "minichat echo throughput / bare loop throughput",
        goal: ">= 1.0",
        measure: Measure::Rate,
        of: "minichat-echo",
        over: "bare-loop",
        met: |m| m >= 1.0,
    },
    Target {
        target: "minichat echo CPU per reply / bare loop CPU per reply",
        goal: "<= 1.0",
        measure: Measure::Cpu,
        of: "minichat-echo",
        over: "bare-loop",
        met: |m| m <= 1.0,
    },
    Target {
        target: "relay CPU per delivered message / bare loop CPU per reply",
        goal: "<= 1.2",
        measure: Measure::Cpu,
        of: "relay",
        over: "bare-loop",
        met: |m| m <= 1.2,
    },
    Target {
        target: "batched fan-out CPU per delivered datagram / bare loop CPU per reply",
        goal: "<= 0.6",
        measure: Measure::Cpu,
        of: "fanout",
        over: "bare-loop",
        met: |m| m <= 0.6,
    },
    Target {
        target: "batched fan-out CPU / unbatched fan-out CPU, per delivery",
        goal: "< 1.0",
        measure: Measure::Cpu,
        of: "fanout",
        over: "fanout-unbatched",
        met: |m| m < 1.0,
    },
    Target {
        target: "encrypted relay CPU per delivery / relay CPU per delivery",
        goal: "<= 1.3",
        measure: Measure::Cpu,
        of: "relay-encrypted",
        over: "relay",
        met: |m| m <= 1.3,
    },
    Target {
        target: "relay with --capture CPU per delivery / relay CPU per delivery",
        goal: "<= 1.1",
        measure: Measure::Cpu,
        of: "relay-captured",
        over: "relay",
        met: |m| m <= 1.1,
    },
    Target {
        target: "relay with --capture deliveries per second / relay deliveries per second",
        goal: ">= 0.9",
        measure: Measure::Rate,
        of: "relay-captured",
        over: "relay",
        met: |m| m >= 0.9,
    },
    Target {
        target: "protocol echo with idle users CPU per reply / protocol echo CPU per reply",
        goal: "<= 1.1",
        measure: Measure::Cpu,
        of: "protocol-echo-idle",
        over: "protocol-echo",
        met: |m| m <= 1.1,
    },
    Target {
        target: "relay deliveries per second / bare loop replies per second",
        goal: ">= 0.8",
        measure: Measure::Rate,
        of: "relay",
        over: "bare-loop",
        met: |m| m >= 0.8,
    },
    Target {
        target: "minichat echo throughput / threaded Python throughput",
        goal: ">= 30",
        measure: Measure::Rate,
        of: "minichat-echo",
        over: "python-threading",
        met: |m| m >= 30.0,
    },
    Target {
        target: "relay deliveries per second / threaded Python replies per second",
        goal: ">= 30",
        measure: Measure::Rate,
        of: "relay",
        over: "python-threading",
        met: |m| m >= 30.0,
    },
    Target {
        target: "relay deliveries per second / mosquitto relay (QoS 1) deliveries per second",
        goal: ">= 1.0",
        measure: Measure::Rate,
        of: "relay",
        over: "relay-mqtt",
        met: |m| m >= 1.0,
    },
    Target {
        target: "bridged relay deliveries per second / mosquitto relay (QoS 1) deliveries per second",
        goal: ">= 1.0",
        measure: Measure::Rate,
        of: "relay-bridged",
        over: "relay-mqtt",
        met: |m| m >= 1.0,
    },
    Target {
        target: "datagrams taken in under a flood of hellos / under a flood of plain datagrams",
        goal: ">= 0.9",
        measure: Measure::Rate,
        of: "flood-hello",
        over: "flood-plain",
        met: |m| m >= 0.9,
    },
    Target {
        target: "server CPU under one source's hellos / the same without a handshake budget",
        goal: "<= 0.25",
        measure: Measure::CoreShare,
        of: "flood-hello",
        over: "flood-hello-unbudgeted",
        met: |m| m <= 0.25,
    },
];

fn ratios(rows: &[Row]) -> Vec<Ratio> {
    let mut out: Vec<Ratio> = TARGETS.iter().filter_map(|target| target.ratio(rows)).collect();
    out.extend(scale_ratios(rows));
    out
}

/// The largest table against the smallest, of the `--scale` scenarios: CPU per reply and
/// replies a second.
fn scale_ratios(rows: &[Row]) -> Vec<Ratio> {
    let mut out = Vec::new();
    let scaled: Vec<&Row> = rows.iter().filter(|r| r.connected.is_some()).collect();
    if let (Some(small), Some(large)) = (scaled.first(), scaled.last())
        && scaled.len() > 1
    {
        let (from, to) = (small.connected.unwrap_or(0), large.connected.unwrap_or(0));
        let cpu = large.server_cpu_ns_per_message.zip(small.server_cpu_ns_per_message);
        if let Some((a, b)) = cpu.filter(|(_, b)| *b > 0.0) {
            let target = format!("echo CPU per reply, {to} users connected / {from} connected");
            out.push(Ratio {
                target: target.into(),
                goal: "<= 1.1",
                measured: a / b,
                met: a / b <= 1.1,
            });
        }
        if small.messages_per_second > 0.0 {
            let measured = large.messages_per_second / small.messages_per_second;
            let target =
                format!("echo replies per second, {to} users connected / {from} connected");
            out.push(Ratio {
                target: target.into(),
                goal: ">= 0.9",
                measured,
                met: measured >= 0.9,
            });
        }
    }
    out
}

/// Prints the report as a table, for people: the load scenarios, the bridged ones' broker, memory as the table grows (`--scale`), floods (`--flood`), and the targets.
pub(crate) fn print_table(report: &Report) {
    print_heading(report);
    let rows = |keep: fn(&Row) -> bool| -> Vec<&Row> {
        report.scenarios.iter().filter(|row| keep(row)).collect()
    };
    print_loads(&rows(|r| r.offered_per_second.is_none()));
    print_brokered(&rows(|r| r.broker_cpu_ns_per_message.is_some()));
    print_memory(&rows(|r| r.connected.is_some()));
    print_floods(&rows(|r| r.offered_per_second.is_some()));
    print_ratios(&report.ratios);
}

/// What was measured, and on what.
fn print_heading(report: &Report) {
    println!(
        "minichat bench: {} clients, window {}, {} bytes, {:.0} s per scenario{}; {} ({} cores), Linux {}",
        report.clients,
        report.window,
        report.size,
        report.seconds,
        if report.idle > 0 { format!(", {} idle users", report.idle) } else { String::new() },
        report.machine.cpu,
        report.machine.cores,
        report.machine.kernel
    );
}

/// The load scenarios: rate, latency, losses and the server's CPU.
fn print_loads(loads: &[&Row]) {
    if !loads.is_empty() {
        println!();
        println!("| scenario | messages/s | p50 | p99 | lost | server CPU per message |");
        println!("|---|---:|---:|---:|---:|---:|");
    }
    for row in loads {
        let micros = |v: Option<u32>| v.map_or("-".to_owned(), |v| format!("{v} µs"));
        let cpu = row
            .server_cpu_ns_per_message
            .map_or("-".to_owned(), |ns| format!("{:.2} µs", ns / 1000.0));
        println!(
            "| {} | {:.0} {} | {} | {} | {} | {} |",
            row.name,
            row.messages_per_second,
            row.unit,
            micros(row.p50_us),
            micros(row.p99_us),
            row.lost,
            cpu
        );
    }
}

/// The bridged and MQTT scenarios: the servers' CPU against the broker's.
fn print_brokered(brokered: &[&Row]) {
    if !brokered.is_empty() {
        println!();
        println!("| scenario | minichat servers' CPU per message | broker's CPU per message |");
        println!("|---|---:|---:|");
        let micros =
            |ns: Option<f64>| ns.map_or("-".to_owned(), |ns| format!("{:.2} µs", ns / 1000.0));
        for row in brokered {
            println!(
                "| {} | {} | {} |",
                row.name,
                micros(row.server_cpu_ns_per_message),
                micros(row.broker_cpu_ns_per_message)
            );
        }
    }
}

/// The `--scale` scenarios: the server's memory as users join.
fn print_memory(scaled: &[&Row]) {
    if let Some(first) = scaled.first() {
        println!();
        println!(
            "| users connected | server RSS | RSS per user | added per user beyond the first row |"
        );
        println!("|---:|---:|---:|---:|");
        let base = (first.connected.unwrap_or(0), first.server_rss_kib.unwrap_or(0));
        for row in scaled {
            let (Some(users), Some(kib)) = (row.connected, row.server_rss_kib) else { continue };
            let per_user = kib as f64 * 1024.0 / users.max(1) as f64;
            let added = match users.checked_sub(base.0).filter(|&n| n > 0) {
                Some(more) => {
                    format!("{:.0} B", kib.saturating_sub(base.1) as f64 * 1024.0 / more as f64)
                }
                None => "-".to_owned(),
            };
            println!("| {users} | {:.1} MiB | {per_user:.0} B | {added} |", kib as f64 / 1024.0);
        }
    }
}

/// The `--flood` scenarios: what the server took in, its CPU, and how another user fared.
fn print_floods(floods: &[&Row]) {
    if !floods.is_empty() {
        println!();
        println!(
            "| flood from one source | offered | taken in | dropped by the socket | server CPU | another user's key requests answered in 1 s | their p99 |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for row in floods {
            let share = row
                .server_core_share
                .map_or("-".to_owned(), |s| format!("{:.0}% of a core", s * 100.0));
            let (answered, asked) = row.probes.unwrap_or_default();
            let p99 =
                row.p99_us.map_or("-".to_owned(), |v| format!("{:.1} ms", f64::from(v) / 1000.0));
            println!(
                "| {} | {:.0}/s | {:.0}/s | {} | {share} | {answered} of {asked} | {p99} |",
                row.name,
                row.offered_per_second.unwrap_or_default(),
                row.messages_per_second,
                row.lost
            );
        }
    }
}

/// The targets, met or missed.
fn print_ratios(ratios: &[Ratio]) {
    if !ratios.is_empty() {
        println!();
        println!("| target | goal | measured | |");
        println!("|---|---|---:|---|");
        for ratio in ratios {
            println!(
                "| {} | {} | {:.2}× | {} |",
                ratio.target,
                ratio.goal,
                ratio.measured,
                if ratio.met { "met" } else { "missed" }
            );
        }
    }
}
