//! Any datagram: the frame view and the parser never panic, and whatever parses
//! re-emits to the identical bytes (one encoding per message).
#![no_main]

use libfuzzer_sys::fuzz_target;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::wire::{Frame, Message};

fuzz_target!(|data: &[u8]| {
    let frame = Frame::new_unchecked(data);
    let _ = (frame.kind(), frame.token(), frame.body(), frame.check_len());

    if let Ok(message) = Message::decode(data) {
        let mut buf = [0u8; MAX_FRAME];
        let len = message.encode(&mut buf).expect("a parsed message must re-emit");
        assert_eq!(len, message.buffer_len());
        assert_eq!(&buf[..len], data, "{message:?} re-emitted differently");
        assert_eq!(Frame::new_unchecked(data).token(), message.token());
    }
});
