//! How a server gets into its broker: the broker's own protections, beside the fleet key's
//! seal (`docs/BRIDGE.md` section 10). An MQTT user name (from the URL) and its password
//! (`--bridge-password-file`, a file readable by its owner only), and TLS to the broker
//! (`mqtts://`), which must show a certificate for the URL's host signed by an authority
//! in `--bridge-ca FILE` (PEM), or by one the system trusts (`broker_tls.rs`; a host
//! built without the `broker-tls` feature has no TLS, `broker_tls_off.rs`).

#[cfg(feature = "broker-tls")]
#[path = "broker_tls.rs"]
mod tls;

#[cfg(not(feature = "broker-tls"))]
#[path = "broker_tls_off.rs"]
mod tls;

pub(crate) use self::tls::{TlsSetup, transport};

use std::path::Path;

use crate::bridge::BridgeUrl;
use crate::error::HostError;
use crate::keys;

/// What the link presents to the broker.
#[derive(Clone, Default)]
pub(crate) struct BridgeAccess {
    /// The MQTT user name and password, if the broker asks for them.
    pub(crate) credentials: Option<(String, String)>,
    /// TLS to the broker (`mqtts://`).
    pub(crate) tls: Option<TlsSetup>,
}

impl std::fmt::Debug for BridgeAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("BridgeAccess")
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl BridgeAccess {
    /// The access `url` asks for: its user with the password in `password_file`, TLS with
    /// the authorities in `ca_file` (else the system's).
    pub(crate) fn new(
        url: &BridgeUrl,
        password_file: Option<&Path>,
        ca_file: Option<&Path>,
    ) -> Result<BridgeAccess, HostError> {
        let problem =
            |path: &Path, why: String| HostError::BridgeAccess { path: path.to_owned(), why };
        let credentials = match (&url.user, password_file) {
            (Some(user), Some(path)) => Some((user.clone(), read_password(path)?)),
            (Some(user), None) => Some((user.clone(), String::new())),
            (None, Some(path)) => {
                return Err(problem(
                    path,
                    "a password needs a user: put it in the URL, mqtt://USER@HOST".to_owned(),
                ));
            }
            (None, None) => None,
        };
        let tls = match (url.tls, ca_file) {
            (true, ca) => Some(tls::client_config(ca)?),
            (false, Some(path)) => {
                return Err(problem(
                    path,
                    "certificates are for TLS: use an mqtts:// URL".to_owned(),
                ));
            }
            (false, None) => None,
        };
        Ok(BridgeAccess { credentials, tls })
    }
}

/// The password: the file's first line, readable by its owner only.
fn read_password(path: &Path) -> Result<String, HostError> {
    keys::check_private(path)?;
    let text = std::fs::read_to_string(path)
        .map_err(|source| HostError::KeyFile { path: path.to_owned(), source })?;
    let password = text.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        return Err(HostError::BridgeAccess {
            path: path.to_owned(),
            why: "it is empty: the first line is the password".to_owned(),
        });
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("minichat-access-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_password_file_must_be_private_and_needs_a_user() {
        let dir = scratch("password");
        let path = dir.join("password");
        std::fs::write(&path, "s3cret\n").unwrap();
        let url = BridgeUrl::parse("mqtt://fleet@broker").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let error = BridgeAccess::new(&url, Some(&path), None).unwrap_err().to_string();
            assert!(error.contains("can be read by others"), "{error}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let access = BridgeAccess::new(&url, Some(&path), None).unwrap();
        assert_eq!(access.credentials, Some(("fleet".to_owned(), "s3cret".to_owned())));
        assert!(!format!("{access:?}").contains("s3cret"));
        let anonymous = BridgeUrl::parse("mqtt://broker").unwrap();
        let error = BridgeAccess::new(&anonymous, Some(&path), None).unwrap_err().to_string();
        assert!(error.contains("needs a user"), "{error}");
        let error = BridgeAccess::new(&url, None, Some(&path)).unwrap_err().to_string();
        assert!(error.contains("mqtts://"), "{error}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(feature = "broker-tls")]
    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let dir = scratch("ca");
        let path = dir.join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let url = BridgeUrl::parse("mqtts://broker").unwrap();
        let error = BridgeAccess::new(&url, None, Some(&path)).unwrap_err().to_string();
        assert!(error.contains("no certificate"), "{error}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
