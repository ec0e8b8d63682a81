//! Milliseconds since boot, counted by the SysTick exception: the core's clock.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use minichat_core::time::Instant;

/// The board's core clock after reset: 12.5 MHz (QEMU's lm3s6965evb, too).
const CORE_HZ: u32 = 12_500_000;

static MILLIS: AtomicU32 = AtomicU32::new(0);

/// Starts the 1 kHz tick. The tick also wakes the CPU from `wfi`, so an idle loop polls
/// its UART once a millisecond.
pub fn start(syst: &mut SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_HZ / 1000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Now, for the core's state machines. (A `u32` of milliseconds wraps after 49 days.)
pub fn now() -> Instant {
    Instant::from_millis(u64::from(MILLIS.load(Ordering::Relaxed)))
}

#[exception]
fn SysTick() {
    // The handler is the only writer, so load-then-store is exact; it also builds for
    // ARMv6-M (Cortex-M0), which has no atomic read-modify-write.
    MILLIS.store(MILLIS.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}
