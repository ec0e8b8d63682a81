//! What the link receives from the broker: the other servers' posts, put in order and
//! handed to the server's loop; greetings answered; replay requests noted; goodbyes and
//! full rooms passed on; and on a sealed bridge, only what opens and is fresh.

use std::time::Instant;

use crate::bridge::MAX_SERVERS;
use crate::bridge::arrivals::Arrival;
use crate::bridge::fresh::Stale;
use crate::bridge::link::{FromLink, Link};
use crate::bridge::post::{Busy, Hello, Met, Post, ReplayRequest, VERSION, from_json, to_json};
use crate::bridge::seal::Stamp;
use crate::bridge::wall_clock_ms;

impl Link {
    pub(crate) fn on_publish(&mut self, topic: &str, payload: &[u8]) {
        let opened;
        let payload = match &self.seal {
            None => payload,
            Some(seal) => match seal.open(topic, payload) {
                Some((stamp, plain)) => {
                    if !self.is_fresh(topic, &stamp) {
                        return;
                    }
                    opened = plain;
                    &opened[..]
                }
                None => return self.unopenable(topic),
            },
        };
        tracing::debug!(topic, payload = %String::from_utf8_lossy(payload), "bridge: received");
        if topic == self.topics.echo() {
            self.echo_heard = Instant::now();
            return;
        }
        if topic == self.topics.replay(&self.server) {
            if let Some(request) = from_json::<ReplayRequest>(payload) {
                // Served with the others asked for until the next replay is due.
                let after = self.replay_after.map_or(request.after, |a| a.min(request.after));
                self.replay_after = Some(after);
            }
            return;
        }
        if let Some(other) = topic.strip_prefix(&self.topics.hello("")) {
            if let Some(hello) = from_json::<Hello>(payload).filter(|_| other != self.server) {
                if let (Some(will), Ok(from)) = (hello.will, u64::from_str_radix(other, 16)) {
                    self.freshness.expect_will(from, will);
                }
                self.on_hello(other.to_owned());
            }
            return;
        }
        if let Some(other) = topic.strip_prefix(&self.topics.busy("")) {
            if let Some(busy) = from_json::<Busy>(payload).filter(|_| other != self.server) {
                self.tell(FromLink::Busy(other.to_owned(), busy.busy));
            }
            return;
        }
        if let Some(other) = topic.strip_prefix(&self.topics.gone("")) {
            if other != self.server && from_json::<Hello>(payload).is_some() {
                self.tell(FromLink::Gone(other.to_owned()));
            }
            return;
        }
        if topic == self.topics.met(&self.server) {
            if let Some(met) = from_json::<Met>(payload).filter(|m| m.server != self.server) {
                let arrival = self.arrivals.met(&met.server, met.met);
                self.on_arrival(&met.server, arrival);
            }
            return;
        }
        let Some(post) = from_json::<Post>(payload) else {
            if self.malformed.first() {
                self.notice(format!(
                    "bridge: a message on {topic} is not one of docs/BRIDGE.md v{VERSION}; \
                     dropped, as every such one will be"
                ));
            }
            return;
        };
        if post.server == self.server || topic != self.topics.room(&post.server) {
            return; // our own, or published under another server's name
        }
        let server = post.server.clone();
        let arrival = self.arrivals.accept(post);
        self.on_arrival(&server, arrival);
    }

    /// Whether a sealed message on `topic` stamped `stamp` is fresh: sealed by the server
    /// its topic names (for the kinds whose topic names their sender), recently, and not
    /// taken before (`fresh.rs`).
    fn is_fresh(&mut self, topic: &str, stamp: &Stamp) -> bool {
        let named = self.topics.publisher(topic);
        let sender_matches =
            named.is_none_or(|server| u64::from_str_radix(server, 16) == Ok(stamp.from));
        let now = wall_clock_ms();
        let verdict = if !sender_matches {
            Err(Stale::Replayed)
        } else if self.topics.is_goodbye(topic) {
            self.freshness.admit_goodbye(stamp, now)
        } else {
            self.freshness.admit(stamp, now)
        };
        let Err(stale) = verdict else { return true };
        if self.stale.first() {
            let why = stale.describe();
            self.notice(format!(
                "bridge: a sealed message on {topic} is not fresh: {why}; dropped, as every such one will be"
            ));
        }
        tracing::debug!(
            topic,
            ?stale,
            dropped = self.stale.count,
            "bridge: dropped a stale message"
        );
        false
    }

    /// A message that does not open with the fleet's key: dropped and counted; said the
    /// first time (another fleet's server, or one in the clear, shares the prefix).
    fn unopenable(&mut self, topic: &str) {
        if self.unopened.first() {
            self.notice(format!(
                "bridge: a message on {topic} does not open with this fleet's key (a server of \
                 another fleet, or one without --fleet-key?); dropped, as every such one will be"
            ));
        }
        tracing::debug!(
            topic,
            unopened = self.unopened.count,
            "bridge: dropped a message that does not open"
        );
    }

    /// A server greeted (it connected): this one's posts for it start after the last the
    /// broker had taken when they first met. What it published while it was away is asked
    /// for; if it never said where its posts start (or that was lost with a connection),
    /// it is greeted back, and answers the same.
    fn on_hello(&mut self, other: String) {
        let now = Instant::now();
        let first_meeting = !self.met.contains_key(&other);
        if first_meeting && self.met.len() >= MAX_SERVERS {
            // The server that greeted longest ago is forgotten: if it greets again, it is
            // met anew, from this server's next post on.
            let quietest =
                self.met.iter().min_by_key(|(_, (_, heard))| *heard).map(|(id, _)| id.clone());
            if let Some(quietest) = quietest {
                self.met.remove(&quietest);
            }
        }
        let entry = self.met.entry(other.clone()).or_insert((self.published, now));
        entry.1 = now;
        let met = entry.0;
        let answer = Met { v: VERSION, server: self.server.clone(), met };
        self.send(self.topics.met(&other), to_json(&answer));
        if first_meeting {
            self.notice(format!("bridge: server {other} shares the room"));
            // Our posts for it start after `met`: who is here comes right after.
            self.post_roster();
        }
        match self.arrivals.last(&other) {
            Some(last) => self.ask(&other, last),
            None => self.greet(),
        }
    }

    fn on_arrival(&mut self, server: &str, arrival: Arrival) {
        tracing::debug!(server, ?arrival, "bridge: arrival");
        if let Some(after) = arrival.ask_after {
            self.ask(server, after);
        }
        if arrival.lost > 0 {
            self.notice(format!(
                "bridge: {} from server {server} lost (no longer kept there)",
                crate::term::console::count(arrival.lost, "message")
            ));
        }
        for post in arrival.ready {
            self.tell(FromLink::Post(post));
        }
    }
}
