//! Joins as `mcu` over a serial line LINE (a device, `minichat serve --plaintext --serial` at
//! its other end; or the address of `serve --plaintext --tcp`, which frames bytes the same,
//! default 127.0.0.1:8080): `cargo run -p minichat-core -F embedded-hal-nb --example serial`.
mod stand_in; // this computer's stand-ins for the board's hardware
use minichat_core::transport::UartLink;
use minichat_core::{ClientConfig, ClientEvent, Driver, PointToPoint, SmallClient};
use stand_in::now; // on a board: its tick counter

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let line = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into());
    let mut link = UartLink::new(stand_in::uart::Uart::open(&line)?); // on a board: its UART
    let mut driver = Driver::new();
    let mut client =
        SmallClient::new(ClientConfig::new("mcu", PointToPoint, stand_in::seed())?, now());
    client.say(now(), "hi")?;
    for _ in 0..2000 {
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
    Err("the server did not answer within 10 s".into()) // 2,000 turns 5 ms apart
}
