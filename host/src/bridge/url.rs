//! The broker a server bridges through: `mqtt://[USER@]HOST[:PORT][/PREFIX]`, or
//! `mqtts://…` for TLS. Parsed by the `url` crate; the password never goes in the URL
//! (command lines are visible to every user of the machine): `--bridge-password-file`.

use std::fmt;

/// The broker's port unless the URL says: MQTT, and MQTT over TLS.
pub(crate) const DEFAULT_PORT: u16 = 1883;
pub(crate) const DEFAULT_TLS_PORT: u16 = 8883;
/// The topic prefix unless the URL says.
pub(crate) const DEFAULT_PREFIX: &str = "minichat";

/// Where the broker is, how to reach it, and the prefix of the topics the bridged servers
/// share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BridgeUrl {
    /// `mqtts://`: TLS to the broker, which must show a certificate for `host`.
    pub(crate) tls: bool,
    /// The MQTT user name the broker knows this server by, if it asks for one.
    pub(crate) user: Option<String>,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) prefix: String,
}

impl BridgeUrl {
    /// Parses `mqtt[s]://[USER@]HOST[:PORT][/PREFIX]`; an IPv6 host in brackets
    /// (`mqtt://[::1]:1883`).
    pub(crate) fn parse(text: &str) -> Result<BridgeUrl, String> {
        let hint = "expected mqtt://[USER@]HOST[:PORT][/PREFIX] or mqtts://…, like mqtt://127.0.0.1:1883/minichat";
        let url = url::Url::parse(text).map_err(|error| format!("{text}: {error}; {hint}"))?;
        let tls = match url.scheme() {
            "mqtt" => false,
            "mqtts" => true,
            _ => return Err(format!("{text}: {hint}")),
        };
        if url.password().is_some() {
            // The URL is not repeated: it holds the password.
            return Err("the bridge URL holds a password, which would show in the list of \
                 processes; put it in a file readable by its owner only and pass \
                 --bridge-password-file FILE"
                .to_owned());
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) if !name.is_empty() => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(format!("{text} has no host; {hint}")),
        };
        let port = match url.port() {
            Some(0) => return Err(format!("{text}: 0 is not a port (1 to 65535)")),
            Some(port) => port,
            None if tls => DEFAULT_TLS_PORT,
            None => DEFAULT_PORT,
        };
        let user = match url.username() {
            "" => None,
            user => Some(
                percent_encoding::percent_decode_str(user)
                    .decode_utf8()
                    .map_err(|_| format!("{text}: the user name is not UTF-8"))?
                    .into_owned(),
            ),
        };
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{text}: a broker URL has no ?query or #fragment; {hint}"));
        }
        let prefix = percent_encoding::percent_decode_str(url.path())
            .decode_utf8()
            .map_err(|_| format!("{text}: the prefix is not UTF-8"))?;
        let prefix = prefix.trim_start_matches('/').trim_end_matches('/');
        let prefix = if prefix.is_empty() { DEFAULT_PREFIX } else { prefix };
        if prefix.contains(['+', '#', '\0']) || prefix.split('/').any(str::is_empty) {
            return Err(format!(
                "{text}: the prefix {prefix:?} must be topic levels without wildcards (+, #)"
            ));
        }
        Ok(BridgeUrl { tls, user, host, port, prefix: prefix.to_owned() })
    }
}

impl fmt::Display for BridgeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        let user = self.user.as_ref().map(|user| format!("{user}@")).unwrap_or_default();
        if self.host.contains(':') {
            write!(f, "{scheme}://{user}[{}]:{}/{}", self.host, self.port, self.prefix)
        } else {
            write!(f, "{scheme}://{user}{}:{}/{}", self.host, self.port, self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16, prefix: &str) -> BridgeUrl {
        BridgeUrl { tls: false, user: None, host: host.into(), port, prefix: prefix.into() }
    }

    #[test]
    fn parses_hosts_ports_and_prefixes() {
        let parse = BridgeUrl::parse;
        assert_eq!(parse("mqtt://127.0.0.1:1884/room"), Ok(url("127.0.0.1", 1884, "room")));
        assert_eq!(parse("mqtt://broker"), Ok(url("broker", 1883, "minichat")));
        assert_eq!(parse("mqtt://broker/a/b/"), Ok(url("broker", 1883, "a/b")));
        assert_eq!(parse("mqtt://[::1]:9/x"), Ok(url("::1", 9, "x")));
        assert_eq!(parse("mqtt://[::1]:9/x").unwrap().to_string(), "mqtt://[::1]:9/x");
        assert!(parse("tcp://broker").unwrap_err().contains("expected mqtt://"));
        assert!(parse("mqtt://:1883").unwrap_err().contains("expected mqtt://"));
        assert!(parse("mqtt://broker:0").unwrap_err().contains("not a port"));
        assert!(parse("mqtt://broker:http").unwrap_err().contains("expected mqtt://"));
        assert!(parse("mqtt://broker/a/+").unwrap_err().contains("wildcards"));
        assert!(parse("mqtt://broker/a//b").unwrap_err().contains("wildcards"));
        assert!(parse("mqtt://broker/a?b").unwrap_err().contains("no ?query"));
    }

    #[test]
    fn users_and_tls_but_never_a_password() {
        let parse = BridgeUrl::parse;
        let tls = parse("mqtts://fleet@broker.example/room").unwrap();
        assert_eq!(
            tls,
            BridgeUrl {
                tls: true,
                user: Some("fleet".into()),
                host: "broker.example".into(),
                port: 8883,
                prefix: "room".into()
            }
        );
        assert_eq!(tls.to_string(), "mqtts://fleet@broker.example:8883/room");
        assert_eq!(parse("mqtt://a%40b@h").unwrap().user.as_deref(), Some("a@b"));
        let error = parse("mqtt://fleet:s3cret@broker").unwrap_err();
        assert!(error.contains("--bridge-password-file"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
    }
}
