//! The tests that hold the codec to the test vectors of `docs/PROTOCOL.md`
//! (`spec_vectors.rs` reads them from the spec itself).
#![cfg(test)]

use std::string::String;
use std::vec::Vec;

use crate::wire::spec_vectors::SPEC;

/// Every vector of the spec (a spec that does not parse fails the test).
pub(crate) fn all() -> Vec<(String, Vec<u8>)> {
    crate::wire::spec_vectors::all().unwrap()
}

/// The vector called `name` (one the spec lacks fails the test).
pub(crate) fn get(name: &str) -> Vec<u8> {
    crate::wire::spec_vectors::get(name).unwrap_or_else(|| panic!("no vector {name:?} in the spec"))
}

use crate::error::WireError;
use crate::wire::limits::{MAX_FRAME, MAX_FRAME_U16};
use crate::wire::{
    Cookie, EchoMode, ErrorCode, Kind, Message, Name, NameList, NameListBuilder, Token,
};

const TOKEN: Token = Token(0x0123_4567_89ab_cdef);
const NONCE: u64 = 0x8f3e_215c_0d77_a419;
const COOKIE: Cookie = Cookie([
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
]);

fn name(n: &str) -> Name<'_> {
    Name::new(n).unwrap()
}

/// The server key of the spec's vectors (section 12).
fn server_key() -> [u8; 32] {
    get("server-key")[12..].try_into().unwrap()
}

/// Vector `name` from byte `from` on, for as long as the tests run.
fn tail(name: &str, from: usize) -> &'static [u8] {
    std::boxed::Box::leak(get(name)[from..].to_vec().into_boxed_slice())
}

/// Every valid vector and the message it encodes.
fn valid<'a>(names_buf: &'a mut [u8]) -> Vec<(&'static str, Message<'a>)> {
    let mut valid = joining_vectors();
    valid.extend(session_vectors(names_buf));
    valid.extend(secure_vectors());
    valid.extend(key_of_vectors());
    valid
}

/// The vectors of asking whose key a name is: key-of, user-key.
fn key_of_vectors() -> Vec<(&'static str, Message<'static>)> {
    let t = TOKEN;
    std::vec![
        ("key-of", Message::KeyOf { token: t, req: 7, name: name("alice") }),
        (
            "user-key",
            Message::UserKey {
                token: t,
                req: 7,
                name: name("alice"),
                here: true,
                key: Some(core::array::from_fn(|i| 0xa1 + u8::try_from(i).unwrap())),
            },
        ),
        (
            "user-key-none",
            Message::UserKey { token: t, req: 8, name: name("bob"), here: true, key: None },
        ),
    ]
}

/// The vectors of joining: join, cookie, refused, welcome.
fn joining_vectors() -> Vec<(&'static str, Message<'static>)> {
    let t = TOKEN;
    std::vec![
        (
            "join-first",
            Message::Join {
                cookie: Cookie::EMPTY,
                nonce: NONCE,
                window: 33,
                resume: Token::NONE,
                delivered: 0,
                name: name("star"),
                max_frame: MAX_FRAME_U16,
            }
        ),
        (
            "join-small-frames",
            Message::Join {
                cookie: Cookie::EMPTY,
                nonce: NONCE,
                window: 1,
                resume: Token::NONE,
                delivered: 0,
                name: name("mcu"),
                max_frame: 256,
            }
        ),
        (
            "join",
            Message::Join {
                cookie: COOKIE,
                nonce: NONCE,
                window: 33,
                resume: t,
                delivered: 17,
                name: name("star"),
                max_frame: MAX_FRAME_U16,
            },
        ),
        ("cookie", Message::Cookie { cookie: COOKIE, nonce: NONCE }),
        (
            "refused",
            Message::Refused {
                nonce: NONCE,
                code: ErrorCode::NameTaken,
                detail: "the name star is taken"
            },
        ),
        (
            "welcome",
            Message::Welcome {
                token: t,
                nonce: NONCE,
                keepalive_ms: 15_000,
                max_text: 989,
                rate_per_sec: 20,
                name: name("star"),
            },
        ),
        (
            "welcome-encrypted",
            Message::Welcome {
                token: t,
                nonce: NONCE,
                keepalive_ms: 15_000,
                max_text: 954,
                rate_per_sec: 20,
                name: name("star"),
            },
        ),
    ]
}

/// The vectors of a session's frames, with the user lists' names in `names_buf`.
fn session_vectors<'a>(names_buf: &'a mut [u8]) -> Vec<(&'static str, Message<'a>)> {
    let (names_buf, elsewhere_buf) = names_buf.split_at_mut(32);
    let names = NameList::encode([name("star"), name("star2"), name("star3")], names_buf);
    let mut elsewhere = NameListBuilder::new(elsewhere_buf);
    elsewhere.push(name("star"));
    elsewhere.push_listed(name("bob"), Some(name("east")));
    let elsewhere = elsewhere.finish();
    let t = TOKEN;
    std::vec![
        ("moved", Message::Moved { token: t, nonce: 0xdead_beef, seq: 7, digest: 0x5d0c_8a4e }),
        ("leave", Message::Leave { token: t, seq: 4 }),
        ("unknown-session", Message::UnknownSession { token: t }),
        ("challenge", Message::Challenge { token: t, nonce: 0xdead_beef }),
        ("challenge-response", Message::ChallengeResponse { token: t, nonce: 0xdead_beef }),
        ("say", Message::Say { token: t, seq: 1, text: "hello" }),
        ("say-empty", Message::Say { token: t, seq: 2, text: "" }),
        ("tell", Message::Tell { token: t, seq: 3, to: name("star2"), text: "hi" }),
        (
            "deliver",
            Message::Deliver {
                token: t,
                seq: 8,
                direct: false,
                history: false,
                from: name("star"),
                text: "hello",
            },
        ),
        (
            "deliver-history",
            Message::Deliver {
                token: t,
                seq: 1,
                direct: false,
                history: true,
                from: name("star"),
                text: "hello",
            },
        ),
        (
            "deliver-direct",
            Message::Deliver {
                token: t,
                seq: 9,
                direct: true,
                history: false,
                from: name("Zoë"),
                text: "你好",
            },
        ),
        ("missed", Message::Missed { token: t, seq: 20 }),
        ("ack", Message::Ack { token: t, seq: 3, sack: 0b101 }),
        ("who", Message::Who { token: t, req: 1, start: 0 }),
        ("users", Message::Users { token: t, req: 1, total: 3, start: 0, names }),
        (
            "users-elsewhere",
            Message::Users { token: t, req: 2, total: 2, start: 0, names: elsewhere },
        ),
        ("echo", Message::Echo { token: t, req: 2, mode: EchoMode::Upper, text: "Hello, world" }),
        (
            "echo-reply",
            Message::EchoReply { token: t, req: 2, mode: EchoMode::Upper, text: "HELLO, WORLD" },
        ),
        ("ping", Message::Ping { token: t, req: 5 }),
        ("pong", Message::Pong { token: t, req: 5 }),
        (
            "error",
            Message::Error {
                token: t,
                code: ErrorCode::NoSuchUser,
                seq: 3,
                detail: "no user named bob",
            },
        ),
    ]
}

/// The vectors of encrypted sessions. The handshakes' and the sealed frame's bytes are
/// opaque here: their layout is checked, their cryptography in `secure::spec`.
fn secure_vectors() -> Vec<(&'static str, Message<'static>)> {
    let t = TOKEN;
    std::vec![
        (
            "hello",
            Message::Hello { cookie: Cookie::EMPTY, nonce: NONCE, handshake: tail("hello", 27) },
        ),
        ("answer", Message::Answer { nonce: NONCE, handshake: tail("answer", 11) }),
        (
            "hello-key",
            Message::HelloKey { cookie: COOKIE, nonce: NONCE, handshake: tail("hello-key", 27) },
        ),
        ("answer-key", Message::Answer { nonce: NONCE, handshake: tail("answer-key", 11) }),
        ("sealed", Message::Sealed { token: t, counter: 0, sealed: tail("sealed", 19) }),
        (
            "sealed-reply",
            Message::Sealed { token: t, counter: 1, sealed: tail("sealed-reply", 19) },
        ),
        (
            "sealed-rekeyed",
            Message::Sealed { token: t, counter: 1 << 16, sealed: tail("sealed-rekeyed", 19) },
        ),
        ("key-request", Message::KeyRequest { nonce: NONCE }),
        ("server-key", Message::ServerKey { nonce: NONCE, fleet: false, key: server_key() },),
    ]
}

/// Every rejected vector and the error it must give.
fn rejected() -> [(&'static str, WireError); 20] {
    [
        ("bad-not-a-frame", WireError::NotAFrame),
        ("bad-header-truncated", WireError::HeaderTruncated { len: 2 }),
        ("bad-unsupported-version", WireError::UnsupportedVersion(1)),
        ("bad-unknown-kind", WireError::UnknownKind(0x7f)),
        ("bad-truncated", WireError::Truncated { kind: Kind::Say }),
        ("bad-trailing-bytes", WireError::TrailingBytes { kind: Kind::Ping, extra: 1 }),
        ("bad-name-empty", WireError::NameEmpty),
        ("bad-name-too-long", WireError::NameTooLong { len: 17 }),
        ("bad-name-control", WireError::NameBadChar(0x07)),
        ("bad-name-not-utf8", WireError::NameNotUtf8),
        ("bad-text-too-long", WireError::TextTooLong { len: 990 }),
        ("bad-text-not-utf8", WireError::TextNotUtf8),
        ("bad-unknown-flags", WireError::UnknownFlags(0x04)),
        ("bad-unknown-echo-mode", WireError::UnknownEchoMode(3)),
        ("bad-unknown-error-code", WireError::UnknownErrorCode(0)),
        ("bad-users-inconsistent", WireError::UserListInconsistent { start: 0, end: 2, total: 1 }),
        ("bad-key-request-padding", WireError::BadPadding),
        ("bad-max-frame", WireError::MaxFrameOutOfRange(128)),
        ("bad-max-frame-written", WireError::MaxFrameOutOfRange(1024)),
        ("bad-user-key-flags", WireError::UnknownFlags(0x04)),
    ]
}

#[test]
fn valid_vectors_parse_and_emit_byte_exact() {
    let mut names_buf = [0u8; 64];
    for (vector, message) in valid(&mut names_buf) {
        let bytes = get(vector);
        assert_eq!(Message::decode(&bytes), Ok(message), "parsing vector {vector}");
        assert_eq!(message.buffer_len(), bytes.len(), "buffer_len of vector {vector}");
        let mut out = [0u8; MAX_FRAME];
        let len = message.encode(&mut out).unwrap();
        assert_eq!(&out[..len], &bytes[..], "emitting vector {vector}");
    }
}

/// A client reads and writes through its side's masks, a server through its own: each
/// vector passes on the side that receives it and is refused, as unexpected, on the other.
#[test]
fn each_side_reads_and_writes_the_kinds_of_its_direction() {
    let mut names_buf = [0u8; 64];
    for (vector, message) in valid(&mut names_buf) {
        let bytes = get(vector);
        let kind = message.kind();
        let mut out = [0u8; MAX_FRAME];
        for (mask, takes) in
            [(Kind::FROM_CLIENT, kind.sent_by_client()), (Kind::FROM_SERVER, kind.sent_by_server())]
        {
            let frame = crate::wire::Frame::new_unchecked(&bytes[..]);
            let mut out_frame = crate::wire::Frame::new_unchecked(&mut out[..]);
            let (parsed, emitted) = match mask {
                Kind::FROM_CLIENT => (
                    Message::parse_only::<{ Kind::FROM_CLIENT }, _>(&frame),
                    message.emit_only::<{ Kind::FROM_CLIENT }, _>(&mut out_frame),
                ),
                _ => (
                    Message::parse_only::<{ Kind::FROM_SERVER }, _>(&frame),
                    message.emit_only::<{ Kind::FROM_SERVER }, _>(&mut out_frame),
                ),
            };
            if takes {
                assert_eq!(parsed, Ok(message), "vector {vector}");
                assert_eq!(emitted, Ok(bytes.len()), "vector {vector}");
            } else {
                assert_eq!(parsed, Err(WireError::UnexpectedKind(kind)), "vector {vector}");
                assert_eq!(emitted, Err(WireError::UnexpectedKind(kind)), "vector {vector}");
            }
        }
    }
}

/// The direction column of the spec's table of kinds is what the masks hold.
#[test]
fn the_direction_masks_follow_the_spec() {
    let table = SPEC.split("## 6. Messages").nth(1).unwrap().split("\n\n").nth(1).unwrap();
    let mut rows = 0;
    for row in table.lines().skip(2) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let byte = u8::from_str_radix(cells[1].trim_matches('`').trim_start_matches("0x"), 16);
        let kind = Kind::from_byte(byte.unwrap()).unwrap();
        let (client, server) = match cells[3] {
            "client → server" => (true, false),
            "server → client" => (false, true),
            "both" => (true, true),
            other => panic!("direction {other:?} of {kind}"),
        };
        assert_eq!(Kind::FROM_CLIENT & kind.bit() != 0, client, "{kind} from clients");
        assert_eq!(Kind::FROM_SERVER & kind.bit() != 0, server, "{kind} from servers");
        rows += 1;
    }
    assert_eq!(rows, Kind::ALL.len());
}

#[test]
fn rejected_vectors_give_their_errors() {
    for (vector, error) in rejected() {
        assert_eq!(Message::decode(&get(vector)), Err(error), "vector {vector}");
    }
}

#[test]
fn every_vector_in_the_spec_is_tested_and_every_kind_has_one() {
    let mut names_buf = [0u8; 64];
    let valid = valid(&mut names_buf);
    let mut tested: Vec<&str> = valid.iter().map(|(n, _)| *n).collect();
    tested.extend(rejected().iter().map(|(n, _)| *n));
    tested.extend(["stream-ping-ack", "crc32-check"]); // tested in `stream`
    let in_spec: Vec<String> = all().into_iter().map(|(n, _)| n).collect();
    for name in &in_spec {
        assert!(tested.contains(&name.as_str()), "spec vector {name} has no test");
    }
    for name in &tested {
        assert!(in_spec.iter().any(|n| n == name), "tested vector {name} is not in the spec");
    }
    for kind in Kind::ALL {
        assert!(valid.iter().any(|(_, m)| m.kind() == kind), "no vector for kind {kind}");
    }
}

#[test]
fn every_error_message_reads_like_a_sentence() {
    use std::string::ToString;
    for (vector, error) in rejected() {
        let text = error.to_string();
        let first = text.chars().next().unwrap();
        assert!(first.is_lowercase() || first.is_ascii_digit(), "{vector}: {text}");
        assert!(!text.ends_with('.') && !text.contains("Error"), "{vector}: {text}");
        assert!(text.split_whitespace().count() >= 4, "{vector}: {text}");
    }
    assert_eq!(
        WireError::Truncated { kind: Kind::Say }.to_string(),
        "the say frame ends before its last field"
    );
    assert_eq!(
        WireError::TextTooLong { len: 990 }.to_string(),
        "the text is 990 bytes long, over the limit of 989 bytes"
    );
}

/// The fuzz seeds `fuzz/seeds/TARGET/NAME` should hold, made from the spec's vectors.
fn expected_fuzz_seeds() -> Vec<(String, Vec<u8>)> {
    use crate::stream::{MAX_ENCODED_FRAME, encode_frame};
    let vectors = all();
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let mut all_valid = std::vec![0x07];
    for (name, bytes) in &vectors {
        if name.starts_with("crc32-") {
            continue; // the check's own vector, not a frame
        }
        if name.starts_with("stream-") {
            let mut seed = std::vec![0x00];
            seed.extend_from_slice(bytes);
            seeds.push((std::format!("stream/{name}"), seed));
            continue;
        }
        seeds.push((std::format!("parse/{name}"), bytes.clone()));
        if !name.starts_with("bad-") {
            let mut out = [0u8; MAX_ENCODED_FRAME];
            let len = encode_frame(bytes, &mut out).unwrap();
            all_valid.extend_from_slice(&out[..len]);
        }
    }
    seeds.push(("stream/all-valid".into(), all_valid));
    seeds
}

/// The seeds of the spec's fuzz targets as they are in `fuzz/seeds`, sorted.
fn seeds_on_disk(root: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for target in ["parse", "stream"] {
        let dir = root.join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.unwrap();
            let name = std::format!("{target}/{}", entry.file_name().to_string_lossy());
            found.push((name, std::fs::read(entry.path()).unwrap()));
        }
    }
    found.sort();
    found
}

#[test]
fn fuzz_seeds_match_the_spec() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut expected = expected_fuzz_seeds();
    expected.sort();
    if std::env::var_os("MINICHAT_UPDATE_SEEDS").is_some() && seeds_on_disk(&root) != expected {
        // Only the spec's targets: the other targets' seeds are minimised corpora.
        for target in ["parse", "stream"] {
            let _ = std::fs::remove_dir_all(root.join(target));
        }
        for (path, bytes) in &expected {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, bytes).unwrap();
        }
        // A run that changed them never passes: a variable left set cannot turn a stale
        // directory green (and CI refuses to run with it).
        panic!(
            "rewrote fuzz/seeds from the spec's vectors: review the change and run again \
             without MINICHAT_UPDATE_SEEDS"
        );
    }
    assert!(
        seeds_on_disk(&root) == expected,
        "fuzz/seeds differs from the spec's vectors; run \
         `MINICHAT_UPDATE_SEEDS=1 cargo test -p minichat-core fuzz_seeds` to rewrite them"
    );
}
