//! minichat frames over a UART: bytes in are decoded (COBS, CRC-32) into frames, frames
//! out are encoded and written as they are encoded. The decoder's buffer is the only one:
//! a frame is handed over where it was decoded, and nothing is buffered on the way out.

use minichat_core::stream::{MAX_CHECKED_FRAME, StreamDecoder, encode_frame_with};

use crate::uart::Uart;

/// A UART and its stream framing, for frames and their check of up to `N` bytes (the
/// protocol's largest by default).
#[derive(Debug)]
pub struct SerialLink<const N: usize = MAX_CHECKED_FRAME> {
    uart: Uart,
    decoder: StreamDecoder<N>,
}

impl<const N: usize> SerialLink<N> {
    /// Stream framing over `uart`.
    pub const fn new(uart: Uart) -> SerialLink<N> {
        SerialLink { uart, decoder: StreamDecoder::new() }
    }

    /// Reads what the UART holds until a frame whose check matches is complete, and hands
    /// it to `on_frame` where it lies, in the decoder's buffer. Returns whether one came.
    pub fn take_frame(&mut self, on_frame: impl FnOnce(&[u8])) -> bool {
        while let Some(byte) = self.uart.read() {
            if self.decoder.decode(&[byte]).frame.is_some_and(|frame| frame.is_ok()) {
                on_frame(self.decoder.frame());
                return true;
            }
        }
        false
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

    /// Encodes `frame` and writes it, a byte at a time.
    pub fn send(&mut self, frame: &[u8]) {
        encode_frame_with(frame, |byte| self.uart.write(byte));
    }

    /// Frames dropped for a failed check (line noise) so far.
    pub fn bad_checks(&self) -> u32 {
        self.decoder.stats().bad_checks
    }
}
