//! `minichat key`: a key as people and firmware builds need it — the public key in
//! hexadecimal (what a board compiles in, what an authorized-keys line lists) and its
//! fingerprint (what people pin and compare). The server's, or with `--client` the user's.

use std::path::Path;

use crate::error::HostError;
use crate::keys;
use crate::term::output::{self, Stream};

/// Shows the key pair in `path` (made if the file does not exist, as `serve` would):
/// the public key alone with `public_only`.
pub(crate) fn run(path: &Path, public_only: bool) -> Result<(), HostError> {
    let (keypair, made) = keys::keypair(path)?;
    let public = keys::hex(keypair.public());
    if public_only {
        output::line(Stream::Stdout, public);
        return Ok(());
    }
    let made = if made { " (made now)" } else { "" };
    output::line(Stream::Stdout, format!("key file:    {}{made}", path.display()));
    output::line(Stream::Stdout, format!("public key:  {public}"));
    output::line(Stream::Stdout, format!("fingerprint: {}", keys::print(keypair.public())));
    Ok(())
}
