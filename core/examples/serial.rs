//! Joins as `mcu` over a serial line LINE (a device, `minichat serve --plaintext --serial` at
//! its other end; or the address of `serve --plaintext --tcp`, which frames bytes the same,
//! default 127.0.0.1:8080): `cargo run -p minichat-core -F embedded-hal-nb --example serial`.
mod stand_in;

use minichat_core::transport::UartLink;
use minichat_core::{ClientConfig, ClientEvent, Driver, Instant, PointToPoint, SmallClient};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let line = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into());
    let mut link = UartLink::new(stand_in::uart::Uart::open(&line)?); // on a board: its UART
    let (start, mut driver) = (std::time::Instant::now(), Driver::new());
    let now = || Instant::from_millis(start.elapsed().as_millis().try_into().unwrap_or_default());
    let seed = u64::try_from(std::time::UNIX_EPOCH.elapsed()?.as_nanos())?; // better: an RNG
    let mut client = SmallClient::new(ClientConfig::new("mcu", PointToPoint, seed)?, now());
    client.say(now(), "hi")?;
    while start.elapsed().as_secs() < 10 {
        driver.turn(now(), &mut link, &mut client, |_| {})?;
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
