//! `minichat bench --scale`: the protocol echo against a server with 16, 1,000, 10,000 and
//! 50,000 users connected (or the sizes asked for), one after the other in one run — the load's users talking, the
//! rest idle but pinging ([`IdleUsers`]). The server runs as a process of its own
//! (`minichat serve`, sized by `--capacity` as a user would start it), so its CPU time
//! and its resident memory are its alone.

use crate::cmd::bench::cpu::CpuProbe;
use crate::cmd::bench::idle::IdleUsers;
use crate::cmd::bench::load::{LoadConfig, Outcome};
use crate::cmd::bench::{chat, io, servers};
use crate::error::HostError;

/// Measures the echo load with `connected` users on a fresh server process: `users` of
/// them the load's, the others idle.
pub(crate) fn run(
    connected: usize,
    users: usize,
    load: &LoadConfig,
    tick: &mut dyn FnMut(u64),
) -> Result<Outcome, HostError> {
    let server = servers::serve_process(connected)?;
    let idle = match connected - users {
        0 => None,
        count => Some(IdleUsers::join(server.addr, count).map_err(io)?),
    };
    let (none, plain) = (CpuProbe::None, chat::Encryption::Plain);
    let mut outcome =
        chat::run(&[server.addr], chat::Mode::Echo, plain, load, server.cpu, none, tick)
            .map_err(io);
    let rss = resident_kib(server.cpu);
    if let Some(idle) = idle {
        idle.stop();
    }
    server.stop();
    if let Ok(outcome) = &mut outcome {
        outcome.connected = Some(connected);
        outcome.server_rss_kib = rss;
    }
    outcome
}

/// A process's resident memory, KiB (`VmRSS` in `/proc/PID/status`).
fn resident_kib(probe: CpuProbe) -> Option<u64> {
    let CpuProbe::Process(pid) = probe else { return None };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_resident_memory() {
        let kib = resident_kib(CpuProbe::Process(std::process::id()));
        assert!(kib.is_some_and(|kib| kib > 100), "{kib:?}");
        assert_eq!(resident_kib(CpuProbe::None), None);
    }
}
