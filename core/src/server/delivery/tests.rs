//! The delivery cursor's tests.

use super::*;
use crate::server::ring::Recipient;
use crate::wire::Name;

use crate::time::Duration;
use crate::wire::limits::MAX_FRAME;

use crate::name_policy::NameKey;
use crate::server::ring::Member;
use crate::wire::Token;

const ME: Member = Member { token: Token(7), key: NameKey::PLACEHOLDER };

fn bounds() -> RttBounds {
    RttBounds::new(
        Duration::from_millis(100),
        Duration::from_millis(20),
        Duration::from_millis(800),
    )
}

fn rtt() -> RttEstimator {
    RttEstimator::new(&bounds())
}

fn push<M: Storage<MessageSlot>, B: Storage<u8>>(
    ring: &mut Ring<M, B>,
    to: Recipient,
) -> Option<Evicted> {
    let mut gone = None;
    ring.push(Name::new("other").unwrap(), to, None, "x", |e| gone = Some(e));
    gone
}

fn drain<M: Storage<MessageSlot>, B: Storage<u8>>(
    cursor: &mut DeliveryCursor,
    ring: &Ring<M, B>,
    window: u32,
) -> std::vec::Vec<Next> {
    core::iter::from_fn(|| cursor.next(ring, ME, (window, MAX_FRAME), Instant::ZERO)).collect()
}

#[test]
fn numbers_only_entries_for_me_and_respects_the_window() {
    let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
    push(&mut ring, Recipient::Room); // 1: for me
    push(&mut ring, Recipient::User(Token(99))); // 2: for someone else
    push(&mut ring, Recipient::User(ME.token)); // 3: for me
    push(&mut ring, Recipient::Room); // 4: for me
    let mut cursor = DeliveryCursor::new(0, 0, 1, rtt());
    assert_eq!(
        drain(&mut cursor, &ring, 2),
        [
            Next::Deliver { seq: 1, room_seq: 1, history: false },
            Next::Deliver { seq: 2, room_seq: 3, history: false }
        ]
    );
    assert!(cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert_eq!(
        drain(&mut cursor, &ring, 2),
        [Next::Deliver { seq: 3, room_seq: 4, history: false }]
    );
    assert!(
        !cursor.on_ack(5, 0, &ring, ME, Instant::ZERO, &bounds()),
        "acks beyond what was sent are ignored"
    );
    assert!(cursor.on_ack(3, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert_eq!(cursor.in_flight(), 0);
    assert_eq!(cursor.retransmit_at(), None);
}

#[test]
fn timeout_rewinds_to_the_first_unacknowledged_with_backoff() {
    let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
    for _ in 0..3 {
        push(&mut ring, Recipient::Room);
    }
    let mut cursor = DeliveryCursor::new(0, 0, 1, rtt());
    assert_eq!(drain(&mut cursor, &ring, 8).len(), 3);
    // A 50 ms round trip: srtt 50, rttvar 25, so a 150 ms timeout.
    let acked = Instant::from_millis(50);
    cursor.on_ack(1, 0, &ring, ME, acked, &bounds());
    let at = cursor.retransmit_at().unwrap();
    assert_eq!(at, acked + Duration::from_millis(150));
    assert!(!cursor.on_timeout(Instant::from_millis(u64::from(at.as_millis()) - 1), &bounds()));
    assert!(cursor.on_timeout(at, &bounds()));
    assert_eq!(
        drain(&mut cursor, &ring, 8),
        [
            Next::Deliver { seq: 2, room_seq: 2, history: false },
            Next::Deliver { seq: 3, room_seq: 3, history: false }
        ]
    );
    // Doubled to 300 ms, then 600, then capped at 800.
    let now = Instant::ZERO;
    assert!(cursor.on_timeout(cursor.retransmit_at().unwrap(), &bounds()));
    cursor.next(&ring, ME, (8, MAX_FRAME), now);
    assert_eq!(cursor.retransmit_at(), Some(now + Duration::from_millis(600)));
    assert!(cursor.on_timeout(cursor.retransmit_at().unwrap(), &bounds()));
    cursor.next(&ring, ME, (8, MAX_FRAME), now);
    assert_eq!(cursor.retransmit_at(), Some(now + Duration::from_millis(800)));
}

#[test]
fn an_ack_from_before_a_rewind_still_counts() {
    let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
    for _ in 0..4 {
        push(&mut ring, Recipient::Room);
    }
    let mut cursor = DeliveryCursor::new(0, 0, 1, rtt());
    assert_eq!(drain(&mut cursor, &ring, 8).len(), 4);
    cursor.on_timeout(cursor.retransmit_at().unwrap(), &bounds());
    // The acknowledgement of the first pass arrives after the rewind.
    assert!(cursor.on_ack(3, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert_eq!(
        drain(&mut cursor, &ring, 8),
        [Next::Deliver { seq: 4, room_seq: 4, history: false }]
    );
    assert!(cursor.on_ack(4, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert_eq!(cursor.in_flight(), 0);
}

#[test]
fn three_duplicate_acks_resend_from_the_gap_once() {
    let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
    for _ in 0..6 {
        push(&mut ring, Recipient::Room);
    }
    let mut cursor = DeliveryCursor::new(0, 0, 1, rtt());
    assert_eq!(drain(&mut cursor, &ring, 8).len(), 6);
    // 1 arrived, 2 was lost, 3..6 arrived: the recipient acks 1 four times.
    assert!(cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert!(!cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert!(!cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert!(
        cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()),
        "the third duplicate resends"
    );
    assert_eq!(
        drain(&mut cursor, &ring, 8).first(),
        Some(&Next::Deliver { seq: 2, room_seq: 2, history: false })
    );
    for _ in 0..5 {
        assert!(
            !cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()),
            "no second fast resend before progress"
        );
    }
    assert!(cursor.on_ack(6, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert_eq!(cursor.in_flight(), 0);
}

#[test]
fn the_timeout_follows_the_measured_round_trip() {
    let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
    push(&mut ring, Recipient::Room);
    let mut cursor = DeliveryCursor::new(0, 0, 1, rtt());
    let t0 = Instant::from_millis(1000);
    assert!(cursor.next(&ring, ME, (8, MAX_FRAME), t0).is_some());
    assert_eq!(cursor.retransmit_at(), Some(t0 + Duration::from_millis(100)));
    cursor.on_ack(1, 0, &ring, ME, t0 + Duration::from_millis(10), &bounds());
    push(&mut ring, Recipient::Room);
    let t1 = Instant::from_millis(2000);
    assert!(cursor.next(&ring, ME, (8, MAX_FRAME), t1).is_some());
    // srtt 10 ms, rttvar 5 ms: 30 ms.
    assert_eq!(cursor.retransmit_at(), Some(t1 + Duration::from_millis(30)));
}

#[test]
fn eviction_of_unacknowledged_entries_becomes_a_missed_notice() {
    let mut ring = Ring::<[MessageSlot; 2], [u8; 1024]>::new();
    let mut cursor = DeliveryCursor::new(0, 0, 1, rtt());
    push(&mut ring, Recipient::Room); // 1
    assert_eq!(
        drain(&mut cursor, &ring, 8),
        [Next::Deliver { seq: 1, room_seq: 1, history: false }]
    );
    push(&mut ring, Recipient::Room); // 2
    for _ in 0..2 {
        // 3 evicts 1 (sent, unacked), 4 evicts 2 (never sent)
        if let Some(evicted) = push(&mut ring, Recipient::Room) {
            cursor.on_evict(&evicted, ME, Instant::ZERO);
        }
    }
    assert_eq!(
        drain(&mut cursor, &ring, 8),
        [
            Next::Missed { seq: 2, too_long: false },
            Next::Deliver { seq: 3, room_seq: 3, history: false },
            Next::Deliver { seq: 4, room_seq: 4, history: false }
        ]
    );
    // The recipient had in fact received 1 before it was evicted; it acknowledges the
    // missed notice (2), then the rest.
    assert!(cursor.on_ack(2, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert!(cursor.on_ack(4, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert_eq!(cursor.in_flight(), 0);
    assert_eq!(cursor.retransmit_at(), None);
}

#[test]
fn positions_compare_across_the_32_bit_boundary() {
    // Room numbers from 2^32 - 3: the cursor's 32-bit positions wrap while it works.
    let first = (1u64 << 32) - 3;
    let mut ring = Ring::<[MessageSlot; 4], [u8; 1024]>::new().numbered_from(first);
    push(&mut ring, Recipient::Room);
    push(&mut ring, Recipient::Room);
    // Joined after the first two: they are history, the rest are not.
    let mut cursor = DeliveryCursor::new(first - 1, first + 1, 1, rtt());
    push(&mut ring, Recipient::User(Token(99))); // for someone else: 2^32 - 1
    push(&mut ring, Recipient::Room); // 2^32
    let deliver = |seq, room_seq, history| Next::Deliver { seq, room_seq, history };
    assert_eq!(
        drain(&mut cursor, &ring, 8),
        [deliver(1, first, true), deliver(2, first + 1, true), deliver(3, first + 3, false)]
    );
    // Everything up to 3 arrived but 2: a timeout resends only 2.
    assert!(cursor.on_ack(1, 0b1, &ring, ME, Instant::ZERO, &bounds()));
    cursor.on_timeout(cursor.retransmit_at().unwrap(), &bounds());
    assert_eq!(drain(&mut cursor, &ring, 8), [deliver(2, first + 1, true)]);
    assert!(cursor.on_ack(3, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert_eq!(cursor.done(&ring), (3, first + 3));
    // Two more push out the oldest two; the cursor, done with them, is not held up.
    for _ in 0..2 {
        if let Some(evicted) = push(&mut ring, Recipient::Room) {
            assert!(!cursor.holds_up(evicted.seq));
            assert!(!cursor.on_evict(&evicted, ME, Instant::ZERO));
        }
    }
    assert!(cursor.holds_up(first + 4) && !cursor.holds_up(first + 3));
    assert_eq!(
        drain(&mut cursor, &ring, 8),
        [deliver(4, first + 4, false), deliver(5, first + 5, false)]
    );
    assert!(cursor.on_ack(5, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert_eq!((cursor.in_flight(), cursor.done(&ring)), (0, (5, first + 5)));
}

#[test]
fn an_entry_too_long_for_the_recipient_waits_for_what_went_before_then_is_told_missed() {
    let mut ring = Ring::<[MessageSlot; 16], [u8; 1024]>::new();
    let long = "y".repeat(300);
    push(&mut ring, Recipient::Room); // 1
    ring.push(Name::new("other").unwrap(), Recipient::Room, None, &long, |_| {}); // 2
    push(&mut ring, Recipient::Room); // 3
    let entry = ring.get(2).unwrap();
    let deliver = crate::wire::Message::Deliver {
        token: ME.token,
        seq: 2,
        direct: false,
        history: false,
        from: entry.from,
        text: entry.text,
    };
    assert_eq!(entry.deliver_len(), deliver.buffer_len(), "the length is the frame's");
    let mut cursor = DeliveryCursor::new(0, 0, 1, rtt());
    let limits = (8, 256);
    assert_eq!(
        cursor.next(&ring, ME, limits, Instant::ZERO),
        Some(Next::Deliver { seq: 1, room_seq: 1, history: false })
    );
    assert_eq!(cursor.next(&ring, ME, limits, Instant::ZERO), None, "1 is still out");
    assert!(cursor.on_ack(1, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert_eq!(
        cursor.next(&ring, ME, limits, Instant::ZERO),
        Some(Next::Missed { seq: 2, too_long: true })
    );
    assert_eq!(
        cursor.next(&ring, ME, limits, Instant::ZERO),
        Some(Next::Deliver { seq: 3, room_seq: 3, history: false })
    );
    // The notice is resent like any `missed` until acknowledged.
    assert!(cursor.on_timeout(cursor.retransmit_at().unwrap(), &bounds()));
    assert_eq!(
        cursor.next(&ring, ME, limits, Instant::ZERO),
        Some(Next::Missed { seq: 2, too_long: false })
    );
    assert!(cursor.on_ack(3, 0, &ring, ME, Instant::ZERO, &bounds()));
    assert_eq!(cursor.in_flight(), 0);
    assert_eq!(cursor.retransmit_at(), None);
    // A recipient with the protocol's frames gets it.
    let mut big = DeliveryCursor::new(0, 0, 1, rtt());
    let all = drain(&mut big, &ring, 8);
    assert_eq!(all.get(1), Some(&Next::Deliver { seq: 2, room_seq: 2, history: false }));
}
