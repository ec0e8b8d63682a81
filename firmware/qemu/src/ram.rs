//! The RAM the program uses: its statics (`.data`, `.bss` and `.uninit`, everything
//! cortex-m-rt's `link.x` places below the stack) and the deepest its stack has reached.
//!
//! cortex-m-rt's `paint-stack` fills the stack's whole room, from `_stack_end` (the end of
//! the statics) up to `_stack_start` (the top of RAM), with [`STACK_PAINT_VALUE`] at reset,
//! before `main`. The stack grows down from its top; the lowest word that no longer holds
//! the paint is its high-water mark (a word the program wrote with the paint's own value
//! reads as unused: the figure may be a word or so low, never high).
#![allow(unsafe_code)] // the linker's symbols and reads of the painted stack, in this file only

use cortex_m_rt::STACK_PAINT_VALUE;

// cortex-m-rt's `link.x`: only their addresses mean anything.
unsafe extern "C" {
    static __sdata: u32;
    static _stack_end: u32;
    static _stack_start: u32;
}

/// Bytes of RAM in use, `(statics, stack)`: the statics, and the stack at its deepest so far.
pub fn used() -> (u32, u32) {
    let mut low = (&raw const _stack_end) as u32;
    let top = (&raw const _stack_start) as u32;
    let statics = low - (&raw const __sdata) as u32;
    // SAFETY: every address read is a word-aligned address of RAM between `_stack_end` and
    // `_stack_start` (the linker's asserts keep both aligned and in order), which exists
    // for the whole run; a volatile read of it has no effect, and what it holds is only
    // compared with the paint, never used as a value of any type the program keeps there.
    while low < top && unsafe { core::ptr::read_volatile(low as *const u32) } == STACK_PAINT_VALUE {
        low += 4;
    }
    (statics, top - low)
}

/// Logs the RAM in use: `PROGRAM: RAM <total> B (static <s> B, stack <k> B)`.
pub fn log_used(program: &str) {
    let (statics, stack) = used();
    let mut digits = [[0u8; 20]; 3];
    let [total_digits, static_digits, stack_digits] = &mut digits;
    crate::log::line(&[
        program,
        ": RAM ",
        crate::log::decimal(u64::from(statics + stack), total_digits),
        " B (static ",
        crate::log::decimal(u64::from(statics), static_digits),
        " B, stack ",
        crate::log::decimal(u64::from(stack), stack_digits),
        " B)",
    ]);
}
