//! Posts from the other servers, put in order and stripped of duplicates
//! (`docs/BRIDGE.md`, section 4): per publishing server, the number of the last post
//! stored, and the posts that came early.
//!
//! Where a server's posts start for this one is what that server says when the two meet
//! (a `met` message): posts that come before it are held until it does.

use std::collections::{BTreeMap, HashMap};

use crate::bridge::MAX_SERVERS;
use crate::bridge::post::Post;

/// The most posts held early per publishing server.
pub(crate) const MAX_HELD: usize = 1024;
/// The most posts held early from all publishing servers together: past it, the server
/// whose post arrives gives up its gap (as past [`MAX_HELD`]).
pub(crate) const MAX_HELD_IN_ALL: usize = 8 * MAX_HELD;

/// What a post's (or a `met`'s) arrival gives.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Arrival {
    /// Posts to store, in order (the arrived one, and those held after it).
    pub(crate) ready: Vec<Post>,
    /// Ask the post's server for its posts after this number.
    pub(crate) ask_after: Option<u64>,
    /// Posts given up on (a gap longer than the posts held).
    pub(crate) lost: u64,
    /// It was stored before.
    pub(crate) duplicate: bool,
}

#[derive(Debug, Default)]
struct Origin {
    /// The number of the last post stored; none until the server said where its posts
    /// for this one start.
    last: Option<u64>,
    held: BTreeMap<u64, Post>,
    /// When it was last heard from, on the arrivals' own count.
    heard: u64,
}

impl Origin {
    /// Stores what follows `last`, or gives up the gap before the oldest held when too
    /// many are held (here, or `crowded`: from all servers).
    fn drain(&mut self, arrival: &mut Arrival, crowded: bool) {
        if (self.held.len() > MAX_HELD || crowded)
            && let Some(&first) = self.held.keys().next()
        {
            let last = self.last.unwrap_or(first.saturating_sub(1));
            arrival.lost += first.saturating_sub(last.saturating_add(1));
            self.last = Some(first.saturating_sub(1));
        }
        let Some(mut last) = self.last else { return };
        while let Some(next) = self.held.remove(&(last + 1)) {
            last = next.seq;
            arrival.ready.push(next);
        }
        self.last = Some(last);
        if !self.held.is_empty() {
            arrival.ask_after = Some(last);
        }
    }
}

/// The order of every publishing server heard from.
#[derive(Debug, Default)]
pub(crate) struct Arrivals {
    origins: HashMap<String, Origin>,
    /// Posts held, from all servers.
    held: usize,
    /// Counts arrivals, to tell which server was heard from longest ago.
    heard: u64,
}

impl Arrivals {
    /// A post arrived.
    pub(crate) fn accept(&mut self, post: Post) -> Arrival {
        let mut arrival = Arrival::default();
        let crowded = self.held >= MAX_HELD_IN_ALL;
        let origin = self.origin(&post.server);
        if origin.last.is_some_and(|last| post.seq <= last) || origin.held.contains_key(&post.seq) {
            arrival.duplicate = true;
            return arrival;
        }
        origin.held.insert(post.seq, post);
        origin.drain(&mut arrival, crowded);
        self.recount();
        arrival
    }

    /// The order of `server`'s posts. Past [`MAX_SERVERS`], the one heard from longest
    /// ago is forgotten (server ids change at every start, so old ones fall silent).
    fn origin(&mut self, server: &str) -> &mut Origin {
        if !self.origins.contains_key(server) && self.origins.len() >= MAX_SERVERS {
            let quietest = self
                .origins
                .iter()
                .min_by_key(|(_, origin)| origin.heard)
                .map(|(id, _)| id.clone());
            if let Some(quietest) = quietest {
                self.origins.remove(&quietest);
            }
        }
        self.heard += 1;
        let heard = self.heard;
        let origin = self.origins.entry(server.to_owned()).or_default();
        origin.heard = heard;
        origin
    }

    /// Counts the posts held from all servers again.
    fn recount(&mut self) {
        self.held = self.origins.values().map(|origin| origin.held.len()).sum();
    }

    /// The number of the last post of `server` stored, once it said where its posts start.
    pub(crate) fn last(&self, server: &str) -> Option<u64> {
        self.origins.get(server).and_then(|origin| origin.last)
    }

    /// `server` said its posts for this server start after number `met`: held posts
    /// from there on are stored (and any held before it too: they did arrive), and the
    /// rest is asked for.
    pub(crate) fn met(&mut self, server: &str, met: u64) -> Arrival {
        let mut arrival = Arrival::default();
        let origin = self.origin(server);
        if origin.last.is_none() {
            let first_held = origin.held.keys().next().map(|&first| first.saturating_sub(1));
            origin.last = Some(first_held.map_or(met, |held| held.min(met)));
        }
        origin.drain(&mut arrival, false);
        arrival.ask_after = origin.last;
        self.recount();
        arrival
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::post::Body;

    fn post(server: &str, seq: u64) -> Post {
        let body = Body::Say { from: "x".into(), text: seq.to_string() };
        Post { v: 1, server: server.into(), seq, body }
    }

    fn seqs(arrival: &Arrival) -> Vec<u64> {
        arrival.ready.iter().map(|p| p.seq).collect()
    }

    #[test]
    fn in_order_once_each_per_server() {
        let mut arrivals = Arrivals::default();
        assert_eq!(seqs(&arrivals.met("a", 4)), Vec::<u64>::new());
        assert_eq!(seqs(&arrivals.accept(post("a", 5))), [5]);
        arrivals.met("b", 0);
        assert_eq!(seqs(&arrivals.accept(post("b", 1))), [1]);
        assert!(arrivals.accept(post("a", 5)).duplicate);
        assert!(arrivals.accept(post("a", 4)).duplicate);
        let early = arrivals.accept(post("a", 8));
        assert_eq!((seqs(&early), early.ask_after), (vec![], Some(5)));
        assert!(arrivals.accept(post("a", 8)).duplicate);
        assert_eq!(seqs(&arrivals.accept(post("a", 7))), Vec::<u64>::new());
        assert_eq!(seqs(&arrivals.accept(post("a", 6))), [6, 7, 8]);
        assert_eq!(seqs(&arrivals.accept(post("b", 2))), [2]);
        // Meeting again (a reconnection) asks for what came after the last stored.
        assert_eq!(arrivals.met("a", 2).ask_after, Some(8));
    }

    #[test]
    fn posts_before_the_meeting_wait_for_it() {
        let mut arrivals = Arrivals::default();
        assert_eq!(seqs(&arrivals.accept(post("a", 3))), Vec::<u64>::new());
        assert_eq!(seqs(&arrivals.accept(post("a", 4))), Vec::<u64>::new());
        // Its posts for us start after 1: 2 is asked for, 3 and 4 wait for it.
        let met = arrivals.met("a", 1);
        assert_eq!((seqs(&met), met.ask_after), (vec![], Some(1)));
        assert_eq!(seqs(&arrivals.accept(post("a", 2))), [2, 3, 4]);
        // Posts that arrived before a later starting point are stored all the same.
        arrivals.accept(post("b", 7));
        assert_eq!(seqs(&arrivals.met("b", 9)), [7]);
    }

    #[test]
    fn posts_held_from_all_servers_together_are_bounded() {
        let mut arrivals = Arrivals::default();
        // Servers that never met this one, each sending posts from far ahead.
        for server in 0..MAX_SERVERS {
            for seq in 0..(MAX_HELD_IN_ALL / MAX_SERVERS + 8) as u64 {
                arrivals.accept(post(&server.to_string(), 100 + seq));
            }
        }
        assert!(arrivals.held <= MAX_HELD_IN_ALL + 1, "{} held", arrivals.held);
        // One more server: the one heard from longest ago is forgotten.
        arrivals.met("one more", 0);
        assert_eq!(seqs(&arrivals.accept(post("one more", 1))), [1]);
        assert_eq!(arrivals.origins.len(), MAX_SERVERS);
        assert!(!arrivals.origins.contains_key("0"));
        // A post numbered 0 is nothing to underflow on.
        arrivals.accept(post("zero", 0));
    }

    #[test]
    fn a_gap_longer_than_the_posts_held_is_given_up() {
        let mut arrivals = Arrivals::default();
        arrivals.met("a", 0);
        arrivals.accept(post("a", 1));
        for seq in 0..MAX_HELD as u64 {
            assert_eq!(arrivals.accept(post("a", 100 + seq)).ask_after, Some(1));
        }
        let over = arrivals.accept(post("a", 100 + MAX_HELD as u64));
        assert_eq!(over.lost, 98); // 2 to 99
        assert_eq!(over.ready.len(), MAX_HELD + 1);
        let next = 101 + MAX_HELD as u64;
        assert_eq!(seqs(&arrivals.accept(post("a", next))), [next]);
    }
}
