//! The key files and the known-servers file, as the host reads them from disk, fed any
//! contents. Checks, against a reading of the format written here from its description
//! (`host/src/keys.rs`: 64 hexadecimal digits, whitespace ignored; one `SERVER KEY` line
//! per server, the first for a server counts, `#` starts a comment): no panic; a key file
//! gives a key exactly when it holds one, and that key; a key written as key files hold
//! it reads back; a known server's key is trusted, another key for it refused, naming
//! its line; an unknown server is trusted on first use and from then on its key is
//! trusted and any other refused, whatever the file held before; a `--server-key` pin
//! trusts the key it names, by fingerprint or in full, and no other. And a list of keys
//! (`--authorized-keys`, owners, bans: `KEY NAME` lines, `#` comments): no panic; each
//! entry is a line that says that key and that name; an error names a line of the text;
//! a list written as the format says reads back.
#![no_main]

use std::io::Write;
use std::path::{Path, PathBuf};

use arbitrary::Arbitrary;
use host::fuzzing::{
    KeyVerdict, key_fingerprint, key_hex, parse_key_list, read_key_file, trust_known, trust_pinned,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    /// A key file's contents.
    key_file: Vec<u8>,
    /// Whitespace around a well-formed key: (before, after), each a count of spaces and
    /// newlines.
    padding: (u8, u8),
    /// The known-servers file's contents.
    known: String,
    /// Which server the client connects to: one of the file's first fields, or this.
    server: Result<u8, String>,
    key: [u8; 32],
    other_key: [u8; 32],
    /// A `--server-key` as typed.
    pin: String,
    /// A list of keys' contents.
    key_list: String,
}

/// A directory of this process's own.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("minichat-fuzz-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Writes `bytes` to `path`, readable by its owner only (as key files must be).
fn write_private(path: &Path, bytes: &[u8]) {
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).and_then(|mut f| f.write_all(bytes)).expect("a scratch file");
}

/// The key a key file's text holds, read from the format's description.
fn key_in(text: &str) -> Option<[u8; 32]> {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 64 || !digits.iter().all(char::is_ascii_hexdigit) {
        return None;
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(digits.chunks(2)) {
        let pair: String = pair.iter().collect();
        *byte = u8::from_str_radix(&pair, 16).ok()?;
    }
    Some(key)
}

/// What the known-servers file `text` says of `server`: its first line's key field (if
/// it is a key) and the line's number.
fn known_in(text: &str, server: &str) -> Option<(Option<[u8; 32]>, usize)> {
    text.lines().enumerate().find_map(|(n, line)| {
        let mut fields = line.split_whitespace();
        match (fields.next(), fields.next()) {
            (Some(name), Some(key)) if name == server && !name.starts_with('#') => {
                Some((key_in(key), n + 1))
            }
            _ => None,
        }
    })
}

/// A list of keys read against its description, and one written by it read back.
fn check_key_list(text: &str, key: &[u8; 32]) {
    let lines: Vec<&str> = text.lines().collect();
    match parse_key_list(text) {
        Ok(entries) => {
            let mut last = 0;
            for (entry_key, name, line) in entries {
                assert!(line > last && line <= lines.len(), "line {line} of {}", lines.len());
                last = line;
                let content = lines[line - 1].split('#').next().unwrap_or_default();
                let fields: Vec<&str> = content.split_whitespace().collect();
                assert_eq!(fields.len(), 2, "{content:?}");
                assert_eq!(key_in(fields[0]), Some(entry_key), "{content:?}");
                assert_eq!(fields[1], name, "{content:?}");
            }
        }
        Err((line, why)) => {
            assert!(line >= 1 && line <= lines.len(), "error on line {line} of {}", lines.len());
            assert!(!why.is_empty());
        }
    }
    let written = format!("# a list\n\n{} alice # a comment\n", key_hex(key));
    assert_eq!(parse_key_list(&written), Ok(vec![(*key, "alice".to_owned(), 3)]));
}

fuzz_target!(|input: Input| {
    let dir = scratch();
    // A key file, as found.
    let key_path = dir.join("fleet.key");
    write_private(&key_path, &input.key_file);
    let read = read_key_file(&key_path);
    match std::str::from_utf8(&input.key_file).ok().and_then(key_in) {
        Some(key) => assert_eq!(read, Ok(key), "a key file holding a key"),
        None => assert!(read.is_err(), "a key file without a key gave {read:?}"),
    }
    // A key file as key files are written, with whitespace around.
    let padded = format!(
        "{}{}{}",
        " \n".repeat(usize::from(input.padding.0 % 8)),
        key_hex(&input.key),
        "\n ".repeat(usize::from(input.padding.1 % 8))
    );
    write_private(&key_path, padded.as_bytes());
    assert_eq!(read_key_file(&key_path), Ok(input.key), "a written key reads back");

    check_key_list(&input.key_list, &input.key);

    // The known-servers file.
    let known_path = dir.join("known_servers");
    write_private(&known_path, input.known.as_bytes());
    let server = match &input.server {
        Ok(i) => {
            let firsts: Vec<&str> =
                input.known.lines().filter_map(|l| l.split_whitespace().next()).collect();
            firsts.get(usize::from(*i) % firsts.len().max(1)).copied().unwrap_or("127.0.0.1:8080")
        }
        Err(name) => name.as_str(),
    };
    // Servers are named by an address or a serial line's path: one word.
    if server.is_empty() || server.contains(char::is_whitespace) || server.starts_with('#') {
        return;
    }
    let verdict = trust_known(&known_path, server, &input.key);
    match known_in(&input.known, server) {
        Some((Some(known), _)) if known == input.key => assert_eq!(verdict, KeyVerdict::Trusted),
        Some((Some(_), line)) => assert_eq!(verdict, KeyVerdict::Changed { line }),
        Some((None, _)) => assert_eq!(verdict, KeyVerdict::Invalid),
        None => {
            assert_eq!(verdict, KeyVerdict::FirstUse, "{server} is not in the file");
            // Remembered: the same key is trusted, another refused.
            assert_eq!(trust_known(&known_path, server, &input.key), KeyVerdict::Trusted);
            if input.other_key != input.key {
                let again = trust_known(&known_path, server, &input.other_key);
                assert!(
                    matches!(again, KeyVerdict::Changed { .. }),
                    "{server}'s key changed after its first use, and {again:?}"
                );
            }
        }
    }

    // Pins.
    let print = key_fingerprint(&input.key);
    for pin in [print.clone(), print.to_uppercase().replace('-', " "), key_hex(&input.key)] {
        assert_eq!(trust_pinned(&pin, &input.key), Ok(KeyVerdict::Trusted), "pin {pin}");
        if input.other_key != input.key {
            assert_eq!(trust_pinned(&pin, &input.other_key), Ok(KeyVerdict::NotPinned));
        }
    }
    if let Ok(verdict) = trust_pinned(&input.pin, &input.key) {
        let digits: String = input.pin.chars().filter(char::is_ascii_hexdigit).collect();
        let digits = digits.to_lowercase();
        let trusted = digits == print.replace('-', "") || digits == key_hex(&input.key);
        assert_eq!(verdict == KeyVerdict::Trusted, trusted, "pin {:?}", input.pin);
    }
});
