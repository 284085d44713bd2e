//! The history search's question and answer, shared by every store: what
//! matches (plain equality on what the decision and the reviews recorded)
//! and the bound every implementation keeps.
//!
//! The bound: one call examines at most [`SEARCH_SCAN`] requests, the
//! newest first from its starting point, and returns at most
//! [`SEARCH_PAGE_MAX`]. A filter that matches nothing among them ends the
//! page early with a `next_before` to carry on from, instead of reading the
//! whole table: a search costs the same whatever its filters.

use super::RequestRow;
use crate::lifecycle::State;

/// The most requests one search call examines (its window). Measured on
/// the SQLite store with 100 000 requests of about 2 KB each (see
/// `store/sqlite/search.rs`): a call that reads its whole window through
/// JSON filters takes at most ~125 ms in a debug build on a busy 2-core
/// machine, a page filled from the newest rows a few ms.
pub const SEARCH_SCAN: u32 = 5_000;

/// The most rows one page returns.
pub const SEARCH_PAGE_MAX: u32 = 200;

/// What a history search asks for. Every set field narrows (all must
/// hold); the text fields are compared exactly (no patterns, no case
/// folding), so a search means what it says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Only this agent (`agent.id` of the action, else the requester).
    pub agent: Option<String>,
    /// Only requests where a rule of this name fired (any entry of the
    /// decision's `rules`, determining or not).
    pub rule: Option<String>,
    /// Only requests whose decision gave this reason code.
    pub reason: Option<String>,
    /// Only requests this identity reviewed (approved, rejected or asked
    /// for changes), as the review recorded them.
    pub approver: Option<String>,
    /// Only this outcome (`auto`, `queue`, `explicit`, `dual`, `block`).
    pub outcome: Option<String>,
    /// Only requests resting in this state now.
    pub state: Option<State>,
    /// Only requests created at or after this Unix time. Also bounds the
    /// window: ids sort by creation time, so the search starts and stops
    /// at the range's ends rather than at the newest and oldest request.
    pub created_after: Option<i64>,
    /// Only requests created before this Unix time (see `created_after`).
    pub created_before: Option<i64>,
    /// Only ids that sort before this one (the page's starting point).
    pub before_id: Option<String>,
    /// At most this many rows (1 ..= [`SEARCH_PAGE_MAX`]; larger is cut).
    pub limit: u32,
}

/// One page of a search.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchPage {
    /// The matching requests, newest first.
    pub rows: Vec<RequestRow>,
    /// Where the next page starts (its `before_id`): set when the page
    /// is full or the window ended before older requests did.
    pub next_before: Option<String>,
    /// The window's size: how many requests the call could read (at
    /// most [`SEARCH_SCAN`]; fewer are read when the page fills first).
    pub scanned: u32,
    /// Whether the window (not the page size) ended the page: requests
    /// older than `next_before` were not looked at yet.
    pub window_ended: bool,
}

/// How far apart a request's id time and its `created_unix` may be, in
/// seconds, at most: both are read from the system clock at its creation,
/// a moment apart. A time bound turned into an id bound
/// ([`crate::ids::floor_at`]) is widened by this much; the exact
/// `created_unix` comparison still decides.
pub const ID_CLOCK_MARGIN: i64 = 60;

/// The outcomes a decision can have, as stored.
pub const OUTCOMES: [&str; 5] = ["auto", "queue", "explicit", "dual", "block"];
