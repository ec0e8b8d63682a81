//! A host built without the `broker-tls` feature: no TLS to the broker, and an
//! `mqtts://` bridge URL says so (the feature needs ring, whose build compiles C and
//! assembly for the target: a cross type-check for another platform leaves it out).

use std::path::{Path, PathBuf};

use rumqttc::Transport;

use crate::error::HostError;

/// Nothing: without the feature there is no TLS setup.
#[derive(Debug, Clone)]
pub(crate) enum TlsSetup {}

/// Refuses: this host has no TLS.
pub(crate) fn client_config(_ca_file: Option<&Path>) -> Result<TlsSetup, HostError> {
    Err(HostError::BridgeAccess {
        path: PathBuf::from("mqtts://"),
        why: "this minichat was built without TLS to the broker (the broker-tls feature)"
            .to_owned(),
    })
}

/// Never called: there is no setup to call it with.
pub(crate) fn transport(setup: TlsSetup) -> Transport {
    match setup {}
}
