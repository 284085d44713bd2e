//! Maximum flow by Dinic's algorithm: the polynomial core of approval
//! matching.
//!
//! `O(V² E)` in general and far less on the shallow, small-capacity
//! networks `matching` builds (five layers at most, total flow bounded by
//! the approvals a decision asks for). The depth-first search recurses at
//! most once per layer of the level graph, so its depth is bounded by the
//! longest shortest path, never by the input size.

/// An edge id, returned by [`Network::add_edge`] to read its flow later.
pub(super) type EdgeId = usize;

/// A capacity large enough to mean "unbounded": no flow in these networks
/// comes near it (the total is bounded by the approvals requested, a `u32`
/// sum).
pub(super) const UNBOUNDED: u64 = u64::MAX / 4;

#[derive(Clone, Copy, Debug)]
struct Edge {
    to: usize,
    /// Remaining capacity.
    residual: u64,
    /// Original capacity (0 for reverse edges).
    capacity: u64,
}

/// A flow network. Edge `2k` is the `k`-th added edge and `2k + 1` its
/// reverse, so `e ^ 1` is always the twin of `e`.
#[derive(Debug, Default)]
pub(super) struct Network {
    edges: Vec<Edge>,
    /// Outgoing edge ids per node.
    out: Vec<Vec<usize>>,
}

impl Network {
    /// A network of `nodes` nodes and no edges.
    pub(super) fn new(nodes: usize) -> Self {
        Network {
            edges: Vec::new(),
            out: vec![Vec::new(); nodes],
        }
    }

    /// Adds a node and returns its id.
    pub(super) fn add_node(&mut self) -> usize {
        self.out.push(Vec::new());
        self.out.len() - 1
    }

    /// Adds an edge `from -> to` of capacity `capacity`. Ids of nodes that
    /// do not exist are ignored (the edge carries no flow).
    pub(super) fn add_edge(&mut self, from: usize, to: usize, capacity: u64) -> EdgeId {
        let id = self.edges.len();
        self.edges.push(Edge {
            to,
            residual: capacity,
            capacity,
        });
        self.edges.push(Edge {
            to: from,
            residual: 0,
            capacity: 0,
        });
        if to < self.out.len() {
            if let Some(list) = self.out.get_mut(from) {
                list.push(id);
            }
            if let Some(list) = self.out.get_mut(to) {
                list.push(id + 1);
            }
        }
        id
    }

    /// Raises the capacity of edge `id` to `capacity` (never lowers it), so
    /// a later [`Network::max_flow`] can push more through it from the
    /// current flow.
    pub(super) fn raise(&mut self, id: EdgeId, capacity: u64) {
        if let Some(e) = self.edges.get_mut(id)
            && capacity > e.capacity
        {
            e.residual += capacity - e.capacity;
            e.capacity = capacity;
        }
    }

    /// The flow on edge `id` after [`Network::max_flow`].
    pub(super) fn flow(&self, id: EdgeId) -> u64 {
        self.edges
            .get(id)
            .map_or(0, |e| e.capacity.saturating_sub(e.residual))
    }

    /// Pushes a maximum flow from `source` to `sink`, starting from the
    /// flow already in the network, and returns the value added. An
    /// augmenting path ends at `sink` and never passes through it, so the
    /// flow on edges into `sink` never decreases.
    pub(super) fn max_flow(&mut self, source: usize, sink: usize) -> u64 {
        let n = self.out.len();
        if source >= n || sink >= n || source == sink {
            return 0;
        }
        let mut total: u64 = 0;
        let mut level = vec![usize::MAX; n];
        let mut next = vec![0usize; n];
        loop {
            if !self.levels(source, sink, &mut level) {
                return total;
            }
            next.iter_mut().for_each(|x| *x = 0);
            loop {
                let pushed = self.push(source, sink, UNBOUNDED, &level, &mut next);
                if pushed == 0 {
                    break;
                }
                total = total.saturating_add(pushed);
            }
        }
    }

    /// Breadth-first levels from `source`; whether `sink` is reachable.
    fn levels(&self, source: usize, sink: usize, level: &mut [usize]) -> bool {
        level.iter_mut().for_each(|l| *l = usize::MAX);
        let mut queue = std::collections::VecDeque::new();
        if let Some(l) = level.get_mut(source) {
            *l = 0;
        }
        queue.push_back(source);
        while let Some(u) = queue.pop_front() {
            let lu = level.get(u).copied().unwrap_or(usize::MAX);
            for &e in self.out.get(u).map_or(&[][..], Vec::as_slice) {
                let Some(edge) = self.edges.get(e) else {
                    continue;
                };
                if edge.residual > 0
                    && let Some(lv) = level.get_mut(edge.to)
                    && *lv == usize::MAX
                {
                    *lv = lu + 1;
                    queue.push_back(edge.to);
                }
            }
        }
        level.get(sink).is_some_and(|l| *l != usize::MAX)
    }

    /// One augmenting path in the level graph (blocking-flow step), with
    /// per-node edge pointers so each edge is tried once per phase.
    fn push(
        &mut self,
        u: usize,
        sink: usize,
        limit: u64,
        level: &[usize],
        next: &mut [usize],
    ) -> u64 {
        if u == sink {
            return limit;
        }
        let lu = level.get(u).copied().unwrap_or(usize::MAX);
        loop {
            let at = next.get(u).copied().unwrap_or(usize::MAX);
            let Some(&e) = self.out.get(u).and_then(|l| l.get(at)) else {
                return 0;
            };
            let (to, residual) = match self.edges.get(e) {
                Some(edge) => (edge.to, edge.residual),
                None => (usize::MAX, 0),
            };
            if residual > 0 && level.get(to).copied() == Some(lu + 1) {
                let pushed = self.push(to, sink, limit.min(residual), level, next);
                if pushed > 0 {
                    if let Some(edge) = self.edges.get_mut(e) {
                        edge.residual -= pushed;
                    }
                    if let Some(twin) = self.edges.get_mut(e ^ 1) {
                        twin.residual += pushed;
                    }
                    return pushed;
                }
            }
            if let Some(x) = next.get_mut(u) {
                *x += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_network_has_its_known_max_flow() {
        // CLRS figure 26.1: max flow 23.
        let mut n = Network::new(6);
        for (a, b, c) in [
            (0, 1, 16),
            (0, 2, 13),
            (1, 3, 12),
            (2, 1, 4),
            (2, 4, 14),
            (3, 2, 9),
            (3, 5, 20),
            (4, 3, 7),
            (4, 5, 4),
        ] {
            n.add_edge(a, b, c);
        }
        assert_eq!(n.max_flow(0, 5), 23);
    }

    #[test]
    fn flow_needs_rerouting_through_reverse_edges() {
        // Greedy s->a->y would block b; the max flow reroutes a to x.
        let mut n = Network::new(6);
        let (s, a, b, x, y, t) = (0, 1, 2, 3, 4, 5);
        n.add_edge(s, a, 1);
        n.add_edge(s, b, 1);
        n.add_edge(a, y, 1);
        n.add_edge(a, x, 1);
        n.add_edge(b, y, 1);
        n.add_edge(x, t, 1);
        let yt = n.add_edge(y, t, 1);
        assert_eq!(n.max_flow(s, t), 2);
        assert_eq!(n.flow(yt), 1);
        // Already maximum: a second call adds nothing.
        assert_eq!(n.max_flow(s, t), 0);
        assert_eq!(Network::new(1).max_flow(0, 3), 0);
    }
}
