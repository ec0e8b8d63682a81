//! Any byte stream, split into pieces chosen by the first input byte: decoding never
//! panics, gives the same frames and errors as decoding the whole stream at once, and
//! every decoded frame goes through the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minichat_core::error::StreamError;
use minichat_core::stream::{MAX_CHECKED_FRAME, StreamDecoder};
use minichat_core::wire::Message;

fn decode(
    stream: &[u8],
    mut piece_len: impl FnMut() -> usize,
) -> Vec<Result<Vec<u8>, StreamError>> {
    let mut decoder = StreamDecoder::<MAX_CHECKED_FRAME>::new();
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(piece_len().clamp(1, rest.len()));
        rest = tail;
        decoder.decode_all(piece, |frame| {
            if let Ok(frame) = frame {
                let _ = Message::decode(frame);
            }
            out.push(frame.map(<[u8]>::to_vec));
        });
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else { return };
    let whole = decode(stream, || usize::MAX);
    // A small linear congruential generator: deterministic piece lengths from the seed.
    let mut state = u32::from(seed) | 1;
    let pieces = decode(stream, || {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (state >> 16) as usize % 64
    });
    assert_eq!(whole, pieces);
});
