//! The client's event arena (issue 26): a text is a view into the client, valid until the
//! next `poll_event`; a message longer than the arena could ever hold reaches the
//! application as a loss it is told of, acknowledged, never silently dropped; one that
//! does not fit yet waits for the application, unacknowledged, and comes again; the
//! outbox refuses a text longer than it holds.

use minichat_core::client::{Client, ClientConfig, ClientEvent};
use minichat_core::time::Instant;
use minichat_core::wire::{Message, Name, Token};

const TOKEN: Token = Token(0xfeed);

/// 1 message in flight in 64 bytes, 8 events whose texts share 32 bytes, none held early.
type TinyClient = Client<1, 8, 0, std::net::SocketAddr, 64, 32>;

fn frame(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; message.buffer_len()];
    message.encode(&mut buf).unwrap();
    buf
}

fn joined() -> (TinyClient, std::net::SocketAddr) {
    let server = "127.0.0.1:9".parse().unwrap();
    let config = ClientConfig::new("me", server, 0x5eed).unwrap();
    let mut client = TinyClient::new(config, Instant::ZERO);
    let mut buf = [0u8; 1024];
    let join = client.poll_transmit(Instant::ZERO, &mut buf).unwrap();
    let Ok(Message::Join { nonce, .. }) = Message::decode(&buf[..join.len]) else {
        panic!("a join")
    };
    let name = Name::new("me").unwrap();
    let welcome = Message::Welcome {
        token: TOKEN,
        nonce,
        keepalive_ms: 15_000,
        max_text: 989,
        rate_per_sec: 0,
        name,
    };
    client.handle(Instant::ZERO, server, &frame(&welcome));
    assert!(matches!(client.poll_event(), Some(ClientEvent::Joined { .. })));
    (client, server)
}

fn deliver(seq: u32, text: &str) -> Vec<u8> {
    let from = Name::new("them").unwrap();
    frame(&Message::Deliver { token: TOKEN, seq, direct: false, history: false, from, text })
}

/// The acknowledgement the client sends once its delay is over, if any.
fn ack(client: &mut TinyClient) -> Option<u32> {
    let (mut buf, later) = ([0u8; 1024], Instant::from_millis(100));
    client.handle_timeout(later);
    while let Some(t) = client.poll_transmit(later, &mut buf) {
        if let Ok(Message::Ack { seq, .. }) = Message::decode(&buf[..t.len]) {
            return Some(seq);
        }
    }
    None
}

#[test]
fn a_message_longer_than_the_arena_is_a_loss_the_application_is_told_of() {
    let (mut client, server) = joined();
    let long = "x".repeat(33);
    client.handle(Instant::ZERO, server, &deliver(1, &long));
    client.handle(Instant::ZERO, server, &deliver(2, "after"));
    assert_eq!(client.poll_event(), Some(ClientEvent::Missed { count: 1 }));
    let event = client.poll_event();
    assert!(matches!(event, Some(ClientEvent::Message { text: "after", .. })), "{event:?}");
    assert_eq!(ack(&mut client), Some(2), "the long one is acknowledged: it is not sent again");
    assert_eq!(client.stats().too_long, 1);
}

#[test]
fn a_message_with_no_room_yet_waits_unacknowledged_and_is_taken_when_it_comes_again() {
    let (mut client, server) = joined();
    let (first, second) = ("a".repeat(20), "b".repeat(20));
    client.handle(Instant::ZERO, server, &deliver(1, &first));
    client.handle(Instant::ZERO, server, &deliver(2, &second));
    assert_eq!(client.stats().deferred, 1, "20 + 20 bytes: the second has no room yet");
    assert_eq!(ack(&mut client), Some(1), "only the first is acknowledged");
    let event = client.poll_event();
    assert!(matches!(event, Some(ClientEvent::Message { text, .. }) if text == first));
    // The first text stays until the next poll, so the second still has no room.
    client.handle(Instant::ZERO, server, &deliver(2, &second));
    assert_eq!(client.stats().deferred, 2);
    assert!(client.poll_event().is_none(), "that poll let the first text go");
    client.handle(Instant::ZERO, server, &deliver(2, &second));
    let event = client.poll_event();
    assert!(matches!(event, Some(ClientEvent::Message { text, .. }) if text == second));
}

#[test]
fn a_text_longer_than_the_outbox_is_refused_with_the_outbox_size() {
    let (mut client, _) = joined();
    let now = Instant::ZERO;
    assert_eq!(
        client.say(now, &"y".repeat(65)).unwrap_err().to_string(),
        "the text is 65 bytes long, longer than the client's 64-byte outbox holds"
    );
    assert_eq!(client.max_text(), 64, "what say takes: the outbox, under the server's limit");
    client.say(now, &"z".repeat(64)).unwrap();
    assert!(client.say(now, "more").is_err(), "one message in flight");
}
