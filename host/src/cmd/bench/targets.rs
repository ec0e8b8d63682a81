//! The design's targets (and the issues'), each a ratio of two scenarios measured in the
//! same run, and whether this run met it.

use std::borrow::Cow;

use serde::Serialize;

use crate::cmd::bench::report::Row;

/// A target of the design's (or an issue's), as a ratio of two scenarios of this run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Ratio {
    pub(crate) target: Cow<'static, str>,
    pub(crate) goal: &'static str,
    pub(crate) measured: f64,
    pub(crate) met: bool,
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

pub(crate) fn ratios(rows: &[Row]) -> Vec<Ratio> {
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
