//! What both QEMU programs share: the LM3S6965's UARTs (PL011s), a millisecond clock from
//! SysTick, and minichat's stream framing over a UART.
//!
//! Only `uart.rs` (volatile register accesses) and `entropy.rs` (semihosting calls) use
//! `unsafe`; everything else is the core's safe code.
#![no_std]
#![deny(unsafe_code)]

pub mod clock;
pub mod entropy;
pub mod log;
pub mod serial_link;
pub mod uart;
