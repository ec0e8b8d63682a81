//! Joins ADDR (default 10.0.2.2:8080, `serve --plaintext` here as QEMU maps it) as `mcu` over
//! smoltcp's UDP and says hi: `cargo run -p minichat-core -F smoltcp --example udp_smoltcp`.
mod stand_in; // this computer's stand-ins for the board's hardware
use minichat_core::transport::{SmoltcpStack, StackMemory};
use minichat_core::{ClientConfig, ClientEvent, SmallClient};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use stand_in::now; // on a board: its tick counter

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = std::env::args().nth(1).unwrap_or("10.0.2.2:8080".into()).parse()?;
    let mut device = stand_in::ip_link::IpLink::new()?; // on a board: its Ethernet driver
    let (mut memory, ip) =
        (StackMemory::<2048>::new(), IpCidr::new(IpAddress::v4(10, 0, 2, 15), 24));
    let mut stack = SmoltcpStack::new(&mut device, HardwareAddress::Ip, ip, 5000, &mut memory)?;
    let mut client = SmallClient::new(ClientConfig::new("mcu", server, stand_in::seed())?, now());
    client.say(now(), "hi")?;
    for _ in 0..2000 {
        stack.turn(now(), &mut device, &mut client, |_| {})?;
        while let Some(event) = client.poll_event() {
            println!("{event:?}");
            match event {
                ClientEvent::Delivered { .. } => return Ok(()),
                ClientEvent::Refused { detail, .. } => return Err(detail.into()),
                _ => {}
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Err("the server did not answer within 10 s".into()) // 2,000 turns 5 ms apart
}
