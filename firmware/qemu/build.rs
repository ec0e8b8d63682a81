//! Puts `memory.x` where cortex-m-rt's `link.x` finds it; for the `secure` feature, writes
//! the keys to compile in (`src/server_key.rs`) from MINICHAT_SERVER_KEY,
//! MINICHAT_FLEET_KEY and MINICHAT_CLIENT_KEY.

use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if std::fs::write(out.join("memory.x"), include_bytes!("memory.x")).is_err() {
        println!("cargo:warning=cannot write memory.x to OUT_DIR");
    }
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-env-changed=MINICHAT_SERVER_KEY");
    println!("cargo:rerun-if-env-changed=MINICHAT_FLEET_KEY");
    println!("cargo:rerun-if-env-changed=MINICHAT_CLIENT_KEY");
    if std::env::var_os("CARGO_FEATURE_SECURE").is_some()
        && let Err(why) = write_keys(&out)
    {
        eprintln!("error: {why}");
        std::process::exit(1);
    }
}

/// The keys as Rust constants, in `OUT_DIR/server_key.rs`.
fn write_keys(out: &Path) -> Result<(), String> {
    let server = std::env::var("MINICHAT_SERVER_KEY").map_err(|_| {
        "the secure build pins the server's key: set MINICHAT_SERVER_KEY to its public key, \
         64 hexadecimal digits (`minichat key --public` prints it)"
            .to_owned()
    })?;
    let server = key("MINICHAT_SERVER_KEY", &server)?;
    let fleet = optional_key("MINICHAT_FLEET_KEY")?;
    let client = optional_key("MINICHAT_CLIENT_KEY")?;
    let code = format!(
        "/// The server's static public key.\n\
         pub const SERVER_PUBLIC_KEY: [u8; 32] = {server};\n\
         /// The fleet's pre-shared key, if the board is one of a fleet's.\n\
         pub const FLEET_KEY: Option<[u8; 32]> = {fleet};\n\
         /// The board's own private key, if it was given one: its joins prove it.\n\
         pub const CLIENT_PRIVATE_KEY: Option<[u8; 32]> = {client};\n"
    );
    std::fs::write(out.join("server_key.rs"), code).map_err(|e| e.to_string())
}

/// The key in the environment variable `name`, if set and not empty, as a Rust `Option`.
fn optional_key(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(text) if !text.trim().is_empty() => Ok(format!("Some({})", key(name, &text)?)),
        _ => Ok("None".to_owned()),
    }
}

/// A key of 64 hexadecimal digits, as a Rust array literal.
fn key(name: &str, text: &str) -> Result<String, String> {
    let text = text.trim();
    let digits: Vec<u8> = text
        .chars()
        .map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect::<Option<_>>()
        .filter(|digits: &Vec<u8>| digits.len() == 64)
        .ok_or_else(|| format!("{name} is not 64 hexadecimal digits: {text:?}"))?;
    let bytes: Vec<String> =
        digits.chunks(2).map(|pair| format!("0x{:x}{:x}", pair[0], pair[1])).collect();
    Ok(format!("[{}]", bytes.join(", ")))
}
