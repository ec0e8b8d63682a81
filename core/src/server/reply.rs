//! Immediate answers: an error for a refused message, a page of the user list, and the
//! answer to a frame that did not parse (rate-limited, and to an unverified source never
//! larger than what it sent).

use crate::address::PeerAddress;
use crate::error::WireError;
use crate::server::Server;
use crate::server::ServerMemory;
use crate::server::detail::Detail;
use crate::server::directory::Directory;
use crate::server::intake::Sequenced;
use crate::time::Instant;
use crate::transport::Transmit;
use crate::wire::limits::MAX_FRAME;
use crate::wire::{ErrorCode, Message, Name, NameList, NameListBuilder, Token};

impl<A: PeerAddress, M: ServerMemory<A>> Server<A, M> {
    pub(super) fn reject_reply(
        &self,
        addr: A,
        token: Token,
        seq: u32,
        code: ErrorCode,
        what: Sequenced<'_>,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        let mut detail = Detail::new();
        match (code, what) {
            (ErrorCode::NoSuchUser, Sequenced::Tell(to, _)) => {
                detail.push("no user named ");
                detail.push(to.as_str());
                detail.push(" is connected");
            }
            (ErrorCode::RateLimited, _) => {
                detail.push("slow down: at most ");
                detail.push_u32(u32::from(self.config.rate_per_sec));
                detail.push(" messages a second");
            }
            (ErrorCode::TextTooLong, _) => {
                detail.push("this server accepts at most ");
                detail.push_u32(u32::from(self.config.max_text));
                detail.push(" bytes of text");
            }
            _ => detail.push(code.describe()),
        }
        Transmit::to_client(
            buf,
            addr,
            &Message::Error { token, code, seq, detail: detail.as_str() },
        )
    }

    /// A page of the user list from `start`, answering request `req`, in a frame of at
    /// most `max_frame` bytes: this server's users, then the other servers' (`directory`).
    pub(super) fn users_reply<D: Directory + ?Sized>(
        &self,
        addr: A,
        token: Token,
        (req, start, max_frame): (u32, u16, usize),
        buf: &mut [u8],
        directory: &D,
    ) -> Option<Transmit<A>> {
        // Room for names: the frame less a `users` frame with none.
        let empty = Message::Users { token, req, total: 0, start: 0, names: NameList::EMPTY };
        let mut room = [0u8; MAX_FRAME];
        let frame = max_frame.min(MAX_FRAME);
        let names = room.get_mut(..frame.saturating_sub(Transmit::<A>::len_to_client(&empty)))?;
        let everyone = self.table.len().saturating_add(directory.len());
        let total = u16::try_from(everyone).unwrap_or(u16::MAX);
        // No more than `total` less `start`, whatever the directory holds past u16.
        let mut left = usize::from(total).saturating_sub(usize::from(start));
        let mut list = NameListBuilder::new(names);
        let mut push = |name: Name<'_>, place: Option<Name<'_>>| {
            let pushed = left > 0 && list.push_listed(name, place);
            left = left.saturating_sub(1);
            pushed
        };
        let mut full = false;
        for (_, user) in self.table.iter().skip(usize::from(start)) {
            if !push(user.name.as_name(), None) {
                full = true;
                break;
            }
        }
        if !full && !directory.is_empty() {
            let from = usize::from(start).saturating_sub(self.table.len());
            directory.names_from(from, &mut push);
        }
        let list = list.finish();
        // A start past the end gets an empty page at the end.
        let start = start.min(total);
        Transmit::to_client(buf, addr, &Message::Users { token, req, total, start, names: list })
    }

    pub(super) fn malformed(
        &mut self,
        now: Instant,
        from: A,
        token: Option<Token>,
        error: WireError,
        received: usize,
        buf: &mut [u8],
    ) -> Option<Transmit<A>> {
        self.stats.malformed += 1;
        let code = ErrorCode::from(error);
        let mut detail = Detail::new();
        // Without `core::fmt`: a firmware server carries no formatting for this.
        detail.push(code.describe());
        detail.push(": ");
        detail.push(error.reason());
        if let Some(kind) = error.kind() {
            detail.push(" (");
            detail.push(kind.name());
            detail.push(")");
        }
        if let Some(slot) = self.table.by_addr(from) {
            let user = self.table.get_mut(slot)?;
            if token.is_some_and(|t| t != user.token) {
                self.stats.bad_token += 1;
                return None;
            }
            // At most one notice a second, shared with the rate limit's.
            if !user.state.rate.should_report(now) {
                return None;
            }
            let message =
                Message::Error { token: user.token, code, seq: 0, detail: detail.as_str() };
            return Transmit::to_client(buf, from, &message);
        }
        // An unverified source: only a version mismatch is answered, and never with more
        // bytes than it sent.
        let overhead = Transmit::<A>::len_to_client(&Message::Error {
            token: Token::NONE,
            code,
            seq: 0,
            detail: "",
        });
        if code != ErrorCode::UnsupportedVersion || received < overhead {
            return None;
        }
        let fits = detail.truncated(received - overhead);
        Transmit::to_client(
            buf,
            from,
            &Message::Error { token: Token::NONE, code, seq: 0, detail: fits },
        )
    }
}
