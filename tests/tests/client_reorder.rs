//! The client's handling of deliveries that arrive out of order: held, acknowledged
//! selectively, and handed over in order once the gap is filled.

use minichat_core::client::{Client, ClientConfig, OwnedClientEvent};
use minichat_core::time::Instant;
use minichat_core::wire::{Message, Name, Token};

const TOKEN: Token = Token(0xfeed);

fn frame(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

/// A client that has joined, and the address of its server.
fn joined<const B: usize>() -> (Client<4, 16, B>, std::net::SocketAddr) {
    let server = "127.0.0.1:9".parse().unwrap();
    let mut client =
        Client::<4, 16, B>::new(ClientConfig::new("me", server, 0x5eed).unwrap(), Instant::ZERO);
    let mut buf = [0u8; 1024];
    let join = client.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    let Ok(Message::Join { nonce, window, .. }) = Message::decode(&buf[..join.len]) else {
        panic!("a join")
    };
    assert_eq!(usize::from(window), B + 1, "the join says how many deliveries the client takes");
    let welcome = Message::Welcome {
        token: TOKEN,
        nonce,
        keepalive_ms: 15_000,
        max_text: 989,
        rate_per_sec: 0,
        name: Name::new("me").unwrap(),
    };
    client.handle(Instant::ZERO, server, &frame(&welcome));
    assert!(client.is_joined());
    (client, server)
}

fn deliver(seq: u32, text: &str) -> Vec<u8> {
    frame(&Message::Deliver {
        token: TOKEN,
        seq,
        direct: false,
        history: false,
        from: Name::new("them").unwrap(),
        text,
    })
}

/// The acknowledgement the client sends now.
fn ack<const B: usize>(client: &mut Client<4, 16, B>) -> (u32, u32) {
    let mut buf = [0u8; 1024];
    loop {
        let t = client.poll_transmit(Instant::ZERO, &mut buf).expect("an ack");
        if let Ok(Message::Ack { seq, sack, .. }) = Message::decode(&buf[..t.len]) {
            return (seq, sack);
        }
    }
}

fn texts<const B: usize>(client: &mut Client<4, 16, B>) -> Vec<String> {
    std::iter::from_fn(|| client.poll_event().map(|e| e.into_owned()))
        .filter_map(|e| match e {
            OwnedClientEvent::Message { text, .. } => Some(text.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn early_deliveries_are_held_acknowledged_selectively_and_released_in_order() {
    let (mut client, server) = joined::<4>();
    let _ = texts(&mut client);
    client.handle(Instant::ZERO, server, &deliver(3, "three"));
    client.handle(Instant::ZERO, server, &deliver(2, "two"));
    client.handle(Instant::ZERO, server, &deliver(5, "five"));
    assert!(texts(&mut client).is_empty(), "nothing before 1 arrives");
    // Holds 2, 3 and 5: bits 0, 1 and 3 after the last accepted (0).
    assert_eq!(ack(&mut client), (0, 0b1011));
    client.handle(Instant::ZERO, server, &deliver(1, "one"));
    assert_eq!(texts(&mut client), ["one", "two", "three"]);
    assert_eq!(ack(&mut client), (3, 0b1));
    client.handle(Instant::ZERO, server, &deliver(4, "four"));
    client.handle(Instant::ZERO, server, &deliver(4, "four again"));
    assert_eq!(texts(&mut client), ["four", "five"]);
    assert_eq!(ack(&mut client), (5, 0));
}

#[test]
fn deliveries_beyond_what_can_be_held_are_dropped_and_come_again() {
    let (mut client, server) = joined::<2>();
    let _ = texts(&mut client);
    for seq in [2, 3, 4, 5] {
        client.handle(Instant::ZERO, server, &deliver(seq, &format!("m{seq}")));
    }
    // Only 2 and 3 fit.
    assert_eq!(ack(&mut client), (0, 0b11));
    client.handle(Instant::ZERO, server, &deliver(1, "m1"));
    assert_eq!(texts(&mut client), ["m1", "m2", "m3"]);
    client.handle(Instant::ZERO, server, &deliver(4, "m4"));
    assert_eq!(texts(&mut client), ["m4"]);
}

#[test]
fn a_missed_notice_hands_over_what_is_held_and_counts_the_rest() {
    let (mut client, server) = joined::<4>();
    let _ = texts(&mut client);
    client.handle(Instant::ZERO, server, &deliver(3, "three"));
    client.handle(Instant::ZERO, server, &frame(&Message::Missed { token: TOKEN, seq: 4 }));
    let events: Vec<OwnedClientEvent> =
        std::iter::from_fn(|| client.poll_event().map(|e| e.into_owned())).collect();
    assert!(events.contains(&OwnedClientEvent::Missed { count: 3 }), "{events:?}");
    assert!(
        events.iter().any(
            |e| matches!(e, OwnedClientEvent::Message { text, .. } if text.as_str() == "three")
        )
    );
    assert_eq!(ack(&mut client), (4, 0));
}
