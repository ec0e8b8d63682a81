//! The name policy's tests: the refusals, the keys, and both builds' agreement on ASCII.

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
