//! Milliseconds since boot, counted by the SysTick exception: the core's clock.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use minichat_core::time::Instant;

/// The board's core clock after reset: 12.5 MHz (QEMU's lm3s6965evb, too).
const CORE_HZ: u32 = 12_500_000;

/// SysTick counts in a millisecond.
const TICKS_PER_MILLI: u32 = CORE_HZ / 1000;

/// Where the clock starts: at zero, or ten seconds before it wraps (`wrap-soon`: time
/// enough for the tests' users to join before it).
const START: u32 = if cfg!(feature = "wrap-soon") { u32::MAX - 9_999 } else { 0 };

static MILLIS: AtomicU32 = AtomicU32::new(START);

/// Whether the clock wrapped ten seconds ago or more (`wrap-soon`): long enough for
/// keep-alives and timers to have run past the wrap, when the programs tell the room so
/// and the tests of the wrap go on.
#[cfg(feature = "wrap-soon")]
pub fn wrapped_10_s_ago() -> bool {
    (10_000..START).contains(&MILLIS.load(Ordering::Relaxed))
}

/// Starts the 1 kHz tick. The tick also wakes the CPU from `wfi`, so an idle loop polls
/// its UART once a millisecond.
pub fn start(syst: &mut SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(TICKS_PER_MILLI - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Now, for the core's state machines: the core's clock is this `u32` of milliseconds,
/// and wraps with it every 49.7 days.
pub fn now() -> Instant {
    Instant::from_millis(u64::from(MILLIS.load(Ordering::Relaxed)))
}

/// SysTick counts since the clock started: a finer clock than [`now`], for measurements
/// (under QEMU's `-icount`, a count of instructions).
pub fn ticks() -> u64 {
    let mut millis = MILLIS.load(Ordering::Relaxed);
    // Read again if the millisecond turned over between the two reads (at most once).
    for _ in 0..2 {
        let current = SYST::get_current();
        let after = MILLIS.load(Ordering::Relaxed);
        if after == millis {
            let into = (TICKS_PER_MILLI - 1).saturating_sub(current);
            return u64::from(millis) * u64::from(TICKS_PER_MILLI) + u64::from(into);
        }
        millis = after;
    }
    u64::from(millis) * u64::from(TICKS_PER_MILLI)
}

#[exception]
fn SysTick() {
    // The handler is the only writer, so load-then-store is exact; it also builds for
    // ARMv6-M (Cortex-M0), which has no atomic read-modify-write.
    MILLIS.store(MILLIS.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}
