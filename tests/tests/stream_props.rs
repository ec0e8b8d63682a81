//! Property tests of stream framing: the frames that come out do not depend on how the
//! byte stream was split, and what was encoded comes back.

use minichat_core::error::StreamError;
use minichat_core::stream::{MAX_CHECKED_FRAME, StreamDecoder, encode_frame, max_encoded_len};
use minichat_core::wire::limits::MAX_FRAME;
use minichat_tests::seeded;
use minichat_tests::strategies::frame_like_bytes;
use proptest::prelude::*;

type Decoded = Vec<Result<Vec<u8>, StreamError>>;

/// Feeds `stream` to a fresh decoder in pieces cut at `cuts` (byte offsets, any order).
fn decode_in_pieces(stream: &[u8], cuts: &[usize]) -> Decoded {
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    bounds.extend([0, stream.len()]);
    bounds.sort_unstable();
    let mut decoder = StreamDecoder::<MAX_CHECKED_FRAME>::new();
    let mut out = Vec::new();
    for piece in bounds.windows(2) {
        decoder.decode_all(&stream[piece[0]..piece[1]], |frame| {
            out.push(frame.map(<[u8]>::to_vec));
        });
    }
    out
}

/// COBS-encodes any length, past the decoder's limit too (to test that limit).
fn encode_any(frame: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; max_encoded_len(frame.len())];
    let len = encode_frame(frame, &mut out).unwrap();
    out.truncate(len);
    out
}

fn frames() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let frame = prop_oneof![
        8 => frame_like_bytes(),
        1 => proptest::collection::vec(any::<u8>(), MAX_FRAME - 2..MAX_FRAME + 300),
        1 => proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 250..520),
    ];
    proptest::collection::vec(frame, 0..8)
}

proptest! {
    #![proptest_config(seeded(1024))]

    #[test]
    fn encoded_frames_come_back_in_order(frames in frames(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
        let stream: Vec<u8> = frames.iter().flat_map(|f| encode_any(f)).collect();
        // An empty frame still carries its check, so it comes back (empty).
        let expected: Decoded = frames
            .iter()
            .map(|f| {
                if f.len() <= MAX_FRAME { Ok(f.clone()) } else { Err(StreamError::FrameTooLong { limit: MAX_FRAME }) }
            })
            .collect();
        prop_assert_eq!(decode_in_pieces(&stream, &cuts), expected);
    }

    #[test]
    fn any_split_of_any_stream_gives_the_same_frames(
        frames in frames(),
        garbage in proptest::collection::vec((any::<usize>(), proptest::collection::vec(any::<u8>(), 1..40)), 0..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..16),
    ) {
        let mut stream: Vec<u8> = frames.iter().flat_map(|f| encode_any(f)).collect();
        for (at, junk) in garbage {
            let at = at % (stream.len() + 1);
            stream.splice(at..at, junk);
        }
        let whole = decode_in_pieces(&stream, &[]);
        prop_assert_eq!(decode_in_pieces(&stream, &cuts), whole.clone());
        let bytewise: Vec<usize> = (0..stream.len()).collect();
        prop_assert_eq!(decode_in_pieces(&stream, &bytewise), whole);
    }
}

#[test]
fn resynchronises_after_garbage() {
    let frame = b"\xff\x02\x24\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x05";
    let mut stream = b"\x07junk".to_vec(); // a frame cut off: the line started mid-way
    stream.push(0);
    stream.extend(encode_any(frame));
    assert_eq!(decode_in_pieces(&stream, &[]), [Err(StreamError::Corrupt), Ok(frame.to_vec())]);
}
