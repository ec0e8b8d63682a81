//! The LM3S6965's UARTs: ARM PL011s at `0x4000_C000 + n * 0x1000`. QEMU's lm3s6965evb
//! wires the first `-serial` to UART0, the second to UART1. Polled: a byte is read when
//! one is waiting, written when the transmit FIFO has room.
#![allow(unsafe_code)] // volatile register access, in this file only

use core::ptr::{read_volatile, write_volatile};

/// Data register: a byte in or out (bits 11:8 of a read are error flags).
const DR: usize = 0x000;
/// Flag register.
const FR: usize = 0x018;
/// Integer and fractional baud-rate divisors.
const IBRD: usize = 0x024;
const FBRD: usize = 0x028;
/// Line control: word length, FIFO enable.
const LCRH: usize = 0x02C;
/// Control: UART, transmitter and receiver enable.
const CTL: usize = 0x030;

const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;
/// 8 data bits, no parity, one stop bit, FIFOs on (16 bytes deep).
const LCRH_8N1_FIFO: u32 = 0x60 | 0x10;
const CTL_UARTEN_TXE_RXE: u32 = 1 | (1 << 8) | (1 << 9);

/// One UART.
#[derive(Debug)]
pub struct Uart {
    base: usize,
}

impl Uart {
    /// UART `n` (0 to 2), set up for 115,200 baud 8N1 at the board's 12.5 MHz clock.
    /// (QEMU moves bytes at any rate; the divisors are what real silicon needs.)
    pub fn new(n: usize) -> Uart {
        let uart = Uart { base: 0x4000_C000 + n.min(2) * 0x1000 };
        uart.write_reg(CTL, 0);
        // 12.5 MHz / (16 * 115,200) = 6.78: integer 6, fraction 0.78 * 64 = 50.
        uart.write_reg(IBRD, 6);
        uart.write_reg(FBRD, 50);
        uart.write_reg(LCRH, LCRH_8N1_FIFO);
        uart.write_reg(CTL, CTL_UARTEN_TXE_RXE);
        uart
    }

    /// A received byte, if one is waiting.
    pub fn read(&self) -> Option<u8> {
        if self.read_reg(FR) & FR_RXFE != 0 {
            return None;
        }
        // The low byte is the data; a framing or overrun error shows in bits 11:8 and
        // leaves a byte the stream framing's check will refuse.
        Some((self.read_reg(DR) & 0xFF) as u8)
    }

    /// Sends `bytes`, waiting for room in the transmit FIFO.
    pub fn write_all(&self, bytes: &[u8]) {
        bytes.iter().for_each(|&byte| self.write(byte));
    }

    /// Sends `byte`, waiting for room in the transmit FIFO.
    pub fn write(&self, byte: u8) {
        while self.read_reg(FR) & FR_TXFF != 0 {}
        self.write_reg(DR, u32::from(byte));
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `base + offset` is one of this UART's memory-mapped registers, which
        // exist for the whole run; a volatile read has no other effect.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write_reg(&self, offset: usize, value: u32) {
        // SAFETY: as in `read_reg`; these registers take any 32-bit value.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }
}
