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

use crate::error::NameError;

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

/// The full policy, with the Unicode tables.
#[cfg(feature = "unicode-names")]
mod policy {
    use unicode_normalization::UnicodeNormalization;
    use unicode_script::{Script, ScriptExtension, UnicodeScript};
    use unicode_security::GeneralSecurityProfile;
    use unicode_security::mixed_script::AugmentedScriptSet;

    use crate::error::NameError;

    pub(super) fn is_combining_mark(c: char) -> bool {
        unicode_normalization::char::is_combining_mark(c)
    }

    /// The rules beyond those of [`super::check_char`], in the order the module documents.
    pub(super) fn check(name: &str) -> Result<(), NameError> {
        if let Some(c) = name.chars().find(|c| !c.is_ascii() && !c.identifier_allowed()) {
            return Err(NameError::NotAllowed(u32::from(c)));
        }
        if !unicode_normalization::is_nfc(name) {
            return Err(NameError::NotComposed);
        }
        check_hidden_marks(name)?;
        check_scripts(name)
    }

    /// UTS #39 section 5.4: a mark repeated, or a dot above on a letter that has a dot or
    /// looks like l, cannot be seen.
    fn check_hidden_marks(name: &str) -> Result<(), NameError> {
        let mut previous: Option<char> = None;
        for c in name.chars().nfd() {
            if let Some(p) = previous
                && is_combining_mark(c)
                && (p == c || (c == '\u{307}' && is_dotted_looking(p)))
            {
                return Err(NameError::HiddenMark(u32::from(c)));
            }
            previous = Some(c);
        }
        Ok(())
    }

    fn is_dotted_looking(c: char) -> bool {
        let mut key = [None; 2];
        let mut len = 0;
        let mut utf8 = [0u8; 4];
        super::for_each_key_char_unicode(c.encode_utf8(&mut utf8), |k| {
            if let Some(slot) = key.get_mut(len) {
                *slot = Some(k);
            }
            len += 1;
        });
        len == 1 && matches!(key, [Some('i' | 'j' | 'l'), None])
    }

    /// Highly Restrictive (UTS #39 5.2), stopping at the first character that breaks it;
    /// both sets only shrink, so a name broken there stays broken.
    fn check_scripts(name: &str) -> Result<(), NameError> {
        let mut all = AugmentedScriptSet::default();
        let mut without_latin = AugmentedScriptSet::default();
        for (index, c) in name.chars().enumerate() {
            let set = AugmentedScriptSet::for_char(c);
            all.intersect_with(set);
            if !set.base.contains_script(Script::Latin) {
                without_latin.intersect_with(set);
            }
            let cjk = without_latin.hanb || without_latin.jpan || without_latin.kore;
            if all.is_empty() && !cjk {
                return Err(NameError::MixedScripts {
                    first: earlier_script(name, index, set.base),
                    second: script_name(c, set.base),
                });
            }
        }
        Ok(())
    }

    /// The script of an earlier character that `ext` does not share, for the message.
    fn earlier_script(name: &str, before: usize, ext: ScriptExtension) -> &'static str {
        let mut specific = name.chars().take(before).filter(|&c| {
            let other = ScriptExtension::from(c);
            !other.is_common() && !other.is_inherited()
        });
        let first = specific.clone().next();
        specific
            .find(|&c| ScriptExtension::from(c).intersection(ext).is_empty())
            .or(first)
            .map_or("Common", |c| script_name(c, ScriptExtension::from(c)))
    }

    fn script_name(c: char, ext: ScriptExtension) -> &'static str {
        match c.script() {
            Script::Common | Script::Inherited | Script::Unknown => {
                ext.iter().next().map_or("Common", Script::full_name)
            }
            script => script.full_name(),
        }
    }

    pub(super) fn for_each_key_char(name: &str, each: impl FnMut(char)) {
        super::for_each_key_char_unicode(name, each);
    }
}

/// The key's characters with the Unicode tables: `s(lower(s(upper(lower(name)))))`, then
/// NFD once more so that marks the stages moved are in canonical order.
#[cfg(feature = "unicode-names")]
fn for_each_key_char_unicode(name: &str, each: impl FnMut(char)) {
    use unicode_normalization::UnicodeNormalization;
    name.chars()
        .flat_map(char::to_lowercase)
        .flat_map(char::to_uppercase)
        .flat_map(CharSkeleton::new)
        .flat_map(char::to_lowercase)
        .flat_map(CharSkeleton::new)
        .nfd()
        .for_each(each);
}

/// The skeleton of one character, as an iterator that owns it. unicode-security only
/// takes a `&str`, so each step recomputes the skeleton of the character's UTF-8 and
/// takes its next element: quadratic in the skeleton's length, which is at most 18.
#[cfg(feature = "unicode-names")]
struct CharSkeleton {
    c: char,
    next: usize,
}

#[cfg(feature = "unicode-names")]
impl CharSkeleton {
    fn new(c: char) -> Self {
        CharSkeleton { c, next: 0 }
    }
}

#[cfg(feature = "unicode-names")]
impl Iterator for CharSkeleton {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let mut utf8 = [0u8; 4];
        let c = unicode_security::skeleton(self.c.encode_utf8(&mut utf8)).nth(self.next)?;
        self.next += 1;
        Some(c)
    }
}

/// The ASCII-only policy, for builds without the Unicode tables.
#[cfg(not(feature = "unicode-names"))]
mod policy {
    use crate::error::NameError;

    pub(super) fn is_combining_mark(_: char) -> bool {
        // No ASCII character is a mark, and non-ASCII is refused below anyway.
        false
    }

    pub(super) fn check(name: &str) -> Result<(), NameError> {
        match name.chars().find(|c| !c.is_ascii()) {
            Some(c) => Err(NameError::NotAscii(u32::from(c))),
            None => Ok(()),
        }
    }

    /// The Unicode key restricted to ASCII; other characters (which this policy refuses)
    /// are taken as they are: Unicode's case tables would cost firmware about 11 KB.
    pub(super) fn for_each_key_char(name: &str, mut each: impl FnMut(char)) {
        for c in name.chars().map(|c| c.to_ascii_lowercase()) {
            match super::ascii_key(c) {
                Some(key) => key.chars().for_each(&mut each),
                None => each(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    /// Invisible or blank characters the attack report used after `alice`.
    const INVISIBLE: [char; 10] = [
        '\u{FE0F}',
        '\u{FE00}',
        '\u{034F}',
        '\u{3164}',
        '\u{115F}',
        '\u{FFA0}',
        '\u{2800}',
        '\u{E0041}',
        '\u{17B4}',
        '\u{180B}',
    ];

    #[test]
    fn ordinary_ascii_names_pass() {
        for name in ["star", "star2", "bob_2", "Star", "a", "x-y.z", "o'neil", "!@#$%^&*()"] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn refuses_invisible_and_blank_characters() {
        for c in INVISIBLE {
            let name: std::string::String = ['a', 'l', 'i', 'c', 'e', c].iter().collect();
            assert_eq!(check(&name), Err(NameError::Invisible(u32::from(c))), "U+{:04X}", c as u32);
        }
        for c in ['\u{3164}', '\u{FE0F}'] {
            let name: std::string::String = "server".chars().chain([c]).collect();
            assert_eq!(check(&name), Err(NameError::Invisible(u32::from(c))));
        }
        for name in ["a b", "a\u{A0}b", "a\u{3000}", "a\u{2028}", "\u{200B}", "\u{1160}x"] {
            assert!(matches!(check(name), Err(NameError::Invisible(_))), "{name:?}");
        }
    }

    #[test]
    fn refuses_the_separator_and_controls() {
        assert_eq!(check("server:"), Err(NameError::Colon));
        assert_eq!(check("alice:"), Err(NameError::Colon));
        assert_eq!(check("bell\u{7}"), Err(NameError::Control(7)));
        assert_eq!(check("c1\u{85}"), Err(NameError::Control(0x85)));
        assert_eq!(check("del\u{7F}"), Err(NameError::Control(0x7F)));
    }

    #[test]
    fn ascii_names_get_case_insensitive_keys() {
        assert_eq!(key("Star"), key("sTAR"));
        assert_eq!(key("star"), key("STAR"));
        assert_ne!(key("star"), key("star2"));
        assert_ne!(key("bob"), key("rob"));
        assert_eq!(key("aIice"), key("alice"));
        assert_eq!(key("ALICE"), key("alice"));
        assert_eq!(key("rn"), key("m"));
        assert_eq!(key("l0l"), key("lol"));
    }

    #[test]
    fn the_ascii_key_table_is_case_insensitive() {
        for c in '!'..='~' {
            let (lower, upper) = (c.to_ascii_lowercase(), c.to_ascii_uppercase());
            assert_eq!(key(&lower.to_string()), key(&upper.to_string()), "{c}");
        }
    }

    #[cfg(not(feature = "unicode-names"))]
    #[test]
    fn without_the_tables_names_are_printable_ascii() {
        assert_eq!(check("Zoë"), Err(NameError::NotAscii(0xEB)));
        assert_eq!(check("аlice"), Err(NameError::NotAscii(0x430)));
        assert_eq!(check("\u{0307}a"), Err(NameError::NotAscii(0x307)));
        assert_eq!(check("alice\u{FE0F}"), Err(NameError::Invisible(0xFE0F)));
    }

    #[cfg(feature = "unicode-names")]
    mod unicode {
        use std::string::String;

        use std::string::ToString;

        use super::super::*;
        use unicode_security::{GeneralSecurityProfile, skeleton};

        fn s(x: &str) -> String {
            skeleton(x).collect()
        }
        fn lower(x: &str) -> String {
            x.chars().flat_map(char::to_lowercase).collect()
        }
        fn upper(x: &str) -> String {
            x.chars().flat_map(char::to_uppercase).collect()
        }
        /// The key's definition on whole strings, to check the streamed version against.
        fn reference_key(name: &str) -> NameKey {
            let mut hasher = SipHasher24::new_with_keys(0, 0);
            hasher.write(s(&lower(&s(&upper(&lower(name))))).as_bytes());
            NameKey(hasher.finish())
        }

        #[test]
        fn unicode_version_is_known() {
            assert_eq!(UNICODE_VERSION, (18, 0, 0));
        }

        #[test]
        fn ordinary_names_pass() {
            for name in ["Zoë", "李雷", "Ωμεγα", "Владимир", "José", "Straße", "山田たろう"]
            {
                assert_eq!(check(name), Ok(()), "{name}");
            }
            // Latin with Han and kana is Highly Restrictive.
            assert_eq!(check("Taro山田たろう"), Ok(()));
        }

        #[test]
        fn refuses_mixed_scripts() {
            let mixed = |first, second| Err(NameError::MixedScripts { first, second });
            assert_eq!(check("аlice"), mixed("Cyrillic", "Latin"));
            assert_eq!(check("ѕerver"), mixed("Cyrillic", "Latin"));
            assert_eq!(check("alicе"), mixed("Latin", "Cyrillic"));
            assert_eq!(check("Ωmega"), mixed("Greek", "Latin"));
            assert_eq!(check("李rあ한"), mixed("Han", "Hangul"));
            assert_eq!(
                NameError::MixedScripts { first: "Latin", second: "Cyrillic" }.to_string(),
                "a name must not mix scripts (Latin and Cyrillic)"
            );
        }

        #[test]
        fn refuses_leading_and_hidden_marks() {
            assert_eq!(check("\u{301}alice"), Err(NameError::LeadingMark(0x301)));
            assert_eq!(check("\u{93E}x"), Err(NameError::LeadingMark(0x93E)));
            // alice + U+0307 composes to U+0117 (ė): the decomposed spelling is refused.
            assert_eq!(check("alice\u{307}"), Err(NameError::NotComposed));
            assert_eq!(check("ali\u{307}ce"), Err(NameError::HiddenMark(0x307)));
            assert_eq!(check("a\u{308}\u{308}"), Err(NameError::NotComposed));
            assert_eq!(check("q\u{308}\u{308}"), Err(NameError::HiddenMark(0x308)));
            assert_eq!(check("alicė"), Ok(()));
        }

        #[test]
        fn refuses_what_is_outside_the_identifier_profile() {
            assert_eq!(check("ＡＬＩＣＥ"), Err(NameError::NotAllowed(0xFF21)));
            assert_eq!(check("émoji🙂"), Err(NameError::NotAllowed(0x1F642)));
            assert_eq!(check("𝐚lice"), Err(NameError::NotAllowed(0x1D41A)));
        }

        #[test]
        fn every_invisible_example_after_alice_is_refused_with_a_reason() {
            for c in super::INVISIBLE.into_iter().chain(['\u{307}']) {
                let name: String = "alice".chars().chain([c]).collect();
                let error = check(&name).unwrap_err();
                assert!(!error.to_string().is_empty());
            }
        }

        #[test]
        fn look_alikes_share_a_key() {
            let alice = key("alice");
            for name in ["ALICE", "Alice", "aIice", "аlice", "ＡＬＩＣＥ", "a\u{FE0F}lice", "al1ce"]
            {
                assert_eq!(key(name), alice, "{name}");
            }
            assert_eq!(key("ѕerver"), key("server"));
            assert_eq!(key("server\u{FE0F}"), key("server"));
            assert_eq!(key("ВОВ"), key("BOB"));
            assert_eq!(key("Вася"), key("вася"));
            assert_eq!(key("Zoë"), key("ZOË"));
            assert_eq!(key("Zoë"), key("Zoe\u{308}"));
            assert_eq!(key("straße"), key("STRASSE"));
            // The accepted price of the composition: i and l are one key.
            assert_eq!(key("ali"), key("all"));
            // Different names stay different.
            assert_ne!(key("Zoë"), key("Zoe"));
            assert_ne!(key("李雷"), key("李"));
            assert_ne!(key("bob"), key("rob"));
        }

        #[test]
        fn streamed_key_equals_the_whole_string_definition() {
            let names = [
                "alice",
                "ALICE",
                "aIice",
                "аlice",
                "ＡＬＩＣＥ",
                "Zoë",
                "李雷",
                "Ωμεγα",
                "ВОВ",
                "a\u{323}\u{307}",
                "a\u{307}\u{323}",
                "ǘ\u{301}",
                "İstanbul",
                "ß",
                "ﬁle",
                "%",
            ];
            for name in names {
                assert_eq!(key(name), reference_key(name), "{name}");
            }
        }

        #[test]
        fn every_case_variant_collides() {
            for c in (0..0x11_0000).filter_map(char::from_u32) {
                if !c.identifier_allowed() {
                    continue;
                }
                let (one, lo, up) = (c.to_string(), lower(&c.to_string()), upper(&c.to_string()));
                assert_eq!(key(&one), key(&lo), "U+{:04X}", c as u32);
                assert_eq!(key(&one), key(&up), "U+{:04X}", c as u32);
            }
        }

        #[test]
        fn the_ascii_fallback_table_matches_the_unicode_key() {
            for c in ('!'..='~').filter(|&c| c != ':') {
                let unicode: String = s(&lower(&s(&upper(&lower(&c.to_string())))));
                let table = ascii_key(c).map_or_else(|| lower(&c.to_string()), String::from);
                assert_eq!(table, unicode, "{c:?}");
                let mut streamed = String::new();
                for_each_key_char_unicode(&c.to_string(), |k| streamed.push(k));
                assert_eq!(streamed, unicode, "{c:?}");
            }
        }

        #[test]
        fn default_ignorable_list_matches_unicode_security() {
            // unicode-security keeps its table private; its skeleton drops exactly the
            // default-ignorable code points, and no confusable prototype is empty.
            for c in (0..0x11_0000).filter_map(char::from_u32) {
                let dropped = s(&c.to_string()).is_empty();
                assert_eq!(is_default_ignorable(c), dropped, "U+{:04X}", c as u32);
            }
        }
    }
}
