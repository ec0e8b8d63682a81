//! The published Noise test vectors for this module's two patterns: cacophony's
//! (github.com/haskell-cryptography/cacophony, public domain), as snow carries them in
//! `tests/vectors/cacophony.txt`. Each runs the whole handshake with the vector's keys and
//! checks every message byte for byte, both ways, then the transport messages.

use std::vec::Vec;

use super::symmetric::HASHLEN;
use super::*;

struct Vector {
    name: &'static str,
    prologue: &'static str,
    psk: Option<&'static str>,
    init_ephemeral: &'static str,
    /// The server's public key as the initiator knows it (the public key of `resp_static`).
    init_remote_static: &'static str,
    resp_static: &'static str,
    resp_ephemeral: &'static str,
    handshake_hash: &'static str,
    /// (payload, ciphertext): the two handshake messages, then transport messages,
    /// the initiator's and the responder's in turn.
    messages: [(&'static str, &'static str); 6],
}

const VECTORS: [Vector; 2] = [
    Vector {
        name: "Noise_NK_25519_ChaChaPoly_SHA256",
        prologue: "4a6f686e2047616c74",
        psk: None,
        init_ephemeral: "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
        init_remote_static: "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62",
        resp_static: "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
        resp_ephemeral: "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
        handshake_hash: "2efa38a9c7c93ac98f3a097af25c2f58b9e7673787717bc27e98827118c2c1a5",
        messages: [
            (
                "4c756477696720766f6e204d69736573",
                "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79448134d00711fdb390a0d178fa008f6d47d2891e5ea18ae136c3b4c23ac384efb0",
            ),
            (
                "4d757272617920526f746862617264",
                "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088438ea16e3701bc0d77744f117bee22451c9afa7f4cdbbcff00c04a8ee0913c88",
            ),
            ("462e20412e20486179656b", "a62de29ce27cb80245d440d986ed816c156e9d757d7008df2198b0"),
            ("4361726c204d656e676572", "174a35f11c689f4530d7208618e0564ae12f2f50ba8eb4df5382ff"),
            (
                "4a65616e2d426170746973746520536179",
                "337e475ebb8eae60f91974c4e455a5af38d1d8628d1803b160d60442874b0a1777",
            ),
            (
                "457567656e2042f6686d20766f6e2042617765726b",
                "047e80e060b7bb08b53c5a23dfe9920cae135b9d1dc6302fc475003062723700366346ac9d",
            ),
        ],
    },
    Vector {
        name: "Noise_NKpsk0_25519_ChaChaPoly_SHA256",
        prologue: "4a6f686e2047616c74",
        psk: Some("54686973206973206d7920417573747269616e20706572737065637469766521"),
        init_ephemeral: "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
        init_remote_static: "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62",
        resp_static: "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
        resp_ephemeral: "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
        handshake_hash: "1609ef057bdd62c752b5960546a255a78aebff08c5f07ef2adaa1db8350e7077",
        messages: [
            (
                "4c756477696720766f6e204d69736573",
                "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944190fec41487219f2069c3ba7b7f9521437045935231f0ed399dfd4baf6bd825b",
            ),
            (
                "4d757272617920526f746862617264",
                "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884385010e0c56e886e6da0c69aee7388bcf4000cc357af5ebd11a46a169a3712c",
            ),
            ("462e20412e20486179656b", "4beed26535f1a387c950fab9a162dc613cc5bf84e8a62653130b83"),
            ("4361726c204d656e676572", "ceaffe71ce7f1bf7b080736d62e0579ce5dc1530a36e7df795a4cc"),
            (
                "4a65616e2d426170746973746520536179",
                "da927a272831394122d0f2fef3e16ddf0814c4878401135b44b1e23873b45b2929",
            ),
            (
                "457567656e2042f6686d20766f6e2042617765726b",
                "4fed2b394fb4dbdc9cf863bc99ebb3397651d27bdd32e40d8f7fed109e46445c0fd66fc3f3",
            ),
        ],
    },
];

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn key(text: &str) -> [u8; 32] {
    hex(text).try_into().unwrap()
}

#[test]
fn the_published_vectors_pass_both_ways() {
    for v in &VECTORS {
        let pattern = match v.psk {
            None => Pattern::Nk,
            Some(psk) => Pattern::NkPsk0(key(psk)),
        };
        assert_eq!(pattern.protocol_name(), v.name);
        let prologue = hex(v.prologue);
        let server = Keypair::from_private(key(v.resp_static));
        assert_eq!(
            server.public(),
            &key(v.init_remote_static),
            "{}: the server's public key",
            v.name
        );
        let (payload, expected) = (hex(v.messages[0].0), hex(v.messages[0].1));
        let mut first = [0u8; 256];
        let (initiator, len) = Initiator::start(
            &pattern,
            &prologue,
            &key(v.init_remote_static),
            key(v.init_ephemeral),
            &payload,
            &mut first,
        )
        .unwrap();
        assert_eq!(&first[..len], &expected[..], "{}: message 1", v.name);
        let (responder, range) =
            Responder::read(&pattern, &prologue, &server, &mut first[..len]).unwrap();
        assert_eq!(&first[range], &payload[..], "{}: message 1 read", v.name);

        let (payload, expected) = (hex(v.messages[1].0), hex(v.messages[1].1));
        let mut second = [0u8; 256];
        let (mut at_server, len) =
            responder.answer(&pattern, key(v.resp_ephemeral), &payload, &mut second).unwrap();
        assert_eq!(&second[..len], &expected[..], "{}: message 2", v.name);
        let (mut at_client, range) = initiator.finish(&pattern, &mut second[..len]).unwrap();
        assert_eq!(&second[range], &payload[..], "{}: message 2 read", v.name);
        let hash = hex(v.handshake_hash);
        assert_eq!(&at_client.handshake_hash()[..], &hash[..HASHLEN]);
        assert_eq!(at_server.handshake_hash(), at_client.handshake_hash());

        for (i, (payload, expected)) in v.messages[2..].iter().enumerate() {
            let (payload, expected) = (hex(payload), hex(expected));
            let (from, to) = if i % 2 == 0 {
                (&mut at_client, &mut at_server)
            } else {
                (&mut at_server, &mut at_client)
            };
            let mut buf = [0u8; 256];
            buf[..payload.len()].copy_from_slice(&payload);
            let (nonce, len) = from.seal(&[], &mut buf, payload.len()).unwrap();
            assert_eq!(nonce, (i / 2) as u64);
            assert_eq!(&buf[..len], &expected[..], "{}: message {}", v.name, i + 3);
            let opened = to.open(nonce, &[], &mut buf[..len]).unwrap();
            assert_eq!(&buf[..opened], &payload[..]);
        }
    }
}
