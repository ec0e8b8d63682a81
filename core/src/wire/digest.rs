//! The digest of a sequenced client message: 32 bits of FNV-1a over its kind, recipient
//! and text. A `moved` carries the digest of the last message the server accepted, so a
//! client whose session moved can tell whether that number was its own message or
//! someone else's who held the session meanwhile (`docs/PROTOCOL.md`, "Identity").
//!
//! Not a MAC: it guards against silent loss, not against an on-path forger, who is out
//! of reach until sessions are encrypted.

use crate::wire::{Kind, Name};

const OFFSET: u32 = 0x811c_9dc5;
const PRIME: u32 = 0x0100_0193;

/// The digest of a `say`, `tell` (with its recipient) or `leave` (no text).
pub fn message_digest(kind: Kind, to: Option<Name<'_>>, text: &str) -> u32 {
    let to = to.map_or(&[][..], |name| name.as_str().as_bytes());
    // The recipient's length keeps ("ab", "c") apart from ("a", "bc").
    let to_len = u8::try_from(to.len()).unwrap_or(u8::MAX);
    [kind.to_byte(), to_len]
        .iter()
        .chain(to)
        .chain(text.as_bytes())
        .fold(OFFSET, |hash, byte| (hash ^ u32::from(*byte)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_recipient_and_text_all_count() {
        let bob = Name::new("bob").unwrap();
        let say = message_digest(Kind::Say, None, "hi");
        assert_eq!(say, message_digest(Kind::Say, None, "hi"));
        assert_ne!(say, message_digest(Kind::Say, None, "ho"));
        assert_ne!(say, message_digest(Kind::Tell, Some(bob), "hi"));
        assert_ne!(
            message_digest(Kind::Tell, Some(Name::new("ab").unwrap()), "c"),
            message_digest(Kind::Tell, Some(Name::new("a").unwrap()), "bc")
        );
        // The FNV-1a test vector, for the empty input after the two header bytes' fold.
        assert_eq!(
            [0u8; 0].iter().fold(OFFSET, |h, b| (h ^ u32::from(*b)).wrapping_mul(PRIME)),
            0x811c_9dc5
        );
    }
}
