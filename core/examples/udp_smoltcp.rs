//! Joins the server at ADDR (default 10.0.2.2:8080) as `mcu` over smoltcp's UDP, says hi, and
//! exits once the server took it. The interface, its socket and each turn are a board's code;
//! the network device here, `IpLink`, links the board to this computer, which is 10.0.2.2 on
//! the link as in QEMU's user-mode network (so `minichat serve --plaintext` on 127.0.0.1:8080):
//! `cargo run -p minichat-core --features smoltcp --example udp_smoltcp [ADDR]`.
mod stand_in;

use minichat_core::transport::SmoltcpUdp;
use minichat_core::{ClientConfig, ClientEvent, Driver, Instant, SmallClient};
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::socket::udp::{PacketBuffer, PacketMetadata, Socket};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = std::env::args().nth(1).unwrap_or("10.0.2.2:8080".into()).parse()?;
    let mut device = stand_in::ip_link::IpLink::new()?; // on a board: its Ethernet driver
    let start = std::time::Instant::now(); // on a board: its tick counter
    let ms = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let hardware = Config::new(HardwareAddress::Ip); // on a board: its MAC address
    let mut iface = Interface::new(hardware, &mut device, smoltcp::time::Instant::ZERO);
    let address = IpCidr::new(IpAddress::v4(10, 0, 2, 15), 24);
    iface.update_ip_addrs(|addresses| addresses.push(address).unwrap_or_default());
    let (mut rx_meta, mut rx_data) = ([PacketMetadata::EMPTY; 4], [0; 2048]);
    let (mut tx_meta, mut tx_data) = ([PacketMetadata::EMPTY; 4], [0; 2048]);
    let rx = PacketBuffer::new(&mut rx_meta[..], &mut rx_data[..]);
    let mut socket = Socket::new(rx, PacketBuffer::new(&mut tx_meta[..], &mut tx_data[..]));
    socket.bind(5000)?;
    let mut storage = [SocketStorage::EMPTY];
    let mut sockets = SocketSet::new(&mut storage[..]);
    let udp = sockets.add(socket);
    let seed = u64::try_from(std::time::UNIX_EPOCH.elapsed()?.as_nanos())?; // better: an RNG
    let config = ClientConfig::new("mcu", server, seed)?;
    let mut client = SmallClient::new(config, Instant::from_millis(ms()));
    client.say(Instant::from_millis(ms()), "hi")?;
    let mut driver = Driver::new();
    while start.elapsed().as_secs() < 10 {
        let now = ms();
        iface.poll(smoltcp::time::Instant::from_millis(now as i64), &mut device, &mut sockets);
        let socket = &mut SmoltcpUdp(sockets.get_mut::<Socket>(udp));
        driver.turn(Instant::from_millis(now), socket, &mut client, |_| {})?;
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
    Err("the server did not answer within 10 s".into())
}
