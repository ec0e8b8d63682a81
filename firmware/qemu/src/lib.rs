//! What both QEMU programs share: the LM3S6965's UARTs (PL011s), a millisecond clock from
//! SysTick, and minichat's stream framing over a UART.
//!
//! Only `uart.rs` (volatile register accesses), `entropy.rs` (semihosting calls) and
//! `ram.rs` (the linker's symbols, reads of the painted stack) use `unsafe`; everything
//! else is the core's safe code.
#![no_std]
#![deny(unsafe_code)]

pub mod clock;
pub mod entropy;
pub mod log;
#[cfg(feature = "ram-report")]
pub mod ram;
pub mod serial_link;
#[cfg(feature = "secure")]
pub mod server_key;
pub mod uart;

// The link-time no-panic proof: a reachable panic names a symbol that does not exist.
#[cfg(not(feature = "secure"))]
use panic_never as _;

/// The secure build's handler: the crypto crates hold panicking branches the compiler
/// cannot rule out (none reachable with the core's fixed sizes; `../panics.py` lists
/// them), so this build cannot take the proof's handler. A panic stops the board.
#[cfg(feature = "secure")]
#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo<'_>) -> ! {
    halt()
}

use minichat_core::wire::limits::MAX_FRAME;

/// Starts the board: takes the core peripherals and starts the millisecond clock. Halts if
/// called twice.
pub fn start() {
    let Some(mut core) = cortex_m::Peripherals::take() else { halt() };
    clock::start(&mut core.SYST);
}

/// Stops for good (sleeping between ticks): what a program does when it cannot go on.
pub fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// A frame buffer for receiving and one for sending, each in a static of its own. Halts if
/// called twice.
pub fn frame_buffers() -> (&'static mut [u8; MAX_FRAME], &'static mut [u8; MAX_FRAME]) {
    let Some(rx) = cortex_m::singleton!(: [u8; MAX_FRAME] = [0; MAX_FRAME]) else { halt() };
    let Some(tx) = cortex_m::singleton!(: [u8; MAX_FRAME] = [0; MAX_FRAME]) else { halt() };
    (rx, tx)
}
