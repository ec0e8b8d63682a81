//! `minichat serve --bridge mqtt://HOST:PORT[/PREFIX]`: servers that share one room
//! through an MQTT broker (`docs/BRIDGE.md`).
//!
//! The server's loop hands each new room message of its own to the link (`link.rs`, a
//! thread that speaks MQTT through rumqttc) and stores each post of another server the
//! link hands back, in order and once (`arrivals.rs`), as a message from that server's
//! user ([`minichat_core::server::Server::relay`]). Messages that came through the bridge
//! are never published again.

mod arrivals;
mod link;
mod post;
mod url;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;

use minichat_core::server::Recipient;
use minichat_core::time::Instant;
use minichat_core::wire::Name;
use mio::Waker;

use self::link::{FromLink, Link, ToLink};
pub(crate) use self::url::BridgeUrl;
use crate::error::HostError;
use crate::net::server_memory::HostServer;
use crate::term::console;

/// The bridge as the server's loop sees it.
#[derive(Debug)]
pub(crate) struct Bridge {
    to_link: Sender<ToLink>,
    from_link: Receiver<FromLink>,
    thread: Option<JoinHandle<()>>,
    /// The last room message handed to the link or passed over.
    exported: u64,
    /// Room sequence numbers of the messages that came through the bridge, in order.
    relayed: VecDeque<u64>,
    notices: Vec<String>,
}

impl Bridge {
    /// Starts the link to the broker at `url`, waking the server's loop through `waker`;
    /// the room's messages up to `newest` are not published.
    pub(crate) fn start(
        url: BridgeUrl,
        waker: Arc<Waker>,
        newest: u64,
    ) -> Result<Bridge, HostError> {
        let server = format!("{:016x}", getrandom::u64().map_err(HostError::Random)?);
        let (to_link, requests) = channel();
        let (out, from_link) = channel();
        let link = Link::new(url, server, requests, out, waker);
        let thread = std::thread::Builder::new()
            .name("bridge".into())
            .spawn(move || link.run())
            .map_err(HostError::Thread)?;
        Ok(Bridge {
            to_link,
            from_link,
            thread: Some(thread),
            exported: newest,
            relayed: VecDeque::new(),
            notices: Vec::new(),
        })
    }

    /// Stores what came from the other servers and hands the link this server's new room
    /// messages; returns whether anything came (the server has deliveries to send).
    pub(crate) fn exchange(&mut self, server: &mut HostServer, now: Instant) -> bool {
        let mut came = false;
        loop {
            match self.from_link.try_recv() {
                Ok(FromLink::Post(post)) => {
                    came = true;
                    self.relay(server, now, &post.from, &post.text, &post.server);
                }
                Ok(FromLink::Notice(notice)) => self.notices.push(notice),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.notices.push("bridge: the link to the broker stopped".into());
                    break;
                }
            }
        }
        self.export(server);
        came
    }

    fn relay(
        &mut self,
        server: &mut HostServer,
        now: Instant,
        from: &str,
        text: &str,
        origin: &str,
    ) {
        let stored = Name::new(from)
            .map_err(|error| error.to_string())
            .and_then(|name| server.relay(now, name, text).map_err(|error| error.to_string()));
        match stored {
            Ok(seq) => self.relayed.push_back(seq),
            Err(why) => self.notices.push(format!(
                "bridge: a message from {from:?} on server {origin} was not stored: {why}"
            )),
        }
    }

    /// Hands the link every room message since the last call, but those that came
    /// through the bridge and direct messages (which stay on their server).
    fn export(&mut self, server: &HostServer) {
        let newest = server.newest_message();
        let first = (self.exported + 1).max(server.oldest_message());
        let overwritten = first - (self.exported + 1);
        if overwritten > 0 {
            self.notices.push(format!(
                "bridge: {} overwritten before it could be published",
                console::count(overwritten, "message")
            ));
        }
        for seq in first..=newest {
            while self.relayed.front().is_some_and(|&relayed| relayed < seq) {
                self.relayed.pop_front();
            }
            if self.relayed.front() == Some(&seq) {
                continue;
            }
            let Some(message) = server.message(seq) else { continue };
            if message.to != Recipient::Room {
                continue;
            }
            let post = ToLink::Post {
                from: message.from.as_str().to_owned(),
                text: message.text.to_owned(),
            };
            let _ = self.to_link.send(post);
        }
        self.exported = newest;
    }

    /// What the operator should know since the last call.
    pub(crate) fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    /// Stops the link: what waits for the broker goes out if the broker takes it within a
    /// second.
    pub(crate) fn stop(mut self) {
        let _ = self.to_link.send(ToLink::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
