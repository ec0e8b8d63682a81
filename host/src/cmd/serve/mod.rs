//! `minichat serve`: the chat server over UDP, with the operator console of the original
//! QQ program, and legacy plain-text clients.
//!
//! This file starts it (its key, the bridge, the lines scripts wait for); `app.rs` runs it,
//! one method per kind of input; `operator.rs` carries out the console's commands, and
//! `key_records.rs` those about keys (owners recorded, bans, reloads).

mod app;
mod key_records;
mod operator;

use std::path::PathBuf;

use minichat_core::ConfigError;
use minichat_core::secure::KEY_LEN;
use minichat_core::server::{ServerConfig, ServerIdentity};
use minichat_core::time::Duration;

use self::app::ServeApp;
use crate::bridge::{Bridge, BridgeAccess, BridgeOptions};
use crate::error::HostError;
use crate::identity::{KeyRecords, RecordsPaths};
use crate::keys;
use crate::net::server_loop::{Listen, ServerLoop};
use crate::shutdown::Shutdown;
use crate::term::output::{self, Stream};

/// What `minichat serve` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct ServeConfig {
    /// UDP (and TCP, and serial lines) to serve.
    pub(crate) listen: Listen,
    pub(crate) capacity: usize,
    /// Bytes of recent messages kept for resending and history.
    pub(crate) buffer: usize,
    pub(crate) keepalive: Duration,
    pub(crate) history: u16,
    pub(crate) rate_per_sec: u16,
    /// Sessions one source IP address may hold (0: no limit).
    pub(crate) per_ip: u16,
    /// Handshakes a second one source IP address may cause (0: no limit).
    pub(crate) handshake_rate: u16,
    /// Do not show joins, leaves and messages (the console still answers, and a plain
    /// line still answers the last sender).
    pub(crate) quiet: bool,
    /// `--capture`: the file everything in and out is written to.
    pub(crate) capture: Option<PathBuf>,
    /// `--bridge`: the broker through which other servers share the room, and how.
    pub(crate) bridge: Option<BridgeOptions>,
    /// The server's key file (made if missing).
    pub(crate) key: PathBuf,
    /// `--fleet-key`: admit a fleet's devices only.
    pub(crate) fleet_key: Option<PathBuf>,
    /// `--plaintext`: sessions in the clear are taken too.
    pub(crate) plaintext: bool,
    /// `--authorized-keys`: only the keys listed join.
    pub(crate) authorized_keys: Option<PathBuf>,
}

impl ServeConfig {
    /// The core's configuration for these settings, with a fresh random secret.
    pub(crate) fn server_config(&self) -> Result<ServerConfig, HostError> {
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).map_err(HostError::Random)?;
        let mut config = ServerConfig::new(secret, getrandom::u64().map_err(HostError::Random)?);
        self.settings(&mut config).map_err(HostError::ServerConfig)?;
        Ok(config)
    }

    /// Sets `config` as the flags say; a value out of range is refused.
    fn settings(&self, config: &mut ServerConfig) -> Result<(), ConfigError> {
        config.set_capacity(self.capacity)?.set_per_ip(self.per_ip)?;
        config.set_handshakes_per_sec(self.handshake_rate)?;
        // The sessions one address may hold may all start at once.
        if self.per_ip > 0 {
            config.set_handshake_burst(self.per_ip)?;
        }
        config.set_liveness(self.keepalive, self.keepalive.times(3))?;
        config.set_history(self.history)?.set_rate_per_sec(self.rate_per_sec)?;
        // Without a rate there is no burst to set.
        if self.rate_per_sec > 0 {
            config.set_burst(self.rate_per_sec.saturating_mul(2))?;
        }
        Ok(())
    }
}

/// The server's identity: its key (made now, or read), and the fleet's key if given.
struct Identity {
    fingerprint: String,
    made: bool,
    psk: Option<[u8; KEY_LEN]>,
}

/// Runs the server until Ctrl-C, SIGTERM or `/quit`.
pub(crate) fn run(config: ServeConfig) -> Result<(), HostError> {
    // A bridge that cannot start safely, or a bad line in the records of keys, is refused
    // before anything listens.
    let bridge_access = bridge_access(&config)?;
    let records =
        KeyRecords::load(RecordsPaths::beside(&config.key, config.authorized_keys.clone()))?;
    let mut net = ServerLoop::bind(&config.listen, config.server_config()?, config.buffer)?;
    if let Some(path) = &config.capture {
        net.set_capture(crate::cmd::start_capture(path)?);
    }
    let shutdown = Shutdown::install_with_reload(net.waker())?;
    let identity = identify(&config, &mut net)?;
    records.describe_files()?;
    announce(&config, &net, &identity, &records);
    let bridge = match (&config.bridge, bridge_access) {
        (Some(options), Some(access)) => {
            let newest = net.server.newest_message();
            let url = options.url.clone();
            Some(Bridge::start(url, access, net.waker(), newest, identity.psk.as_ref())?)
        }
        _ => None,
    };
    let mut app = ServeApp::new(config, net, bridge, records);
    app.serve(&shutdown)?;
    app.stop()
}

/// How to reach the broker of `--bridge`, if asked; refused in the clear unless the
/// operator said anyone may speak.
fn bridge_access(config: &ServeConfig) -> Result<Option<BridgeAccess>, HostError> {
    let Some(bridge) = &config.bridge else { return Ok(None) };
    if config.fleet_key.is_none() && !bridge.anyone_may_speak {
        return Err(HostError::BridgeInTheClear { url: bridge.url.to_string() });
    }
    let (password, ca) = (bridge.password_file.as_deref(), bridge.ca_file.as_deref());
    Ok(Some(BridgeAccess::new(&bridge.url, password, ca)?))
}

/// Reads (or makes) the server's key and reads the fleet's, and gives them to the server.
fn identify(config: &ServeConfig, net: &mut ServerLoop) -> Result<Identity, HostError> {
    let (keypair, made) = keys::keypair(&config.key)?;
    let psk = config.fleet_key.as_deref().map(keys::fleet_key).transpose()?;
    let fingerprint = keys::print(keypair.public());
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(HostError::Random)?;
    let identity = ServerIdentity { keypair, psk, plaintext: config.plaintext };
    net.server.set_identity(identity, seed);
    Ok(Identity { fingerprint, made, psk })
}

/// Says where the server listens and how it takes sessions: the lines scripts and tests
/// wait for, before the console takes the terminal.
fn announce(config: &ServeConfig, net: &ServerLoop, identity: &Identity, records: &KeyRecords) {
    let addr = net.addr();
    output::line(
        Stream::Stdout,
        format!(
            "minichat serve: listening on {addr} ({}), up to {} users; type /help for the console, Ctrl-C stops",
            net.protocols(),
            config.capacity
        ),
    );
    let Identity { fingerprint, made, psk } = identity;
    let made = if *made { "made now, " } else { "" };
    let clear = if config.plaintext {
        "; sessions in the clear are taken too (--plaintext)"
    } else {
        "; sessions in the clear are refused"
    };
    let fleet = if psk.is_some() { "; a fleet's devices only (--fleet-key)" } else { "" };
    output::line(
        Stream::Stdout,
        format!(
            "minichat serve: encrypted sessions with key {fingerprint} ({made}{}){fleet}{clear}; clients pin it with --server-key {fingerprint}",
            config.key.display()
        ),
    );
    output::line(Stream::Stdout, format!("minichat serve: {}", key_records::describe(records)));
    tracing::info!(%addr, capacity = config.capacity, "chat server started");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags' settings, as `lib.rs` makes them from the command line.
    fn flags(capacity: u16, keepalive: u16, rate: u16, per_ip: u16) -> ServeConfig {
        ServeConfig {
            listen: Listen { bind: ([127, 0, 0, 1], 0).into(), tcp: false, serial: Vec::new() },
            capacity: usize::from(capacity),
            buffer: 1 << 20,
            keepalive: Duration::from_secs(u64::from(keepalive)),
            history: u16::MAX,
            rate_per_sec: rate,
            per_ip,
            handshake_rate: u16::MAX,
            quiet: true,
            capture: None,
            bridge: None,
            key: PathBuf::from("unused"),
            fleet_key: None,
            plaintext: false,
            authorized_keys: None,
        }
    }

    #[test]
    fn every_value_the_flags_take_is_a_setting_the_core_takes() {
        // clap bounds --capacity and --keepalive to 1..=65535; the rest take any u16.
        for (capacity, keepalive, rate, per_ip) in
            [(1, 1, 0, 0), (u16::MAX, u16::MAX, u16::MAX, u16::MAX), (256, 15, 50, 16)]
        {
            let config = flags(capacity, keepalive, rate, per_ip).server_config().unwrap();
            assert_eq!(config.capacity(), usize::from(capacity));
            assert_eq!(config.idle_timeout(), config.keepalive().times(3));
            let burst = if rate == 0 { 100 } else { rate.saturating_mul(2) };
            assert_eq!((config.rate_per_sec(), config.burst()), (rate, burst));
        }
    }

    #[test]
    fn a_refused_value_is_a_sentence_about_the_server() {
        let err = flags(0, 15, 50, 16).server_config().unwrap_err();
        assert_eq!(
            err.to_string(),
            "the server cannot start: the capacity is 0; it must be between 1 and 65535"
        );
    }
}
