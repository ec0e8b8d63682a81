//! The yardstick for the firmware's size: the same runtime, clock, UART driver and log as
//! `qemu-chat` and `qemu-server`, without minichat (it echoes UART0's bytes back). The
//! protocol's share of a firmware is its size less this one's.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use minichat_qemu::log;
use minichat_qemu::uart::Uart;

#[entry]
fn main() -> ! {
    minichat_qemu::start();
    let uart = Uart::new(0);
    log::line(&["qemu-baseline: echoing UART0"]);
    loop {
        match uart.read() {
            Some(byte) => uart.write_all(&[byte]),
            None => cortex_m::asm::wfi(),
        }
    }
}
