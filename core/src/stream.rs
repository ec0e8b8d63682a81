//! Framing for byte streams (TCP, a serial line): each frame followed by its CRC-32,
//! COBS-encoded, then a 0x00 delimiter (`docs/PROTOCOL.md`, "Stream framing").
//!
//! COBS removes every zero byte, so the delimiter can only mean "end of frame": a receiver
//! that joins mid-stream, or loses bytes on a noisy line, is back in step at the next zero.
//! The CRC catches what COBS cannot: a flipped bit inside a frame. A frame whose check
//! fails is counted and dropped, never parsed. The decoder works byte by byte over a fixed
//! buffer, so any split or merge of the input yields the same frames, and a frame longer
//! than the buffer is an error that costs nothing: it is skipped up to its delimiter.
//!
//! ```
//! use minichat_core::stream::{StreamDecoder, encode_frame, MAX_ENCODED_FRAME};
//!
//! let mut wire = [0u8; 2 * MAX_ENCODED_FRAME];
//! let a = encode_frame(b"\xff\x02\x24first", &mut wire)?;
//! let b = encode_frame(b"\xff\x02\x24second", &mut wire[a..])?;
//!
//! let mut decoder: StreamDecoder = StreamDecoder::new();
//! let mut frames = 0;
//! decoder.decode_all(&wire[..a + b], |frame| {
//!     assert!(frame.is_ok_and(|frame| frame.starts_with(b"\xff\x02\x24")));
//!     frames += 1;
//! });
//! assert_eq!(frames, 2);
//! # Ok::<(), minichat_core::error::StreamError>(())
//! ```

use cobs::{CobsEncoder, DecodeResult, DecoderState};
use crc::{CRC_32_ISO_HDLC, Crc, NoTable};

use crate::error::StreamError;
use crate::wire::limits::MAX_FRAME;

/// The delimiter after every encoded frame.
pub const DELIMITER: u8 = 0x00;

/// Bytes of the check that follows every frame on a stream.
pub const CHECK_LEN: usize = 4;

/// CRC-32/ISO-HDLC (the CRC of Ethernet, zlib and PNG: check value 0xCBF43926), computed
/// bit by bit: no 1 KiB table in a firmware's flash, and fast enough for any serial line.
pub const CRC: Crc<u32, NoTable> = Crc::<u32, NoTable>::new(&CRC_32_ISO_HDLC);

/// The longest encoding of a frame of `len` bytes: its check, COBS, the delimiter.
pub const fn max_encoded_len(len: usize) -> usize {
    cobs::max_encoding_length(len + CHECK_LEN) + 1
}

/// The longest encoding of a [`MAX_FRAME`]-byte frame, delimiter included: the buffer
/// size that always suffices for [`encode_frame`].
pub const MAX_ENCODED_FRAME: usize = max_encoded_len(MAX_FRAME);

/// What a decoder for frames of up to [`MAX_FRAME`] bytes buffers: the frame and its check.
pub const MAX_CHECKED_FRAME: usize = MAX_FRAME + CHECK_LEN;

/// Appends the CRC to `frame`, COBS-encodes both into `out`, adds the delimiter, and
/// returns how many bytes that took.
pub fn encode_frame(frame: &[u8], out: &mut [u8]) -> Result<usize, StreamError> {
    let needed = max_encoded_len(frame.len());
    let too_small = StreamError::BufferTooSmall { needed, available: out.len() };
    if out.len() < needed {
        return Err(too_small);
    }
    let check = CRC.checksum(frame).to_le_bytes();
    let mut encoder = CobsEncoder::new(out);
    encoder.push(frame).map_err(|_| too_small)?;
    encoder.push(&check).map_err(|_| too_small)?;
    let len = encoder.finalize();
    *out.get_mut(len).ok_or(too_small)? = DELIMITER;
    Ok(len + 1)
}

/// Encodes `frame` as [`encode_frame`] does, byte for byte, handing each byte to `put` as
/// it goes: no output buffer, for a link that takes bytes one at a time (a UART). COBS
/// needs to see up to 254 bytes ahead, and the frame is all there to see.
pub fn encode_frame_with(frame: &[u8], mut put: impl FnMut(u8)) {
    let check = CRC.checksum(frame).to_le_bytes();
    let total = frame.len() + CHECK_LEN;
    let byte = |i: usize| match i.checked_sub(frame.len()) {
        None => frame.get(i).copied().unwrap_or(0),
        Some(j) => check.get(j).copied().unwrap_or(0),
    };
    let mut start = 0;
    loop {
        // A block: up to 254 bytes other than zero, then the zero (or the end) it stands for.
        let mut end = start;
        while end < total && end - start < 254 && byte(end) != 0 {
            end += 1;
        }
        let run = end - start;
        put(u8::try_from(run + 1).unwrap_or(u8::MAX));
        (start..end).for_each(|i| put(byte(i)));
        if end == total {
            break;
        }
        // A full block stands for no zero: the next starts right after it.
        start = if run == 254 { end } else { end + 1 };
    }
    put(DELIMITER);
}

/// What a decoder has seen, for logs and the link's health: line noise is counted here,
/// never parsed.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Frames decoded whose check matched.
    pub frames: u32,
    /// Frames dropped because their check did not match (or they were too short to have
    /// one).
    pub bad_checks: u32,
    /// Frames dropped because they were not valid COBS.
    pub corrupt: u32,
    /// Frames skipped because they were longer than the decoder's buffer.
    pub too_long: u32,
}

/// What one call of [`StreamDecoder::decode`] did.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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

/// An incremental decoder over a fixed buffer of `N` bytes: a frame and its
/// [`CHECK_LEN`]-byte check ([`MAX_CHECKED_FRAME`] for minichat's frames).
///
/// Empty frames (a lone delimiter) are skipped, so a sender may emit extra delimiters,
/// for instance to resynchronise a serial line at start-up.
#[derive(Debug)]
pub struct StreamDecoder<const N: usize = MAX_CHECKED_FRAME> {
    buf: [u8; N],
    len: usize,
    state: State,
    stats: StreamStats,
}

impl<const N: usize> Default for StreamDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> StreamDecoder<N> {
    /// A decoder waiting for the first frame.
    pub const fn new() -> Self {
        StreamDecoder {
            buf: [0; N],
            len: 0,
            state: State::Decoding(DecoderState::Idle),
            stats: StreamStats { frames: 0, bad_checks: 0, corrupt: 0, too_long: 0 },
        }
    }

    /// What the decoder has seen so far.
    pub const fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Whether the decoder holds part of a frame (so a stream ending now would cut it).
    pub const fn is_mid_frame(&self) -> bool {
        !matches!(self.state, State::Decoding(DecoderState::Idle))
    }

    /// The frame the last [`StreamDecoder::decode`] completed, without its check, where
    /// it was decoded: for a caller that cannot keep the borrow `decode` returned. Valid
    /// until the next call; only meaningful when that call returned `Ok`.
    pub fn frame(&self) -> &[u8] {
        self.buf.get(..self.len.saturating_sub(CHECK_LEN)).unwrap_or_default()
    }

    /// Decodes from `input` until one frame is complete or skipped, or the input is used
    /// up. Call again with `input[step.consumed..]` until it is empty.
    pub fn decode(&mut self, input: &[u8]) -> DecodeStep<'_> {
        for (index, &byte) in input.iter().enumerate() {
            let consumed = index + 1;
            match self.feed(byte) {
                Ok(false) => {}
                Ok(true) => return DecodeStep { consumed, frame: Some(self.checked()) },
                Err(error) => {
                    match error {
                        StreamError::FrameTooLong { .. } => {
                            self.stats.too_long = self.stats.too_long.wrapping_add(1)
                        }
                        _ => self.stats.corrupt = self.stats.corrupt.wrapping_add(1),
                    }
                    return DecodeStep { consumed, frame: Some(Err(error)) };
                }
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

    /// The frame just completed, without its check, if the check matches.
    fn checked(&mut self) -> Result<&[u8], StreamError> {
        let whole = self.buf.get(..self.len).unwrap_or_default();
        let Some((frame, check)) = whole.split_at_checked(whole.len().wrapping_sub(CHECK_LEN))
        else {
            self.stats.bad_checks = self.stats.bad_checks.wrapping_add(1);
            return Err(StreamError::BadCheck);
        };
        let sent = check.try_into().map(u32::from_le_bytes).ok();
        if sent != Some(CRC.checksum(frame)) {
            self.stats.bad_checks = self.stats.bad_checks.wrapping_add(1);
            return Err(StreamError::BadCheck);
        }
        self.stats.frames = self.stats.frames.wrapping_add(1);
        Ok(frame)
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
                    Err(StreamError::FrameTooLong { limit: N.saturating_sub(CHECK_LEN) })
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

    #[test]
    fn encoding_byte_by_byte_matches_encoding_into_a_buffer() {
        // Zero-free runs around COBS's 254-byte block (where the check's bytes join the
        // frame's), zeros at the ends, and a seeded mix up to the longest frame.
        let mut seed = 0x2545_f491_u32;
        let mut frames: Vec<Vec<u8>> = (0..=520).map(|len| std::vec![0x5a; len]).collect();
        frames.extend([std::vec![0], std::vec![0, 0], std::vec![7, 0], std::vec![0; 300]]);
        for len in [1, 3, 249, 250, 251, 253, 254, 255, 507, 508, 1000, MAX_FRAME] {
            let mixed = (0..len).map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                if seed.is_multiple_of(7) { 0 } else { seed.to_le_bytes()[1] | 1 }
            });
            frames.push(mixed.collect());
        }
        let mut buffered = [0u8; MAX_ENCODED_FRAME];
        for frame in frames {
            let len = encode_frame(&frame, &mut buffered).unwrap();
            let mut streamed = Vec::new();
            encode_frame_with(&frame, |byte| streamed.push(byte));
            assert_eq!(streamed, &buffered[..len], "a frame of {} bytes", frame.len());
        }
    }

    /// Decodes `input` fed in chunks of `chunk` bytes, collecting frames and errors.
    fn decode_all<const N: usize>(input: &[u8], chunk: usize) -> Vec<Result<Vec<u8>, StreamError>> {
        let mut decoder = StreamDecoder::<N>::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            decoder.decode_all(piece, |frame| out.push(frame.map(<[u8]>::to_vec)));
        }
        out
    }

    /// `frames` encoded one after the other.
    fn stream(frames: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for frame in frames {
            let mut buf = std::vec![0u8; max_encoded_len(frame.len())];
            let len = encode_frame(frame, &mut buf).unwrap();
            out.extend_from_slice(&buf[..len]);
        }
        out
    }

    #[test]
    fn the_check_is_crc32_iso_hdlc() {
        let vector = crate::wire::spec_vectors::get("crc32-check").unwrap();
        let (digits, check) = vector.split_at(9);
        assert_eq!(CRC.checksum(digits).to_le_bytes(), check);
        assert_eq!(CRC.checksum(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn encodes_the_frame_and_its_check_with_cobs() {
        let mut out = [0u8; 16];
        let len = encode_frame(&[0x11, 0x00, 0x22], &mut out).unwrap();
        let check = CRC.checksum(&[0x11, 0x00, 0x22]).to_le_bytes();
        assert!(!check.contains(&0), "the vector's check has no zero byte");
        let mut expected = std::vec![0x02, 0x11, 0x06, 0x22];
        expected.extend_from_slice(&check);
        expected.push(0x00);
        assert_eq!(&out[..len], &expected[..]);
        assert_eq!(
            encode_frame(&[1, 2, 3], &mut out[..8]),
            Err(StreamError::BufferTooSmall { needed: 9, available: 8 })
        );
    }

    #[test]
    fn same_frames_for_every_chunk_size() {
        let input = stream(&[&[0x11, 0x00, 0x22], b"AB"]);
        let whole = decode_all::<16>(&input, input.len());
        assert_eq!(whole, [Ok(std::vec![0x11, 0x00, 0x22]), Ok(b"AB".to_vec())]);
        for chunk in 1..input.len() {
            assert_eq!(decode_all::<16>(&input, chunk), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn a_flipped_bit_fails_the_check_and_decoding_goes_on() {
        let good = stream(&[b"hello"]);
        for bit in 0..8 * (good.len() - 1) {
            let mut input = good.clone();
            input[bit / 8] ^= 1 << (bit % 8);
            input.extend(stream(&[b"next"]));
            let mut decoder = StreamDecoder::<16>::new();
            let mut frames = Vec::new();
            decoder.decode_all(&input, |frame| frames.push(frame.map(<[u8]>::to_vec)));
            // Whatever the noise did, "hello" never comes out, and the next frame does.
            assert!(!frames.contains(&Ok(b"hello".to_vec())), "bit {bit}: {frames:?}");
            assert_eq!(frames.last(), Some(&Ok(b"next".to_vec())), "bit {bit}");
            let stats = decoder.stats();
            assert_eq!(stats.frames, 1, "bit {bit}");
        }
    }

    #[test]
    fn a_frame_shorter_than_its_check_is_dropped() {
        // COBS of [1, 2]: a two-byte "frame" that cannot hold a check.
        let input = [0x03, 1, 2, 0x00];
        assert_eq!(decode_all::<16>(&input, 1), [Err(StreamError::BadCheck)]);
    }

    #[test]
    fn overlong_frame_is_skipped_then_decoding_resumes() {
        // Six bytes and a check into a decoder for four and a check, then a good frame.
        let mut input = stream(&[&[1, 2, 3, 4, 5, 6]]);
        input.extend(stream(&[&[9]]));
        for chunk in 1..=input.len() {
            assert_eq!(
                decode_all::<8>(&input, chunk),
                [Err(StreamError::FrameTooLong { limit: 4 }), Ok(std::vec![9])]
            );
        }
    }

    #[test]
    fn frame_of_exactly_the_limit_is_accepted() {
        let input = stream(&[&[1, 2, 3, 4]]);
        assert_eq!(decode_all::<8>(&input, 1), [Ok(std::vec![1, 2, 3, 4])]);
    }

    #[test]
    fn truncated_run_is_corrupt_and_resyncs() {
        // The code byte promises four bytes, but the delimiter comes after two.
        let mut input = std::vec![0x05, 1, 2, 0x00];
        input.extend(stream(&[&[7]]));
        let mut decoder = StreamDecoder::<16>::new();
        let mut frames = Vec::new();
        decoder.decode_all(&input, |frame| frames.push(frame.map(<[u8]>::to_vec)));
        assert_eq!(frames, [Err(StreamError::Corrupt), Ok(std::vec![7])]);
        assert_eq!((decoder.stats().corrupt, decoder.stats().frames), (1, 1));
    }

    #[test]
    fn spec_vector_stream_ping_ack() {
        use crate::wire::spec_vectors;
        let (stream, ping, ack) = (
            spec_vectors::get("stream-ping-ack").unwrap(),
            spec_vectors::get("ping").unwrap(),
            spec_vectors::get("ack").unwrap(),
        );
        for chunk in 1..=stream.len() {
            assert_eq!(
                decode_all::<MAX_CHECKED_FRAME>(&stream, chunk),
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
