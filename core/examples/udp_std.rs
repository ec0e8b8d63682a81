//! Joins the server at ADDR (default 127.0.0.1:8080; `cargo run -p host -- serve --plaintext`
//! starts one) as `mcu` over UDP, says hi, and exits once the server took it:
//! `cargo run -p minichat-core --features std --example udp_std [ADDR]`.

use minichat_core::{ClientConfig, ClientEvent, Driver, Instant, SmallClient};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into()).parse()?;
    let mut socket = std::net::UdpSocket::bind("0.0.0.0:0")?;
    socket.set_nonblocking(true)?;
    let (start, mut driver) = (std::time::Instant::now(), Driver::new());
    let now = || Instant::from_millis(start.elapsed().as_millis().try_into().unwrap_or_default());
    let seed = u64::try_from(std::time::UNIX_EPOCH.elapsed()?.as_nanos())?; // better: an RNG
    let config = ClientConfig::new("mcu", server, seed)?;
    let mut client = SmallClient::new(config, now());
    client.say(now(), "hi")?;
    while start.elapsed().as_secs() < 10 {
        driver.turn(now(), &mut socket, &mut client, |_| {})?;
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
