//! This server's side of the bridge: its joins and leaves, its room messages and its
//! users' direct messages to users of other servers, handed to the link to publish; never
//! what came through the bridge.

use minichat_core::server::{Recipient, ServerEvent};
use minichat_core::time::Instant;
use minichat_core::wire::Name;

use crate::bridge::link::ToLink;
use crate::bridge::post::Body;
use crate::bridge::{Bridge, bounce_note, truncate, wall_clock_ms};
use crate::net::peer::Peer;
use crate::net::server_memory::HostServer;
use crate::term::console;

impl Bridge {
    /// A server event: joins and leaves go to the other servers.
    pub(crate) fn on_event(&mut self, event: &ServerEvent<Peer>) {
        match event {
            ServerEvent::Joined { name, .. } => {
                let since = wall_clock_ms();
                self.claims.insert(name.as_name().key(), (*name, since));
                self.publish(Body::Joined { name: name.as_str().to_owned(), since });
            }
            ServerEvent::Left { name, .. } => {
                let key = name.as_name().key();
                if self.claims.get(&key).is_some_and(|(held, _)| held == name) {
                    self.claims.remove(&key);
                }
                self.publish(Body::Left { name: name.as_str().to_owned() });
            }
            _ => {}
        }
    }

    pub(super) fn publish(&self, body: Body) {
        let _ = self.to_link.send(ToLink::Post(body));
    }

    /// Hands the link every room message since the last call and every direct message to
    /// a user of another server, but those that came through the bridge.
    pub(super) fn export(&mut self, server: &mut HostServer, now: Instant) {
        let newest = server.newest_message();
        let first = (self.exported + 1).max(server.oldest_message());
        let overwritten = first - (self.exported + 1);
        if overwritten > 0 {
            self.notices.push(format!(
                "bridge: {} overwritten before it could be published",
                console::count(overwritten, "message")
            ));
        }
        let mut bounced = Vec::new();
        for seq in first..=newest {
            while self.relayed.front().is_some_and(|&relayed| relayed < seq) {
                self.relayed.pop_front();
            }
            if self.relayed.front() == Some(&seq) {
                continue;
            }
            let Some(message) = server.message(seq) else { continue };
            let from = message.from.as_str().to_owned();
            let text = message.text.to_owned();
            let body = match (message.to, message.to_name) {
                (Recipient::Room, _) => Body::Say { from, text },
                (Recipient::Elsewhere, Some(to)) => match self.roster.owner(to.key()) {
                    Some(claim) => {
                        Body::Tell { from, to: to.as_str().to_owned(), at: claim.server, text }
                    }
                    // Gone between the sender's `tell` and now.
                    None => {
                        bounced.push((
                            message.from.as_str().to_owned(),
                            to.as_str().to_owned(),
                            text,
                        ));
                        continue;
                    }
                },
                _ => continue,
            };
            self.publish(body);
        }
        self.exported = newest;
        // Answered here, as the operator's direct messages: never published.
        for (to, name, text) in bounced {
            let note = bounce_note(&name, &text);
            let note = truncate(&note, usize::from(server.config().max_text()));
            if let Ok(to) = Name::new(&to) {
                let _ = server.announce(now, note, Some(to));
            }
        }
    }
}
