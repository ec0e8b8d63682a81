//! The full name policy, with the Unicode tables (the `unicode-names` feature): UTS #39's
//! identifier profile, NFC, hidden marks and mixed scripts, and the key's characters.

use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, ScriptExtension, UnicodeScript};
use unicode_security::GeneralSecurityProfile;
use unicode_security::mixed_script::AugmentedScriptSet;

use crate::error::NameError;

pub(super) fn is_combining_mark(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
}

/// The rules beyond those of `check_char` (in `mod.rs`), in the order the module
/// documents.
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
    for_each_key_char_unicode(c.encode_utf8(&mut utf8), |k| {
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
    for_each_key_char_unicode(name, each);
}

/// The key's characters with the Unicode tables: `s(lower(s(upper(lower(name)))))`, then
/// NFD once more so that marks the stages moved are in canonical order.
pub(super) fn for_each_key_char_unicode(name: &str, each: impl FnMut(char)) {
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
struct CharSkeleton {
    c: char,
    next: usize,
}

impl CharSkeleton {
    fn new(c: char) -> Self {
        CharSkeleton { c, next: 0 }
    }
}

impl Iterator for CharSkeleton {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let mut utf8 = [0u8; 4];
        let c = unicode_security::skeleton(self.c.encode_utf8(&mut utf8)).nth(self.next)?;
        self.next += 1;
        Some(c)
    }
}
