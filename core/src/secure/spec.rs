//! The security section's vectors in `docs/PROTOCOL.md` ("Security", "Vectors"): a whole
//! encrypted join and a sealed frame, from the keys the spec lists, checked byte for byte
//! against the spec's own `hello`, `answer` and `sealed` vectors — and each one opened
//! again by the other side.

use std::vec::Vec;

use super::*;
use crate::wire::spec_vectors::get;
use crate::wire::{Message, Token};

/// The keys of the spec's vectors: byte `i` of each is `first + i`.
fn key(first: u8) -> [u8; 32] {
    core::array::from_fn(|i| first.wrapping_add(u8::try_from(i).unwrap_or(0)))
}

fn vector(name: &str) -> Vec<u8> {
    get(name).unwrap_or_else(|| panic!("no vector {name:?} in the spec"))
}

/// Message `name`'s handshake or sealed bytes.
fn field(bytes: &[u8]) -> Vec<u8> {
    match Message::decode(bytes).unwrap() {
        Message::Hello { handshake, .. } | Message::Answer { handshake, .. } => handshake.to_vec(),
        Message::Sealed { sealed, .. } => sealed.to_vec(),
        other => panic!("not a secure kind: {other:?}"),
    }
}

#[test]
fn the_specs_encrypted_join_and_sealed_frame() {
    let server = Keypair::from_private(key(0x01));
    let pattern = Pattern::Nk;
    // The client: the spec's first join, sealed in the first handshake message.
    let join = vector("join-first");
    let mut first = [0u8; 256];
    let (initiator, len) =
        Initiator::start(&pattern, PROLOGUE, server.public(), key(0x21), &join, &mut first)
            .unwrap();
    let hello = vector("hello");
    assert_eq!(&first[..len], &field(&hello)[..], "hello's handshake");
    // The server opens it, and answers with the spec's welcome.
    let (responder, range) =
        Responder::read(&pattern, PROLOGUE, &server, &mut first[..len]).unwrap();
    assert_eq!(&first[range], &join[..]);
    let welcome = vector("welcome");
    let mut second = [0u8; 256];
    let (mut at_server, len) =
        responder.answer(&pattern, key(0x41), &welcome, &mut second).unwrap();
    let answer = vector("answer");
    assert_eq!(&second[..len], &field(&answer)[..], "answer's handshake");
    let (mut at_client, range) = initiator.finish(&pattern, &mut second[..len]).unwrap();
    assert_eq!(&second[range], &welcome[..]);
    // The spec's say, sealed by the client as its first message.
    let say = vector("say");
    let sealed = vector("sealed");
    let header = &sealed[..19];
    let Ok(Message::Sealed { token, counter: 0, .. }) = Message::decode(&sealed) else {
        panic!("the sealed vector is not a first sealed frame")
    };
    assert_eq!(token, Token(0x0123_4567_89ab_cdef));
    let mut buf = [0u8; 256];
    buf[..say.len()].copy_from_slice(&say);
    let (nonce, len) = at_client.seal(header, &mut buf, say.len()).unwrap();
    assert_eq!(nonce, 0);
    assert_eq!(&buf[..len], &field(&sealed)[..], "sealed's bytes");
    let opened = at_server.open(nonce, header, &mut buf[..len]).unwrap();
    assert_eq!(&buf[..opened], &say[..]);
}
