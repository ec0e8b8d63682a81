//! A UART as a datagram link (feature `embedded-hal-nb`): frames cross the serial line in
//! the stream framing of [`crate::stream`] (COBS, a CRC-32, a zero between frames), and the
//! one peer is the line's other end ([`PointToPoint`]). Any HAL's UART that implements
//! `embedded_hal_nb::serial::{Read, Write}` fits, so a [`crate::transport::Driver`] turns
//! a client over a serial line as it does over UDP.

use embedded_hal_nb::serial::{Read, Write};

use crate::address::PointToPoint;
use crate::stream::{StreamDecoder, StreamStats, encode_frame_with};
use crate::transport::Datagram;

/// A UART and the decoder of the frames it brings: 1 KiB and a few bytes.
#[derive(Debug)]
pub struct UartLink<U> {
    uart: U,
    decoder: StreamDecoder,
}

impl<U> UartLink<U> {
    /// Frames over `uart`.
    pub const fn new(uart: U) -> Self {
        UartLink { uart, decoder: StreamDecoder::new() }
    }

    /// What the decoder has seen: frames, and line noise dropped (bad checks).
    pub const fn stats(&self) -> &StreamStats {
        self.decoder.stats()
    }

    /// The UART back.
    pub fn into_inner(self) -> U {
        self.uart
    }
}

impl<U: Read<u8> + Write<u8>> Datagram for UartLink<U> {
    type Error = U::Error;
    type Addr = PointToPoint;

    /// Writes the whole frame, waiting for the UART whenever it is full: half a frame
    /// cannot wait for the next turn without a buffer to keep it in.
    fn send_to(&mut self, _: PointToPoint, data: &[u8]) -> nb::Result<(), U::Error> {
        let mut failed = None;
        encode_frame_with(data, |byte| {
            if failed.is_none() {
                failed = nb::block!(self.uart.write(byte)).err();
            }
        });
        failed.map_or(Ok(()), |error| Err(nb::Error::Other(error)))
    }

    /// Reads what the UART holds until a frame whose check matches is complete, and
    /// copies it into `buf`; `WouldBlock` when the UART runs dry first (the part of a frame
    /// read so far waits in the decoder). Frames that fail their check, or do not fit
    /// `buf`, are dropped (and counted in [`UartLink::stats`]).
    fn receive(&mut self, buf: &mut [u8]) -> nb::Result<(usize, PointToPoint), U::Error> {
        loop {
            let byte = self.uart.read()?;
            if let Some(Ok(frame)) = self.decoder.decode(&[byte]).frame
                && let Some(to) = buf.get_mut(..frame.len())
            {
                // Equal lengths; a copy the optimiser cannot turn into a length check.
                to.iter_mut().zip(frame).for_each(|(to, from)| *to = *from);
                return Ok((frame.len(), PointToPoint));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::vec::Vec;

    use embedded_hal_nb::serial::{ErrorKind, ErrorType};

    use super::*;
    use crate::stream::encode_frame;

    /// A UART whose far end is a byte queue each way; its transmitter says `WouldBlock`
    /// once, when `full_once_at` bytes were sent.
    #[derive(Default)]
    struct Loop {
        incoming: VecDeque<u8>,
        sent: Vec<u8>,
        full_once_at: Option<usize>,
    }

    impl ErrorType for Loop {
        type Error = ErrorKind;
    }

    impl Read<u8> for Loop {
        fn read(&mut self) -> nb::Result<u8, ErrorKind> {
            self.incoming.pop_front().ok_or(nb::Error::WouldBlock)
        }
    }

    impl Write<u8> for Loop {
        fn write(&mut self, byte: u8) -> nb::Result<(), ErrorKind> {
            if self.full_once_at == Some(self.sent.len()) {
                self.full_once_at = None;
                return Err(nb::Error::WouldBlock);
            }
            self.sent.push(byte);
            Ok(())
        }

        fn flush(&mut self) -> nb::Result<(), ErrorKind> {
            Ok(())
        }
    }

    #[test]
    fn a_frame_goes_out_whole_and_comes_in_whole_across_noise_and_pauses() {
        let frame = b"\xff\x02\x24hello\x00world";
        let mut encoded = [0u8; 64];
        let len = encode_frame(frame, &mut encoded).unwrap();
        let uart = Loop { full_once_at: Some(3), ..Loop::default() };
        let mut link = UartLink::new(uart);
        link.send_to(PointToPoint, frame).unwrap();
        assert_eq!(link.uart.sent, &encoded[..len], "a full transmitter is waited for");

        // Noise, then a frame that arrives in two halves, one turn apart.
        let mut buf = [0u8; 64];
        link.uart.incoming.extend([0x13, 0x37, 0x00]);
        link.uart.incoming.extend(&encoded[..5]);
        assert_eq!(link.receive(&mut buf), Err(nb::Error::WouldBlock));
        link.uart.incoming.extend(&encoded[5..len]);
        assert_eq!(link.receive(&mut buf), Ok((frame.len(), PointToPoint)));
        assert_eq!(&buf[..frame.len()], frame);
        let stats = link.stats();
        assert_eq!((stats.frames, stats.corrupt + stats.bad_checks), (1, 1), "the noise dropped");
    }
}
