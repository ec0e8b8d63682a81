//! Property tests of the wire codec: every message round-trips, and arbitrary bytes
//! never panic the parser and have at most one encoding.

use minichat_core::error::WireError;
use minichat_core::wire::limits::{HEADER_LEN, MAX_FRAME, MAX_FRAME_U16};
use minichat_core::wire::{Frame, Kind, Message};
use minichat_tests::seeded;
use minichat_tests::strategies::{frame_like_bytes, message_seed};
use proptest::prelude::*;

proptest! {
    #![proptest_config(seeded(4096))]

    #[test]
    fn parse_of_emit_is_identity(seed in message_seed()) {
        let message = seed.message();
        let mut buf = [0u8; MAX_FRAME];
        let len = message.encode(&mut buf).unwrap();
        prop_assert_eq!(len, message.buffer_len());
        prop_assert!(len <= MAX_FRAME);
        prop_assert_eq!(Message::decode(&buf[..len]), Ok(message));
        // The token a server peeks at before parsing is the message's token.
        prop_assert_eq!(Frame::new_checked(&buf[..len]).unwrap().token(), message.token());
    }

    #[test]
    fn emit_into_a_short_buffer_is_an_error(seed in message_seed(), short in 0usize..64) {
        let message = seed.message();
        let len = message.buffer_len();
        let mut buf = vec![0u8; len.saturating_sub(1 + short % len)];
        let result = message.encode(&mut buf);
        prop_assert!(
            matches!(result, Err(WireError::BufferTooSmall { .. })),
            "{:?} into {} bytes gave {:?}", message.kind(), buf.len(), result
        );
    }

    /// Every field of a valid frame is valid, so a cut anywhere after the header can only be
    /// `Truncated`: never an error about the zeros a short read leaves (the parser reads
    /// fields without a branch each and checks once, `wire/cursor.rs`). The kinds whose
    /// last field takes the rest of the frame stay valid when cut within that field, and a
    /// join cut just before its optional `max frame` is a join of the protocol's frames.
    #[test]
    fn a_frame_cut_short_is_truncated_whatever_its_fields(seed in message_seed()) {
        let message = seed.message();
        let mut buf = [0u8; MAX_FRAME];
        let len = message.encode(&mut buf).unwrap();
        let kind = message.kind();
        for cut in HEADER_LEN..len {
            match Message::decode(&buf[..cut]) {
                Err(WireError::Truncated { kind: k }) => prop_assert_eq!(k, kind),
                Ok(m) if matches!(kind, Kind::Hello | Kind::HelloKey | Kind::Answer | Kind::Sealed) => {
                    prop_assert_eq!(m.kind(), kind);
                }
                Ok(Message::Join { max_frame, .. }) if kind == Kind::Join && cut == len - 2 => {
                    prop_assert_eq!(max_frame, MAX_FRAME_U16);
                }
                other => prop_assert!(false, "{:?} cut to {} bytes gave {:?}", kind, cut, other),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_reencode_identically(bytes in frame_like_bytes()) {
        if let Ok(message) = Message::decode(&bytes) {
            let mut buf = [0u8; MAX_FRAME];
            let len = message.encode(&mut buf).unwrap();
            prop_assert_eq!(&buf[..len], &bytes[..], "{:?}", message);
        }
    }
}

#[test]
fn oversized_datagram_is_rejected_before_parsing() {
    let mut bytes = vec![0u8; MAX_FRAME + 1];
    bytes[..3].copy_from_slice(&[0xff, minichat_core::wire::limits::VERSION, 0x10]);
    assert_eq!(Message::decode(&bytes), Err(WireError::FrameTooLong { len: MAX_FRAME + 1 }));
}

#[test]
fn longest_text_fits_every_text_frame() {
    use minichat_core::wire::limits::{MAX_NAME, MAX_TEXT};
    use minichat_core::wire::{EchoMode, Name, Token};
    let text = "x".repeat(MAX_TEXT);
    let long_name = "n".repeat(MAX_NAME);
    let name = Name::new(&long_name).unwrap();
    let token = Token(1);
    for message in [
        Message::Say { token, seq: 1, text: &text },
        Message::Tell { token, seq: 1, to: name, text: &text },
        Message::Deliver { token, seq: 1, direct: true, history: false, from: name, text: &text },
        Message::Echo { token, req: 1, mode: EchoMode::Upper, text: &text },
        Message::EchoReply { token, req: 1, mode: EchoMode::Upper, text: &text },
    ] {
        let mut buf = [0u8; MAX_FRAME];
        let len = message.encode(&mut buf).unwrap();
        assert_eq!(Message::decode(&buf[..len]), Ok(message));
    }
    let deliver =
        Message::Deliver { token, seq: 1, direct: true, history: false, from: name, text: &text };
    assert_eq!(deliver.buffer_len(), MAX_FRAME, "deliver is the largest frame and fills it");
    let too_long = "x".repeat(MAX_TEXT + 1);
    let say = Message::Say { token, seq: 1, text: &too_long };
    let mut buf = [0u8; 2 * MAX_FRAME];
    assert_eq!(say.encode(&mut buf), Err(WireError::TextTooLong { len: MAX_TEXT + 1 }));
}
