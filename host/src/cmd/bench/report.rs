//! What `minichat bench` prints: a row per scenario, and the design's targets as ratios of
//! scenarios measured in the same run (`targets.rs`).

use std::borrow::Cow;

use serde::Serialize;

use crate::cmd::bench::BenchConfig;
use crate::cmd::bench::load::{LoadConfig, Outcome};
use crate::cmd::bench::targets::{Ratio, ratios};

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
