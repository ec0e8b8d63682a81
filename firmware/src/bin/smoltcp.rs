//! A client over smoltcp's UDP socket through the core's adapter: firmware on smoltcp
//! links. smoltcp's own code may panic, so this build has an ordinary panic handler and
//! proves only that it links.
#![no_std]
#![no_main]

use core::hint::black_box;

use minichat_core::transport::SmoltcpUdp;
use minichat_firmware::{Clock, new_client, opaque_text, turn_client};
use smoltcp::socket::udp;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    minichat_firmware::halt()
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let mut clock = Clock::new();
    let mut rx_meta = [udp::PacketMetadata::EMPTY; 4];
    let mut rx_data = [0u8; 4096];
    let mut tx_meta = [udp::PacketMetadata::EMPTY; 4];
    let mut tx_data = [0u8; 4096];
    let mut socket = udp::Socket::new(
        udp::PacketBuffer::new(&mut rx_meta[..], &mut rx_data[..]),
        udp::PacketBuffer::new(&mut tx_meta[..], &mut tx_data[..]),
    );
    let _ = socket.bind(black_box(5000));
    let mut client = new_client(clock.tick());
    let mut driver = minichat_core::Driver::new();
    loop {
        let now = clock.tick();
        // On a device, smoltcp's interface would be polled here to move the packets.
        turn_client(&mut driver, SmoltcpUdp(&mut socket), &mut client, now);
        if black_box(now.as_millis().is_multiple_of(3)) {
            let _ = client.say(now, opaque_text());
        }
    }
}
