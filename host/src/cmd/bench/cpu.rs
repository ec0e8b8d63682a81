//! CPU time of a server under test, read from `/proc` without touching the server: its
//! thread's when it runs in this process, its process's (all threads) when it is a child.

use std::time::Duration;

/// Where a server's CPU time can be read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CpuProbe {
    /// A thread of this process, by its thread id.
    Thread(u32),
    /// A whole process (every thread, living or gone), by its pid.
    Process(u32),
    /// Two processes (bridged servers), their times added.
    Processes(u32, u32),
    /// Not measurable (a server elsewhere).
    None,
}

impl CpuProbe {
    /// The probe for the calling thread.
    pub(crate) fn this_thread() -> CpuProbe {
        std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|link| link.file_name()?.to_str()?.parse().ok())
            .map_or(CpuProbe::None, CpuProbe::Thread)
    }

    /// User plus system time so far, if readable.
    pub(crate) fn read(&self) -> Option<Duration> {
        if let CpuProbe::Processes(a, b) = *self {
            return Some(CpuProbe::Process(a).read()? + CpuProbe::Process(b).read()?);
        }
        let path = match self {
            CpuProbe::Thread(tid) => format!("/proc/self/task/{tid}/stat"),
            CpuProbe::Process(pid) => format!("/proc/{pid}/stat"),
            CpuProbe::None | CpuProbe::Processes(..) => return None,
        };
        let stat = std::fs::read_to_string(path).ok()?;
        // The command name may contain anything, spaces included: fields start after
        // its closing parenthesis. utime and stime are fields 14 and 15 (1-based).
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        let ticks = clock_ticks()?;
        Some(Duration::from_nanos((utime + stime).saturating_mul(1_000_000_000) / ticks))
    }
}

/// Clock ticks per second, the unit of `/proc`'s times.
#[cfg(unix)]
fn clock_ticks() -> Option<u64> {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten()?;
    u64::try_from(ticks).ok().filter(|t| *t > 0)
}

/// No `/proc` here: nothing to convert.
#[cfg(not(unix))]
fn clock_ticks() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_threads_cpu_time() {
        let probe = CpuProbe::this_thread();
        let before = probe.read().expect("readable on Linux");
        // Spin until the probe itself says 50 ms of CPU went by: on a loaded machine the
        // wall clock says nothing about how much CPU this thread got.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        let spent = loop {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            let spent = probe.read().unwrap() - before;
            if spent >= Duration::from_millis(50) {
                break spent;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "the probe never moved: {spent:?}");
        };
        // `/proc` counts in clock ticks (10 ms), and the kernel scales each task's ticks
        // to its run time on its own: two readings may differ by a tick either way.
        let tick = Duration::from_nanos(1_000_000_000 / clock_ticks().unwrap());
        assert!(spent <= start.elapsed() + 2 * tick, "{spent:?} is more than ran");
        let process = CpuProbe::Process(std::process::id()).read().unwrap();
        assert!(process + tick >= spent, "the process {process:?}, its thread {spent:?}");
    }
}
