//! Who the server is, and who the client is (`docs/PROTOCOL.md`, section 12): the server's
//! key file, the client's own (made on first use: the key its names belong to), a fleet's
//! key file, and on the client's side the known-servers file and pinned fingerprints —
//! trust on first use, as SSH does, and a loud refusal when a key changes.
//!
//! Files live in `$MINICHAT_HOME`, else `$XDG_CONFIG_HOME/minichat`, else
//! `~/.config/minichat` (`%APPDATA%\minichat` on Windows). Key files hold 64 hexadecimal
//! digits and must not be readable by others (checked on Unix).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use minichat_core::secure::{KEY_LEN, Keypair, fingerprint};

use crate::error::HostError;

/// Where minichat keeps its keys and known servers.
pub(crate) fn config_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("MINICHAT_HOME") {
        return PathBuf::from(home);
    }
    if let Some(config) = std::env::var_os("XDG_CONFIG_HOME") {
        return PathBuf::from(config).join("minichat");
    }
    if let Some(appdata) = std::env::var_os("APPDATA") {
        return PathBuf::from(appdata).join("minichat");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".config").join("minichat"),
        None => PathBuf::from("."),
    }
}

/// The server's key file unless `--key` says.
pub(crate) fn default_server_key() -> PathBuf {
    config_dir().join("server.key")
}

/// The client's own key file unless `chat --key` says.
pub(crate) fn default_client_key() -> PathBuf {
    config_dir().join("client.key")
}

/// The known-servers file unless `--known-servers` says.
pub(crate) fn default_known_servers() -> PathBuf {
    config_dir().join("known_servers")
}

/// A key's fingerprint for people (`1a2b-3c4d-…`).
pub(crate) fn print(key: &[u8; KEY_LEN]) -> String {
    fingerprint(key).as_str().to_owned()
}

/// Bytes as lower-case hexadecimal digits: how key files and firmware builds hold keys.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn parse_hex(text: &str) -> Option<[u8; KEY_LEN]> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    // Digits only: `from_str_radix` alone would take "+0" for a byte.
    if digits.len() != 2 * KEY_LEN || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut key = [0u8; KEY_LEN];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(digits.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

/// Refuses a key file (or a password file) others can read.
#[cfg(unix)]
pub(crate) fn check_private(path: &Path) -> Result<(), HostError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(|source| HostError::KeyFile { path: path.to_owned(), source })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(HostError::KeyFileOpen { path: path.to_owned(), mode: mode & 0o777 });
    }
    Ok(())
}

#[cfg(not(unix))]
pub(crate) fn check_private(_path: &Path) -> Result<(), HostError> {
    Ok(())
}

/// Reads a key file: 64 hexadecimal digits, readable by its owner only.
fn read_key(path: &Path) -> Result<[u8; KEY_LEN], HostError> {
    check_private(path)?;
    let text = fs::read_to_string(path)
        .map_err(|source| HostError::KeyFile { path: path.to_owned(), source })?;
    parse_hex(&text).ok_or_else(|| HostError::KeyFileInvalid { path: path.to_owned() })
}

/// Writes a new key file, readable by its owner only; fails if it exists.
fn write_key(path: &Path, key: &[u8; KEY_LEN]) -> Result<(), HostError> {
    let error = |source| HostError::KeyFile { path: path.to_owned(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(error)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(error)?;
    writeln!(file, "{}", hex(key)).map_err(error)
}

/// The key pair in `path` (a server's or a client's), made (and written) if the file does
/// not exist yet; with whether it was made.
pub(crate) fn keypair(path: &Path) -> Result<(Keypair, bool), HostError> {
    if path.exists() {
        return Ok((Keypair::from_private(read_key(path)?), false));
    }
    let mut private = [0u8; KEY_LEN];
    getrandom::fill(&mut private).map_err(HostError::Random)?;
    write_key(path, &private)?;
    Ok((Keypair::from_private(private), true))
}

/// A fleet's pre-shared key, from its file (made by the fleet's operator; never here).
pub(crate) fn fleet_key(path: &Path) -> Result<[u8; KEY_LEN], HostError> {
    read_key(path)
}

/// Whether and how a client encrypts its session.
#[derive(Debug, Clone)]
pub(crate) enum Encryption {
    /// In the clear (`--plaintext`).
    Off,
    /// Encrypted: the server's key trusted as `trust` says, with a fleet's key if given,
    /// the client proving its own key from `client_key` (made there on first use), and the
    /// keys of the users it meets remembered in `known_users`.
    On { trust: Trust, fleet_key: Option<PathBuf>, client_key: PathBuf, known_users: PathBuf },
}

/// How a client decides whether to trust the key a server presents.
#[derive(Debug, Clone)]
pub(crate) enum Trust {
    /// Only a key with this fingerprint (`--server-key`).
    Pinned(String),
    /// The key recorded for the server in this known-servers file; a server not in it is
    /// trusted on first use and recorded.
    Known(PathBuf),
}

/// Normalises a fingerprint as people type it: lowercase, dashes and spaces ignored.
fn normalised(print: &str) -> String {
    print.chars().filter(|c| c.is_ascii_hexdigit()).map(|c| c.to_ascii_lowercase()).collect()
}

/// `--server-key`: a key's fingerprint as `minichat serve` prints it (32 hexadecimal
/// digits, in groups), or the key itself as `minichat key --public` prints it (64);
/// normalised (lowercase, digits only).
pub(crate) fn parse_pin(text: &str) -> Result<String, String> {
    if let Some(c) = text.chars().find(|c| !c.is_ascii_hexdigit() && !matches!(c, '-' | ':' | ' '))
    {
        return Err(format!("{c:?} is not a hexadecimal digit: {PIN_FORMS}"));
    }
    let digits = normalised(text);
    match digits.len() {
        FINGERPRINT_DIGITS | KEY_DIGITS => Ok(digits),
        n => Err(format!("{n} hexadecimal digits: {PIN_FORMS}")),
    }
}

const FINGERPRINT_DIGITS: usize = 32;
const KEY_DIGITS: usize = 2 * KEY_LEN;
const PIN_FORMS: &str = "give the fingerprint `minichat serve` prints (32 digits, as \
    1a2b-3c4d-…) or the key `minichat key --public` prints (64 digits)";

impl Trust {
    /// Whether to trust `key` for the server called `server` (its address, or its serial
    /// line): `Ok` with something to tell the user, or the loud refusal.
    pub(crate) fn decide(
        &self,
        server: &str,
        key: &[u8; KEY_LEN],
    ) -> Result<Option<String>, HostError> {
        let presented = print(key);
        match self {
            // The fingerprint, or the whole key in hexadecimal.
            Trust::Pinned(pin) if *pin == normalised(&presented) || *pin == hex(key) => Ok(None),
            Trust::Pinned(pin) => Err(HostError::ServerKeyNotPinned {
                server: server.to_owned(),
                presented,
                pinned: pin.clone(),
            }),
            Trust::Known(file) => match known_key(file, server)? {
                Some((known, _)) if known == *key => Ok(None),
                Some((known, line)) => Err(HostError::ServerKeyChanged {
                    server: server.to_owned(),
                    known: print(&known),
                    presented,
                    file: file.clone(),
                    line,
                }),
                None => {
                    remember(file, server, key)?;
                    Ok(Some(format!(
                        "first session with {server}: trusting its key {presented} from now on (recorded in {}); pin it elsewhere with --server-key {presented}",
                        file.display()
                    )))
                }
            },
        }
    }
}

/// The key recorded for `server` in the known-servers file, and its line number.
fn known_key(file: &Path, server: &str) -> Result<Option<([u8; KEY_LEN], usize)>, HostError> {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(HostError::KeyFile { path: file.to_owned(), source }),
    };
    for (n, line) in text.lines().enumerate() {
        let mut fields = line.split_whitespace();
        if let (Some(name), Some(key)) = (fields.next(), fields.next())
            && name == server
            && !name.starts_with('#')
        {
            let key = parse_hex(key)
                .ok_or_else(|| HostError::KeyFileInvalid { path: file.to_owned() })?;
            return Ok(Some((key, n + 1)));
        }
    }
    Ok(None)
}

/// Records `server`'s key in the known-servers file.
fn remember(file: &Path, server: &str, key: &[u8; KEY_LEN]) -> Result<(), HostError> {
    let error = |source| HostError::KeyFile { path: file.to_owned(), source };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(error)?;
    }
    let mut out = fs::OpenOptions::new().create(true).append(true).open(file).map_err(error)?;
    // A last line without its newline (a file edited by hand) would take the record as
    // its own continuation, where it is never found: every session a first use.
    let text = fs::read(file).map_err(error)?;
    let newline = if text.last().is_some_and(|b| *b != b'\n') { "\n" } else { "" };
    writeln!(out, "{newline}{server} {}", hex(key)).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("minichat-keys-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_server_key_is_made_once_private_and_read_back() {
        let dir = scratch("server");
        let path = dir.join("server.key");
        let (made, new) = keypair(&path).unwrap();
        assert!(new);
        let (read, new) = keypair(&path).unwrap();
        assert!(!new);
        assert_eq!(made.public(), read.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let err = keypair(&path).unwrap_err().to_string();
            assert!(err.contains("can be read by others (mode 644)"), "{err}");
            assert!(err.contains("chmod 600"), "{err}");
        }
        fs::write(dir.join("bad.key"), "not a key").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir.join("bad.key"), fs::Permissions::from_mode(0o600)).unwrap();
        }
        let err = fleet_key(&dir.join("bad.key")).unwrap_err().to_string();
        assert!(err.contains("64 hexadecimal digits"), "{err}");
    }

    #[test]
    fn the_first_key_is_trusted_and_remembered_a_changed_one_refused() {
        let file = scratch("known").join("known_servers");
        let trust = Trust::Known(file.clone());
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let first = trust.decide("127.0.0.1:8080", &a).unwrap().unwrap();
        assert!(first.contains("first session with 127.0.0.1:8080"), "{first}");
        assert_eq!(trust.decide("127.0.0.1:8080", &a).unwrap(), None);
        assert!(trust.decide("127.0.0.1:9090", &b).unwrap().is_some(), "another server");
        let changed = trust.decide("127.0.0.1:8080", &b).unwrap_err().to_string();
        assert!(changed.contains("key of the server at 127.0.0.1:8080 changed"), "{changed}");
        assert!(changed.contains(&print(&a)) && changed.contains(&print(&b)), "{changed}");
        assert!(changed.contains("line 1"), "{changed}");
    }

    /// Found by the `keys` fuzz target: a sign in a key's digits ("+0" is a byte to
    /// `from_str_radix`) made it a key.
    #[test]
    fn a_key_is_hexadecimal_digits_and_nothing_else() {
        let digits = "0".repeat(64);
        assert_eq!(parse_hex(&digits), Some([0; 32]));
        let signed = format!("00+0{}", "0".repeat(60));
        assert_eq!(parse_hex(&signed), None);
        assert_eq!(parse_hex(&format!("-1{}", "0".repeat(62))), None);
    }

    /// Found by the `keys` fuzz target: the record went onto a last line without its
    /// newline, so the key was never found again and every session was a first use.
    #[test]
    fn a_key_is_remembered_after_a_last_line_without_its_newline() {
        let dir = scratch("no-newline");
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("known_servers");
        fs::write(&file, "# edited by hand, no newline at the end").unwrap();
        let trust = Trust::Known(file.clone());
        assert!(trust.decide("s:1", &[7; 32]).unwrap().is_some(), "a first use");
        assert_eq!(trust.decide("s:1", &[7; 32]).unwrap(), None, "remembered");
        assert!(trust.decide("s:1", &[8; 32]).is_err(), "a changed key refused");
    }

    #[test]
    fn a_pin_matches_however_it_is_typed() {
        let key = [7u8; 32];
        let pin = print(&key);
        let pinned = |text: &str| Trust::Pinned(parse_pin(text).unwrap());
        assert_eq!(pinned(&pin.to_uppercase()).decide("s", &key).unwrap(), None);
        assert_eq!(pinned(&pin.replace('-', "")).decide("s", &key).unwrap(), None);
        // The key itself, as `minichat key --public` prints it, pins it too.
        assert_eq!(pinned(&hex(&key)).decide("s", &key).unwrap(), None);
        assert!(pinned(&hex(&[8; 32])).decide("s", &key).is_err());
        assert!(parse_pin("1a2b-3c4d").unwrap_err().contains("8 hexadecimal digits"));
        assert!(parse_pin(&format!("{pin}x")).unwrap_err().contains("'x' is not"));
        let err = Trust::Pinned(print(&[8; 32])).decide("s", &key).unwrap_err().to_string();
        assert!(err.contains("not the key --server-key pins"), "{err}");
    }
}
