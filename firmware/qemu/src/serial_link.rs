//! minichat frames over a UART: bytes in are decoded (COBS, CRC-32) into frames, frames
//! out are encoded and written.

use minichat_core::stream::{MAX_ENCODED_FRAME, StreamDecoder, encode_frame};

use crate::uart::Uart;

/// A UART and its stream framing.
#[derive(Debug)]
pub struct SerialLink {
    uart: Uart,
    decoder: StreamDecoder,
    out: [u8; MAX_ENCODED_FRAME],
}

impl SerialLink {
    /// Stream framing over `uart`.
    pub const fn new(uart: Uart) -> SerialLink {
        SerialLink { uart, decoder: StreamDecoder::new(), out: [0; MAX_ENCODED_FRAME] }
    }

    /// The next frame whose check matches, copied into `buf`: reads what the UART holds
    /// until a frame is complete, or `None` when the UART has nothing more.
    pub fn next_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        while let Some(byte) = self.uart.read() {
            if let Some(Ok(frame)) = self.decoder.decode(&[byte]).frame
                && let Some(dst) = buf.get_mut(..frame.len())
            {
                // Equal lengths; a copy the optimiser cannot turn into a length check.
                dst.iter_mut().zip(frame).for_each(|(d, s)| *d = *s);
                return Some(frame.len());
            }
        }
        None
    }

    /// Encodes `frame` and writes it.
    pub fn send(&mut self, frame: &[u8]) {
        if let Ok(len) = encode_frame(frame, &mut self.out) {
            self.uart.write_all(self.out.get(..len).unwrap_or_default());
        }
    }

    /// Frames dropped for a failed check (line noise) so far.
    pub fn bad_checks(&self) -> u64 {
        self.decoder.stats().bad_checks
    }
}
