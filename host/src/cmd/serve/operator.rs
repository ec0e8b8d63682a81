//! The operator's console commands (`/who`, `/stats`, `/kick`, `/all`, a plain line
//! that answers whoever wrote last), carried out on the running server; those about keys
//! (`/ban`, `/unban`, `/reload`) are in `key_records.rs`.

use minichat_core::server::{Alone, Directory};
use minichat_core::time::Instant;
use minichat_core::wire::Name;

use super::app::{LastSender, ServeApp};
use crate::bridge::Bridge;
use crate::term::escape::escape;
use crate::term::reply_target::Forgotten;
use crate::term::server_stats;
use crate::term::slash::{OPERATOR_HELP, OperatorCommand, parse_operator};

impl ServeApp {
    /// Carries out one console line; returns whether the operator asked to stop.
    /// `recipient`: whom a plain line answers, as the operator saw it.
    pub(super) fn operate(
        &mut self,
        line: &str,
        recipient: Result<Option<LastSender>, Forgotten>,
    ) -> bool {
        let command = match parse_operator(line) {
            Ok(command) => command,
            Err(problem) => {
                self.console.notice(&problem);
                return false;
            }
        };
        let now = self.net.clock.now();
        let outcome = match command {
            OperatorCommand::Nothing => Ok(()),
            OperatorCommand::Quit => return true,
            OperatorCommand::Help => {
                self.console.notice(OPERATOR_HELP);
                Ok(())
            }
            OperatorCommand::Who => {
                self.who();
                Ok(())
            }
            OperatorCommand::Stats => {
                self.stats();
                Ok(())
            }
            OperatorCommand::All(text) => {
                self.net.server.announce(now, text, None).map(|_| ()).map_err(|e| e.to_string())
            }
            OperatorCommand::Kick(name) => self.kick(name),
            OperatorCommand::Ban(name) => self.ban(name),
            OperatorCommand::Unban(name) => self.unban(name),
            OperatorCommand::Reload => {
                self.reload_records("/reload");
                Ok(())
            }
            OperatorCommand::Reply(text) => self.reply(now, text, recipient),
        };
        if let Err(problem) = outcome {
            self.console.notice(&problem);
        }
        false
    }

    /// `/who`: the users here, and those of the servers this one shares its room with.
    fn who(&mut self) {
        let mut users: Vec<String> = self
            .net
            .server
            .users_with_keys()
            .map(|(name, addr, key)| match key {
                Some(key) => format!("{name} ({addr}, key {})", crate::keys::print(key)),
                None => format!("{name} ({addr}, no key)"),
            })
            .collect();
        // Names from other servers are remote text: shown escaped.
        let elsewhere = self.bridge.iter().flat_map(|bridge| bridge.roster().users());
        users.extend(elsewhere.map(|(name, at)| format!("{} (on server {at})", escape(name))));
        self.console.show(&format!("users ({}): {}", users.len(), users.join(", ")));
    }

    /// `/stats`: the server's counters, and the TCP guard's.
    fn stats(&mut self) {
        for line in server_stats::describe(self.net.server.stats()) {
            self.console.show(&line);
        }
        if let Some(tcp) = self.net.tcp_stats() {
            self.console.show(&server_stats::describe_tcp(&tcp));
        }
    }

    /// `/kick NAME`: removes a user of this server's.
    fn kick(&mut self, name: &str) -> Result<(), String> {
        let name = Name::new(name).map_err(|error| error.to_string())?;
        let roster = self.bridge.as_ref().map(Bridge::roster);
        self.net.server.kick(name).map_err(|_| match roster.and_then(|r| r.owner(name.key())) {
            Some(claim) => format!(
                "{name} is a user of server {}: only its operator can remove it",
                claim.server
            ),
            None => format!("no user named {name} is connected"),
        })
    }

    /// A plain line: `text` to `recipient`, whoever wrote last as the operator saw it.
    fn reply(
        &mut self,
        now: Instant,
        text: &str,
        recipient: Result<Option<LastSender>, Forgotten>,
    ) -> Result<(), String> {
        match recipient {
            Err(Forgotten) => Err(
                "so many wrote while this line was typed that its recipient is forgotten; it was not sent"
                    .to_owned(),
            ),
            Ok(None) => Err("nobody has written yet; /all TEXT writes to everyone".to_owned()),
            Ok(Some(LastSender::User(name))) => {
                let roster = self.bridge.as_ref().map(Bridge::roster);
                let directory: &dyn Directory = roster.map_or(&Alone, |r| r as &dyn Directory);
                self.net
                    .server
                    .announce_with(now, text, Some(name.as_name()), directory)
                    .map(|_| ())
                    .map_err(|_| format!("{name} is no longer connected"))
            }
            Ok(Some(LastSender::Legacy(addr))) => match self.net.send_text(text, addr) {
                Ok(()) => {
                    self.console.show(&format!("[to {addr}] {}", escape(text)));
                    Ok(())
                }
                Err(_) => Err(format!("the reply to {addr} could not be sent")),
            },
        }
    }
}
