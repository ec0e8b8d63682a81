//! Framing for byte streams (TCP, a serial line): COBS-encoded frames, each followed by
//! a 0x00 delimiter.
//!
//! COBS removes every zero byte from the frame, so the delimiter can only mean "end of
//! frame": a receiver that joins mid-stream, or loses bytes on a noisy line, is back in
//! step at the next zero. The decoder works byte by byte over a fixed buffer, so any
//! split or merge of the input yields the same frames, and a frame longer than the
//! buffer is an error that costs nothing: it is skipped up to its delimiter.
//!
//! ```
//! use minichat_core::stream::{StreamDecoder, encode_frame, MAX_ENCODED_FRAME};
//!
//! let mut wire = [0u8; 2 * MAX_ENCODED_FRAME];
//! let a = encode_frame(b"\xff\x01\x24first", &mut wire)?;
//! let b = encode_frame(b"\xff\x01\x24second", &mut wire[a..])?;
//!
//! let mut decoder = StreamDecoder::<1024>::new();
//! let mut frames = 0;
//! decoder.decode_all(&wire[..a + b], |frame| {
//!     assert!(frame.is_ok_and(|frame| frame.starts_with(b"\xff\x01\x24")));
//!     frames += 1;
//! });
//! assert_eq!(frames, 2);
//! # Ok::<(), minichat_core::error::StreamError>(())
//! ```

use cobs::{DecodeResult, DecoderState};

use crate::error::StreamError;
use crate::wire::limits::MAX_FRAME;

/// The delimiter after every encoded frame.
pub const DELIMITER: u8 = 0x00;

/// The longest encoding of a frame of `len` bytes, delimiter included.
pub const fn max_encoded_len(len: usize) -> usize {
    cobs::max_encoding_length(len) + 1
}

/// The longest encoding of a [`MAX_FRAME`]-byte frame, delimiter included: the buffer
/// size that always suffices for [`encode_frame`].
pub const MAX_ENCODED_FRAME: usize = max_encoded_len(MAX_FRAME);

/// COBS-encodes `frame` into `out`, followed by the delimiter, and returns how many bytes
/// that took.
pub fn encode_frame(frame: &[u8], out: &mut [u8]) -> Result<usize, StreamError> {
    let too_small =
        StreamError::BufferTooSmall { needed: max_encoded_len(frame.len()), available: out.len() };
    let len = cobs::try_encode(frame, out).map_err(|_| too_small)?;
    *out.get_mut(len).ok_or(too_small)? = DELIMITER;
    Ok(len + 1)
}

/// What one call of [`StreamDecoder::decode`] did.
#[derive(Debug)]
pub struct DecodeStep<'d> {
    /// How many input bytes were used; the caller passes the rest to the next call.
    pub consumed: usize,
    /// A complete frame (valid until the next call), a frame that had to be skipped, or
    /// nothing yet.
    pub frame: Option<Result<&'d [u8], StreamError>>,
}

#[derive(Debug)]
enum State {
    /// Inside a frame (or between frames: COBS's own idle state).
    Decoding(DecoderState),
    /// Skipping the rest of an overlong frame, up to its delimiter.
    Skipping,
}

/// An incremental COBS decoder over a fixed buffer of `N` bytes (the longest frame it
/// accepts; [`MAX_FRAME`] for minichat).
///
/// Empty frames (a lone delimiter) are skipped, so a sender may emit extra delimiters,
/// for instance to resynchronise a serial line at start-up.
#[derive(Debug)]
pub struct StreamDecoder<const N: usize = MAX_FRAME> {
    buf: [u8; N],
    len: usize,
    state: State,
}

impl<const N: usize> Default for StreamDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> StreamDecoder<N> {
    /// A decoder waiting for the first frame.
    pub const fn new() -> Self {
        StreamDecoder { buf: [0; N], len: 0, state: State::Decoding(DecoderState::Idle) }
    }

    /// Whether the decoder holds part of a frame (so a stream ending now would cut it).
    pub const fn is_mid_frame(&self) -> bool {
        !matches!(self.state, State::Decoding(DecoderState::Idle))
    }

    /// Decodes from `input` until one frame is complete or skipped, or the input is used
    /// up. Call again with `input[step.consumed..]` until it is empty.
    pub fn decode(&mut self, input: &[u8]) -> DecodeStep<'_> {
        for (index, &byte) in input.iter().enumerate() {
            let consumed = index + 1;
            match self.feed(byte) {
                Ok(false) => {}
                Ok(true) => {
                    let frame = self.buf.get(..self.len).unwrap_or_default();
                    return DecodeStep { consumed, frame: Some(Ok(frame)) };
                }
                Err(error) => return DecodeStep { consumed, frame: Some(Err(error)) },
            }
        }
        DecodeStep { consumed: input.len(), frame: None }
    }

    /// Decodes all of `input`, handing each frame (or the error of each frame it had to
    /// skip) to `on_frame`, in order. A frame cut at the end of `input` waits for the
    /// next call.
    pub fn decode_all(
        &mut self,
        mut input: &[u8],
        mut on_frame: impl FnMut(Result<&[u8], StreamError>),
    ) {
        while !input.is_empty() {
            // Every step consumes at least one byte, so this ends.
            let step = self.decode(input);
            input = input.get(step.consumed..).unwrap_or_default();
            if let Some(frame) = step.frame {
                on_frame(frame);
            }
        }
    }

    /// Takes one byte; `Ok(true)` when it completed a non-empty frame.
    fn feed(&mut self, byte: u8) -> Result<bool, StreamError> {
        let state = match &mut self.state {
            State::Skipping => {
                if byte == DELIMITER {
                    self.state = State::Decoding(DecoderState::Idle);
                }
                return Ok(false);
            }
            State::Decoding(state) => state,
        };
        match state.feed(byte) {
            Ok(DecodeResult::NoData) => Ok(false),
            Ok(DecodeResult::DataStart) => {
                self.len = 0;
                Ok(false)
            }
            Ok(DecodeResult::DataContinue(data)) => match self.buf.get_mut(self.len) {
                Some(slot) => {
                    *slot = data;
                    self.len += 1;
                    Ok(false)
                }
                None => {
                    // An overlong frame: skip to its delimiter. (Data only ever comes from a
                    // non-zero byte, so this byte was not the delimiter.)
                    self.state = State::Skipping;
                    Err(StreamError::FrameTooLong { limit: N })
                }
            },
            Ok(DecodeResult::DataComplete) => Ok(self.len > 0),
            // COBS resets itself to idle: the zero that ended the bad frame was consumed.
            Err(_) => Err(StreamError::Corrupt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::vec::Vec;

    /// Decodes `input` fed in chunks of `chunk` bytes, collecting frames and errors.
    fn decode_all<const N: usize>(input: &[u8], chunk: usize) -> Vec<Result<Vec<u8>, StreamError>> {
        let mut decoder = StreamDecoder::<N>::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            decoder.decode_all(piece, |frame| out.push(frame.map(<[u8]>::to_vec)));
        }
        out
    }

    #[test]
    fn encodes_like_the_cobs_paper() {
        let mut out = [0u8; 16];
        let len = encode_frame(&[0x11, 0x00, 0x22], &mut out).unwrap();
        assert_eq!(&out[..len], &[0x02, 0x11, 0x02, 0x22, 0x00]);
        assert_eq!(encode_frame(&[1, 2, 3], &mut out[..5]), Ok(5));
        assert_eq!(
            encode_frame(&[1, 2, 3], &mut out[..4]),
            Err(StreamError::BufferTooSmall { needed: 5, available: 4 })
        );
    }

    #[test]
    fn same_frames_for_every_chunk_size() {
        let input = [0x02, 0x11, 0x02, 0x22, 0x00, 0x00, 0x03, 0x41, 0x42, 0x00];
        let whole = decode_all::<8>(&input, input.len());
        assert_eq!(whole, [Ok(std::vec![0x11, 0x00, 0x22]), Ok(b"AB".to_vec())]);
        for chunk in 1..input.len() {
            assert_eq!(decode_all::<8>(&input, chunk), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn overlong_frame_is_skipped_then_decoding_resumes() {
        // Six data bytes into a four-byte decoder, then a good frame.
        let input = [0x07, 1, 2, 3, 4, 5, 6, 0x00, 0x02, 0x09, 0x00];
        for chunk in 1..=input.len() {
            assert_eq!(
                decode_all::<4>(&input, chunk),
                [Err(StreamError::FrameTooLong { limit: 4 }), Ok(std::vec![0x09])]
            );
        }
    }

    #[test]
    fn frame_of_exactly_the_limit_is_accepted() {
        let input = [0x05, 1, 2, 3, 4, 0x00];
        assert_eq!(decode_all::<4>(&input, 1), [Ok(std::vec![1, 2, 3, 4])]);
    }

    #[test]
    fn truncated_run_is_corrupt_and_resyncs() {
        // The code byte promises four bytes, but the delimiter comes after two.
        let input = [0x05, 1, 2, 0x00, 0x02, 0x07, 0x00];
        assert_eq!(decode_all::<8>(&input, 1), [Err(StreamError::Corrupt), Ok(std::vec![0x07])]);
    }

    #[test]
    fn spec_vector_stream_ping_ack() {
        use crate::wire::vectors;
        let (stream, ping, ack) =
            (vectors::get("stream-ping-ack"), vectors::get("ping"), vectors::get("ack"));
        for chunk in 1..=stream.len() {
            assert_eq!(
                decode_all::<MAX_FRAME>(&stream, chunk),
                [Ok(ping.clone()), Ok(ack.clone())]
            );
        }
        let mut out = [0u8; 2 * MAX_ENCODED_FRAME];
        let first = encode_frame(&ping, &mut out).unwrap();
        let second = encode_frame(&ack, &mut out[first..]).unwrap();
        assert_eq!(&out[..first + second], &stream[..]);
    }

    #[test]
    fn tracks_mid_frame() {
        let mut decoder = StreamDecoder::<8>::new();
        assert!(!decoder.is_mid_frame());
        decoder.decode(&[0x03, 0x41]);
        assert!(decoder.is_mid_frame());
        decoder.decode(&[0x42, 0x00]);
        assert!(!decoder.is_mid_frame());
    }
}
