//! A client over smoltcp's UDP socket through the core's adapter: firmware on smoltcp
//! links. smoltcp's own code may panic, so this build has an ordinary panic handler and
//! proves only that it links.
#![no_std]
#![no_main]

use core::hint::black_box;

use minichat_core::client::{Client, ClientConfig};
use minichat_core::transport::{Driver, SmoltcpUdp};
use minichat_core::wire::NameBuf;
use minichat_firmware::{Clock, opaque_name, opaque_text, server_addr};
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
    let name = NameBuf::parse(opaque_name()).unwrap_or(NameBuf::OPERATOR);
    let mut client = Client::<4, 4, 4>::new(ClientConfig::new(name, server_addr()), clock.tick());
    loop {
        let now = clock.tick();
        // On a device, smoltcp's interface would be polled here to move the packets.
        let _ = Driver::new(SmoltcpUdp(&mut socket)).pump(&mut client, now, |_, _, _| {});
        while let Some(event) = client.poll_event() {
            black_box(event);
        }
        if black_box(now.as_millis().is_multiple_of(3)) {
            let _ = client.say(now, opaque_text());
        }
    }
}
