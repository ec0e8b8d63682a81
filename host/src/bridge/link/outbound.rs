//! This server's side of the link: its posts numbered, held while the broker is away,
//! handed to rumqttc, kept for replays, and published again when another server asks
//! (at most once every [`REPLAY_EVERY`], from the earliest post asked for).

use std::time::Instant;

use rumqttc::v5::mqttbytes::QoS;

use crate::bridge::link::{KEPT, Link, REPLAY_EVERY, ROSTER_CHUNK};
use crate::bridge::post::{Body, Post, Present, VERSION, to_json};

impl Link {
    /// Numbers a post and queues it for the broker.
    pub(super) fn number(&mut self, body: Body) {
        match &body {
            Body::Joined { name, since } => {
                self.users.insert(name.clone(), *since);
            }
            Body::Left { name } => {
                self.users.remove(name);
            }
            _ => {}
        }
        let post = Post { v: VERSION, server: self.server.clone(), seq: self.next_seq, body };
        self.next_seq += 1;
        self.outbox.push_back(post);
        if self.outbox.len() > KEPT {
            self.outbox.pop_front();
            self.notice(format!(
                "bridge: more than {KEPT} posts waiting for the broker; the oldest is dropped"
            ));
        }
    }

    /// Says who is here, as posts of their own numbered after everything before: what
    /// the others knew of this server's users is replaced by it.
    pub(super) fn post_roster(&mut self) {
        let users: Vec<Present> =
            self.users.iter().map(|(name, &since)| Present { name: name.clone(), since }).collect();
        let mut chunks = users.chunks(ROSTER_CHUNK);
        let first = chunks.next().map(<[Present]>::to_vec).unwrap_or_default();
        self.number(Body::Roster { first: true, users: first });
        for chunk in chunks {
            self.number(Body::Roster { first: false, users: chunk.to_vec() });
        }
    }

    /// Hands waiting posts to rumqttc, replays first, while it takes them.
    pub(super) fn publish(&mut self) {
        let now = Instant::now();
        if self.resend.is_empty()
            && self.replayed_at.is_none_or(|at| now >= at + REPLAY_EVERY)
            && let Some(after) = self.replay_after.take()
        {
            self.replayed_at = Some(now);
            let again = self.kept.iter().filter(|post| post.seq > after);
            self.resend.extend(again.cloned());
        }
        let topic = self.topics.room(&self.server);
        while let Some(post) = self.resend.front() {
            let payload = self.outgoing(&topic, to_json(post)).unwrap_or_default();
            if self.client.try_publish(&topic, QoS::AtLeastOnce, false, payload).is_err() {
                return;
            }
            self.resend.pop_front();
        }
        while let Some(post) = self.outbox.front() {
            let payload = self.outgoing(&topic, to_json(post)).unwrap_or_default();
            if self.client.try_publish(&topic, QoS::AtLeastOnce, false, payload).is_err() {
                return;
            }
            if let Some(post) = self.outbox.pop_front() {
                tracing::debug!(seq = post.seq, "bridge: published");
                self.published = post.seq;
                self.kept.push_back(post);
            }
            if self.kept.len() > KEPT {
                self.kept.pop_front();
            }
        }
    }
}
