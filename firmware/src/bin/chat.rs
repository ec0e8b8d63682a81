//! A server (8 users) and a client talking over the in-memory wire, with garbage thrown at
//! the server and byte streams through the COBS decoder: every part of minichat-core a
//! firmware would use, linked with a panic handler that must never be referenced.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::net::SocketAddr;

use minichat_core::server::StaticServer;
use minichat_core::stream::{MAX_CHECKED_FRAME, MAX_ENCODED_FRAME, StreamDecoder, encode_frame};
use minichat_core::wire::Message;
use minichat_core::wire::limits::MAX_FRAME;
use minichat_firmware::{
    Clock, End, FirmwareClient, FirmwareServer, Link, RING, RING_BYTES, SerialLine, Wire,
    client_addr, new_client, new_server, opaque_bytes, opaque_name, opaque_text, turn_client,
    turn_server,
};
#[cfg(not(feature = "find-panics"))]
use panic_never as _;

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut clock = Clock::new();
    let mut wire = Wire::new();
    let mut server = new_server();
    let mut client = new_client(clock.tick());
    let mut garbage = [0u8; MAX_FRAME + 8];
    let mut decoder = StreamDecoder::<MAX_CHECKED_FRAME>::new();
    let mut encoded = [0u8; MAX_ENCODED_FRAME];
    let mut driver = minichat_core::Driver::new();
    loop {
        let now = clock.tick();
        turn_server(&mut driver, &mut wire, &mut server, now);
        turn_client(&mut driver, Link { wire: &mut wire, end: End::Client }, &mut client, now);
        match black_box(now.as_millis() % 8) {
            0 => {
                let _ = client.say(now, opaque_text());
            }
            1 => {
                let _ = client.tell(now, opaque_name(), opaque_text());
            }
            #[cfg(feature = "full")]
            2 => {
                let _ = client.who(now);
                let _ = client.echo(now, minichat_core::wire::EchoMode::Upper, opaque_text());
            }
            3 => {
                // Garbage from anywhere: the parser's every error path.
                let bytes = opaque_bytes(&mut garbage);
                wire.inject(black_box(client_addr()), bytes);
                let _ = Message::decode(bytes);
            }
            4 => {
                // A byte stream, as from a serial line.
                let bytes = opaque_bytes(&mut garbage);
                decoder.decode_all(bytes, |frame| {
                    if let Ok(frame) = frame {
                        let _ = black_box(Message::decode(frame));
                    }
                });
                let _ = black_box(encode_frame(bytes, &mut encoded));
            }
            5 => {
                let _ = server.announce(now, opaque_text(), None);
                if let Ok(name) = minichat_core::wire::Name::new(opaque_name()) {
                    let _ = server.announce(now, opaque_text(), Some(name));
                    let _ = server.kick(name);
                }
            }
            6 => {
                // Every observer of both machines, so the proof covers them too.
                black_box((server.config(), server.stats(), server.user_count()));
                for user in server.users() {
                    black_box(user);
                }
                let newest = server.newest_message();
                for seq in server.oldest_message()..=newest {
                    black_box(server.message(seq));
                }
                black_box((client.config(), client.stats(), client.is_joined()));
                black_box((client.session_token(), client.is_closed(), client.pending()));
                black_box((client.max_text(), client.poll_timeout(), server.poll_timeout()));
                client.handle_timeout(now);
                server.handle_timeout(now);
                let _ = black_box(minichat_core::wire::Name::new(opaque_name()));
            }
            _ => {
                if black_box(false) {
                    server.shutdown();
                    let _ = client.leave(now);
                }
            }
        }
    }
}

/// Sizes for the footprint report, computed for this target: the server's state, the same
/// with no user slots, the same with no ring entries, the same with no ring at all, the
/// client's state, and the server with and without its user slots when a user's address
/// is a serial port (one byte) rather than a `SocketAddr`.
#[unsafe(link_section = ".minichat_sizes")]
#[used]
static SIZES: [u32; 7] = [
    size_of::<FirmwareServer>() as u32,
    size_of::<StaticServer<0, RING, SocketAddr, RING_BYTES, 0>>() as u32,
    size_of::<StaticServer<8, 0, SocketAddr, RING_BYTES, 0>>() as u32,
    size_of::<StaticServer<8, 0, SocketAddr, 0, 0>>() as u32,
    size_of::<FirmwareClient>() as u32,
    size_of::<StaticServer<8, RING, SerialLine, RING_BYTES, 0>>() as u32,
    size_of::<StaticServer<0, RING, SerialLine, RING_BYTES, 0>>() as u32,
];
