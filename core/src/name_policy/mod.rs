//! The name policy: which names a server accepts, and the key that decides when two names
//! are the same user, so that one name cannot pass for another on screen (UTS #39).
//!
//! [`check`] refuses, in this order, the first character that is a control (Cc), `:` (the
//! separator of `name: text` on screen), whitespace, a default-ignorable code point (which
//! covers the variation selectors, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0 and
//! the tag characters) or the blank braille pattern U+2800; then a leading combining mark.
//! With the `unicode-names` feature it then refuses, beyond printable ASCII, anything
//! outside UTS #39's identifier profile (Identifier_Status=Allowed: no symbols, emoji or
//! fullwidth forms), a name not in NFC, a mark that cannot be seen (the same mark twice
//! in a row, or U+0307 on a letter whose key is `i`, `j` or `l`: UTS #39 section 5.4), and
//! a mix of scripts beyond UTS #39's *Highly Restrictive* level (one script plus Common
//! and Inherited, or Latin with Han and Japanese kana, Latin with Han and Bopomofo, or
//! Latin with Han and Hangul). *Moderately Restrictive* is not allowed: it would admit
//! Latin mixed with scripts such as Armenian or Cherokee whose letters look Latin.
//!
//! [`key`] is a 64-bit hash of the name's confusable skeleton after case folding. Case
//! folding is the full lowercase mapping of `char::to_lowercase`. The exact composition,
//! with `s` the UTS #39 skeleton, `lower`/`upper` the full case mappings, is
//! `s(lower(s(upper(lower(name)))))`. Uppercasing before the first skeleton is what makes
//! `alice`, `ALICE`, `Alice`, `aIice`, `аlice` (Cyrillic а) and `ＡＬＩＣＥ` one key: a
//! capital I looks like l, so its case partner i must share l's key too. No composition of
//! lowercase and skeleton alone can do it, because `alice` and `aiice` are fixed points of
//! both while `aIice` must equal each of them. The price is known and accepted: i and l
//! (`ali`, `all`) are one key, and look-alikes that exist only in lowercase between
//! scripts (Greek ν for v, σ for o, υ for u; Cyrillic г for r) do not collide. Every case
//! variant of a name collides with every other.
//!
//! Without `unicode-names` (firmware builds, no Unicode tables) the policy is printable
//! ASCII only (0x21 to 0x7E except `:`), and [`key`] is the same function restricted to
//! ASCII by a small table, so both builds give an ASCII name the same key.
//!
//! The wire layer ([`crate::wire::Name`]) stays syntactic: it refuses only what cannot be
//! parsed or shown at all (empty, too long, not UTF-8, control characters), so a server can
//! answer a name this policy refuses with the reason.

use core::hash::Hasher;

use siphasher::sip::SipHasher24;

mod error;
pub use error::NameError;

/// The version of Unicode whose tables the policy uses (with the `unicode-names` feature).
#[cfg(feature = "unicode-names")]
pub use unicode_security::UNICODE_VERSION;

/// The key that decides whether two names are the same user: equal keys, same user.
///
/// A SipHash-2-4 (fixed zero key) of the UTF-8 of the name's folded confusable skeleton (see the module
/// documentation), so it is 8 bytes whatever the name, and costs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameKey(u64);

impl NameKey {
    /// The hash itself.
    pub const fn to_u64(self) -> u64 {
        self.0
    }

    /// A placeholder for slots never written; never compared as a real key.
    pub(crate) const PLACEHOLDER: NameKey = NameKey(0);
}

/// Checks `name` against the policy and returns the first rule it breaks.
///
/// Lengths are the wire's concern ([`crate::wire::Name::new`]); an empty name passes here.
pub fn check(name: &str) -> Result<(), NameError> {
    for (index, c) in name.chars().enumerate() {
        check_char(c)?;
        if index == 0 && policy::is_combining_mark(c) {
            return Err(NameError::LeadingMark(u32::from(c)));
        }
    }
    policy::check(name)
}

/// The name's key: names with equal keys are the same user.
pub fn key(name: &str) -> NameKey {
    // A fixed, public key is enough: a second preimage of 64 bits (a name that collides
    // with a given user's) is out of reach, and a birthday collision between two names an
    // attacker picks only locks the attacker out of one of its own names. SipHash-2-4, as
    // the server's secrets use: one SipHash in a firmware server, not two.
    let mut hasher = SipHasher24::new_with_keys(0, 0);
    policy::for_each_key_char(name, |c| {
        let mut utf8 = [0u8; 4];
        hasher.write(c.encode_utf8(&mut utf8).as_bytes());
    });
    NameKey(hasher.finish())
}

/// The rules of both builds for one character.
fn check_char(c: char) -> Result<(), NameError> {
    if c.is_control() {
        Err(NameError::Control(u32::from(c)))
    } else if c == ':' {
        Err(NameError::Colon)
    } else if c.is_whitespace() || is_default_ignorable(c) || is_blank(c) {
        Err(NameError::Invisible(u32::from(c)))
    } else {
        Ok(())
    }
}

/// Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties), the characters a
/// renderer shows as nothing. A unit test checks it against unicode-security's own table.
fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Visible characters that draw nothing: the blank braille pattern, and the Hangul
/// fillers (also default-ignorable, listed for whoever reads this).
fn is_blank(c: char) -> bool {
    matches!(c, '\u{2800}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
}

/// The key of each printable ASCII character other than `:`: its UTS #39 key as described
/// in the module documentation, as a string. The unit tests check it against
/// unicode-security, so both builds agree on ASCII names.
#[cfg(any(test, not(feature = "unicode-names")))]
fn ascii_key(c: char) -> Option<&'static str> {
    Some(match c {
        '"' => "''",
        '%' => "\u{B0}/\u{2080}",
        '0' => "o",
        '1' | 'I' | 'i' | '|' => "l",
        'M' | 'm' => "rn",
        '`' => "'",
        _ => return None,
    })
}

// The policy's rules beyond `check_char`, and the key's characters: one of the two.
#[cfg(not(feature = "unicode-names"))]
mod ascii;
#[cfg(not(feature = "unicode-names"))]
use ascii as policy;
#[cfg(feature = "unicode-names")]
mod unicode;
#[cfg(feature = "unicode-names")]
use unicode as policy;
#[cfg(all(test, feature = "unicode-names"))]
use unicode::for_each_key_char_unicode;

#[cfg(test)]
mod tests;
