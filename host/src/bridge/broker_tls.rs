//! TLS to the broker (the `broker-tls` feature, on by default): rustls, checking the
//! broker's certificate against the authorities in `--bridge-ca FILE` or the system's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rumqttc::{TlsConfiguration, Transport};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::HostError;

/// What TLS to the broker needs: the client's configuration.
pub(crate) type TlsSetup = Arc<rustls::ClientConfig>;

/// TLS that trusts the authorities in `ca_file` (PEM), or the system's.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<TlsSetup, HostError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let problem = |why: String| HostError::BridgeAccess { path: PathBuf::from(path), why };
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|error| problem(error.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| problem(error.to_string()))?;
            if certificates.is_empty() {
                return Err(problem("it holds no certificate (PEM)".to_owned()));
            }
            for certificate in certificates {
                roots.add(certificate).map_err(|error| problem(error.to_string()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for certificate in found.certs {
                let _ = roots.add(certificate);
            }
            if roots.is_empty() {
                return Err(HostError::BridgeAccess {
                    path: PathBuf::from("the system's certificate store"),
                    why: "it holds no authority to check the broker's certificate with: give one with --bridge-ca FILE".to_owned(),
                });
            }
        }
    }
    // ring, not aws-lc-rs (rustls' default), whose build needs cmake and a C toolchain on
    // every platform the host claims; the price is no post-quantum key exchange with
    // the broker, which rustls 0.23.48 marks by deprecating ring's provider.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| HostError::BridgeAccess {
            path: PathBuf::from("TLS"),
            why: error.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The link's transport for `setup`.
pub(crate) fn transport(setup: TlsSetup) -> Transport {
    Transport::tls_with_config(TlsConfiguration::Rustls(setup))
}
