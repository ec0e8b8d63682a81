//! Joins as `mcu` over a serial line, says hi, and exits once the server took it; every frame
//! crosses the line COBS-encoded with a CRC (`minichat_core::stream`). LINE is a serial device,
//! `minichat serve --plaintext --serial DEVICE` at its other end, or else the address of
//! `minichat serve --plaintext --tcp` (default 127.0.0.1:8080), whose TCP is framed the same:
//! `cargo run -p minichat-core --example serial [LINE]`.
mod stand_in;

use minichat_core::stream::{MAX_ENCODED_FRAME, StreamDecoder, encode_frame};
use minichat_core::wire::limits::MAX_FRAME;
use minichat_core::{ClientConfig, ClientEvent, Instant, PointToPoint, SmallClient};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let line = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into());
    let mut uart = stand_in::uart::Uart::open(&line)?; // on a board: its UART
    let start = std::time::Instant::now();
    let now = || Instant::from_millis(start.elapsed().as_millis().try_into().unwrap_or_default());
    let seed = u64::try_from(std::time::UNIX_EPOCH.elapsed()?.as_nanos())?; // better: an RNG
    let config = ClientConfig::new("mcu", PointToPoint, seed)?;
    let mut client = SmallClient::new(config, now());
    client.say(now(), "hi")?;
    let mut decoder: StreamDecoder = StreamDecoder::new();
    let (mut frame, mut encoded) = ([0; MAX_FRAME], [0; MAX_ENCODED_FRAME]);
    while start.elapsed().as_secs() < 10 {
        while let Some(byte) = uart.read()? {
            let Some(Ok(frame)) = decoder.decode(&[byte]).frame else { continue };
            client.handle(now(), PointToPoint, frame);
        }
        client.handle_timeout(now()); // harmless when nothing is due
        while let Some(sent) = client.poll_transmit(now(), &mut frame) {
            let len = encode_frame(frame.get(..sent.len).unwrap_or_default(), &mut encoded)?;
            uart.write_all(encoded.get(..len).unwrap_or_default())?;
        }
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
