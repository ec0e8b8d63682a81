//! A client alone, with whatever the network brings: the footprint of a client-only
//! firmware, under the same no-panic proof. The default build is the full client (it asks
//! who is on and for echoes); `--no-default-features` builds the minimal one.
#![no_std]
#![no_main]

use core::hint::black_box;

use minichat_core::wire::limits::MAX_FRAME;
use minichat_firmware::{
    Clock, End, Link, Wire, new_client, opaque_bytes, opaque_text, server_addr, turn_client,
};
#[cfg(not(feature = "find-panics"))]
use panic_never as _;

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut clock = Clock::new();
    let mut wire = Wire::new();
    let mut client = new_client(clock.tick());
    let mut from_network = [0u8; MAX_FRAME + 8];
    let mut driver = minichat_core::Driver::new();
    loop {
        let now = clock.tick();
        // Whatever arrives, from the server's address.
        let mut server_end = Link { wire: &mut wire, end: End::Server };
        let _ = minichat_core::transport::Datagram::send_to(
            &mut server_end,
            server_addr(),
            opaque_bytes(&mut from_network),
        );
        turn_client(&mut driver, Link { wire: &mut wire, end: End::Client }, &mut client, now);
        if black_box(now.as_millis().is_multiple_of(3)) {
            let _ = client.say(now, opaque_text());
        }
        #[cfg(feature = "full")]
        if black_box(now.as_millis().is_multiple_of(7)) {
            let _ = client.who(now);
            let _ = client.echo(now, minichat_core::wire::EchoMode::Upper, opaque_text());
        }
    }
}
