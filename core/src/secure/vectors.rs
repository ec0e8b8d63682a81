//! The published Noise test vectors for this module's four patterns: cacophony's
//! (github.com/haskell-cryptography/cacophony, public domain), as snow carries them in
//! `tests/vectors/cacophony.txt`. Each runs the whole handshake with the vector's keys and
//! checks every message byte for byte, both ways, then the transport messages.

use std::vec::Vec;

use super::symmetric::HASHLEN;
use super::*;
use crate::error::SecureError;

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

        second_message(
            v,
            |payload, out| responder.answer(&pattern, key(v.resp_ephemeral), payload, out),
            |message| initiator.finish(&pattern, message),
        );
    }
}

/// The vector's second message: the responder's `answer` of its payload must be its bytes,
/// and the initiator's `finish` must read the payload back; then the transport messages.
fn second_message(
    v: &Vector,
    answer: impl FnOnce(&[u8], &mut [u8]) -> Result<(Session, usize), SecureError>,
    finish: impl FnOnce(&mut [u8]) -> Result<(Session, core::ops::Range<usize>), SecureError>,
) {
    let (payload, expected) = (hex(v.messages[1].0), hex(v.messages[1].1));
    let mut second = [0u8; 256];
    let (at_server, len) = answer(&payload, &mut second).unwrap();
    assert_eq!(&second[..len], &expected[..], "{}: message 2", v.name);
    let (at_client, range) = finish(&mut second[..len]).unwrap();
    assert_eq!(&second[range], &payload[..], "{}: message 2 read", v.name);
    transport_messages(v, at_client, at_server);
}

/// Checks the handshake hash both sides reached, then seals and opens the vector's
/// transport messages, the initiator's and the responder's in turn.
fn transport_messages(v: &Vector, mut at_client: Session, mut at_server: Session) {
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

/// An `IK` vector: a [`Vector`] and the client's static private key.
struct IkVector {
    vector: Vector,
    init_static: &'static str,
}

const IK_VECTORS: [IkVector; 2] = [
    IkVector {
        vector: Vector {
            name: "Noise_IK_25519_ChaChaPoly_SHA256",
            prologue: "4a6f686e2047616c74",
            psk: None,
            init_ephemeral: "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
            init_remote_static: "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62",
            resp_static: "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
            resp_ephemeral: "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
            handshake_hash: "0b0f68fb0c27e03ce9b97565995ed4838cc0581b762ef72b062f6a546419fad7",
            messages: [
                (
                    "4c756477696720766f6e204d69736573",
                    "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944718da798efbcd91528520204f904b9bd6c7413dccdc214d951e15253e39987f18146e8cd0873654207148333479d4d16c289f0294b29960a72f48e0b7bba2e89083169825e59642148d492020664ccf7",
                ),
                (
                    "4d757272617920526f746862617264",
                    "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088435361e70b2ed446e6c9ec387d1d6b3b840f194e373979d241b203c4acafccf5",
                ),
                (
                    "462e20412e20486179656b",
                    "050e9f3c8fac16b68dbce8f8c4bfbf6617c897f9ada4aa29aa19c8",
                ),
                (
                    "4361726c204d656e676572",
                    "344233a6cabb7141d80f3da2fedc311d9646bbb0f505afe403a667",
                ),
                (
                    "4a65616e2d426170746973746520536179",
                    "62cdeeb172ad7ade7aa7d9e069da5790f12331bfa00177787a1d0810c67dc3b2b4",
                ),
                (
                    "457567656e2042f6686d20766f6e2042617765726b",
                    "029bead1b40992327044d409d9a1f3ad8f36c3c452775d557e18bbeb2e8dfcead32d514024",
                ),
            ],
        },
        init_static: "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
    },
    IkVector {
        vector: Vector {
            name: "Noise_IKpsk1_25519_ChaChaPoly_SHA256",
            prologue: "4a6f686e2047616c74",
            psk: Some("54686973206973206d7920417573747269616e20706572737065637469766521"),
            init_ephemeral: "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
            init_remote_static: "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62",
            resp_static: "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
            resp_ephemeral: "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
            handshake_hash: "3ad252ed6f724c52da3450383b7d8b806c183e1ef157bbe0465ad24997ec4717",
            messages: [
                (
                    "4c756477696720766f6e204d69736573",
                    "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944ac58a6c31948ce200911c5b27b67f1c4d1bed490532dd94ed17164fcc5784d3730fc302b70cc0f19beedaeb56bd974c0e57d747d11534c746eb2a32ac3fde3e4cdf6c3a4705762a6c6ca664b3bc89490",
                ),
                (
                    "4d757272617920526f746862617264",
                    "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843846a944a0652fb390d213d0700d5ae8fef7aad0ecc79a9216d15de5d7f3ee4",
                ),
                (
                    "462e20412e20486179656b",
                    "5d872673f64813a47a00369b15c8da92691605ad71ba019de8e718",
                ),
                (
                    "4361726c204d656e676572",
                    "2045266a750b6af2547f7eb1391058196b742d0aac4b3a1bcc1913",
                ),
                (
                    "4a65616e2d426170746973746520536179",
                    "9ec47ed0e7628c7d7a4eed631b963740ac2fd754eadaa9232e99054af4f7b29174",
                ),
                (
                    "457567656e2042f6686d20766f6e2042617765726b",
                    "310e359407350594cfb96eb4596e35677d4a71ceb42aa8cbba097bb9e7150b0d1bd749c4aa",
                ),
            ],
        },
        init_static: "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
    },
];

#[test]
fn the_published_ik_vectors_pass_both_ways() {
    for IkVector { vector: v, init_static } in &IK_VECTORS {
        let pattern = match v.psk {
            None => IkPattern::Ik,
            Some(psk) => IkPattern::IkPsk1(key(psk)),
        };
        assert_eq!(pattern.protocol_name(), v.name);
        let prologue = hex(v.prologue);
        let server = Keypair::from_private(key(v.resp_static));
        let client = Keypair::from_private(key(init_static));
        let (payload, expected) = (hex(v.messages[0].0), hex(v.messages[0].1));
        let mut first = [0u8; 256];
        let (initiator, len) = IkInitiator::start(
            &pattern,
            &prologue,
            &key(v.init_remote_static),
            &client,
            key(v.init_ephemeral),
            &payload,
            &mut first,
        )
        .unwrap();
        assert_eq!(&first[..len], &expected[..], "{}: message 1", v.name);
        let (responder, range) =
            IkResponder::read(&pattern, &prologue, &server, &mut first[..len]).unwrap();
        assert_eq!(&first[range], &payload[..], "{}: message 1 read", v.name);
        assert_eq!(responder.remote_static(), client.public(), "{}: the client's key", v.name);

        second_message(
            v,
            |payload, out| responder.answer(&pattern, key(v.resp_ephemeral), payload, out),
            |message| initiator.finish(&pattern, message),
        );
    }
}
