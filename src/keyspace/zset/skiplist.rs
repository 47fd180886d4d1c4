//! The ordered half of a large sorted set: Redis's `zskiplist` with spans,
//! in safe Rust.
//!
//! Nodes live in an arena (`Vec<Node>`) and link to each other by `u32`
//! index; freed slots are reused through a free list. Slot 0 is the header,
//! which holds no element and has [`LEVEL_MAX`] levels. Each node has
//! 1..=[`LEVEL_MAX`] levels, drawn with p = 1/4 per extra level (Redis's
//! `ZSKIPLIST_P`) from a xorshift generator seeded by the caller, so the
//! shape — and only the shape, never a reply — depends on the seed.
//!
//! Invariants (checked by [`SkipList::check_invariants`] in tests):
//! * level 0 links every element in ascending (score, member) order —
//!   scores compare as `f64` (`-0.0 == 0.0`), ties by member bytes — and
//!   `backward` links the reverse; `tail` is the last element;
//! * the forward link of a node at level i skips `span` elements: the
//!   number of level-0 steps from the node to its forward node (or, for the
//!   last node of a level, to past the end), so summing spans along any
//!   search path gives an element's 1-based rank;
//! * `level` is the highest level in use by any element (at least 1).
//!
//! Costs: insert, delete, rank, element-by-rank and "how many leading
//! elements satisfy a monotone predicate" are O(log n) expected; walking k
//! elements from a found node is O(k). Memory per element: a 64-byte
//! `Node` plus its levels (8 bytes each, 1.33 on average, in their own
//! allocation) and the member's bytes.

use bytes::Bytes;

/// Most levels a node may have (Redis's `ZSKIPLIST_MAXLEVEL`).
pub const LEVEL_MAX: usize = 32;

/// "No node".
const NIL: u32 = u32::MAX;
/// The header's slot.
const HEADER: u32 = 0;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Level {
    forward: u32,
    span: u32,
}

#[derive(Clone, Debug)]
struct Node {
    member: Bytes,
    score: f64,
    backward: u32,
    levels: Vec<Level>,
}

/// A skip list of (score, member) pairs with rank spans.
#[derive(Clone, Debug)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    level: usize,
    len: usize,
    level_rng: u64,
}

/// True if the element (`score`, `member`) sorts before (`other_score`,
/// `other_member`).
fn precedes(score: f64, member: &[u8], other_score: f64, other_member: &[u8]) -> bool {
    score < other_score || (score == other_score && member < other_member)
}

impl SkipList {
    /// An empty list whose level draws are seeded by `seed`.
    pub fn new(seed: u64) -> SkipList {
        let header = Node {
            member: Bytes::new(),
            score: 0.0,
            backward: NIL,
            levels: vec![
                Level {
                    forward: NIL,
                    span: 0
                };
                LEVEL_MAX
            ],
        };
        SkipList {
            nodes: vec![header],
            free: Vec::new(),
            tail: NIL,
            level: 1,
            len: 0,
            // xorshift must not start at 0.
            level_rng: seed | 1,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the list holds no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Approximate heap bytes of the arena and levels (members excluded).
    pub fn heap_bytes(&self) -> usize {
        let levels: usize = self
            .nodes
            .iter()
            .map(|node| node.levels.capacity() * 8)
            .sum();
        self.nodes.capacity() * std::mem::size_of::<Node>() + levels + self.free.capacity() * 4
    }

    fn random_level(&mut self) -> usize {
        let mut level = 1;
        loop {
            // xorshift64
            let mut x = self.level_rng;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.level_rng = x;
            // Two bits per draw: 1/4 chance to go up.
            let mut bits = x;
            for _ in 0..32 {
                if level >= LEVEL_MAX || bits & 3 != 0 {
                    return level;
                }
                level += 1;
                bits >>= 2;
            }
        }
    }

    fn allocate(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                let slot = u32::try_from(self.nodes.len()).expect("skip list arena below u32::MAX");
                assert!(slot != NIL, "skip list arena full");
                self.nodes.push(node);
                slot
            }
        }
    }

    fn node(&self, index: u32) -> &Node {
        &self.nodes[index as usize]
    }

    fn forward(&self, index: u32, level: usize) -> u32 {
        self.nodes[index as usize].levels[level].forward
    }

    fn level_mut(&mut self, index: u32, level: usize) -> &mut Level {
        &mut self.nodes[index as usize].levels[level]
    }

    /// The last node before (`score`, `member`) at each level.
    fn predecessors(&self, score: f64, member: &[u8]) -> ([u32; LEVEL_MAX], [u32; LEVEL_MAX]) {
        let mut update = [HEADER; LEVEL_MAX];
        let mut rank = [0u32; LEVEL_MAX];
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let next = self.forward(x, i);
                if next == NIL {
                    break;
                }
                let node = self.node(next);
                if !precedes(node.score, &node.member, score, member) {
                    break;
                }
                rank[i] += self.node(x).levels[i].span;
                x = next;
            }
            update[i] = x;
        }
        (update, rank)
    }

    /// Inserts an element that is not yet in the list. O(log n) expected.
    pub fn insert(&mut self, score: f64, member: Bytes) {
        assert!(!score.is_nan(), "NaN scores never reach the skip list");
        assert!(self.len < NIL as usize - 1, "skip list length fits u32");
        let (mut update, mut rank) = self.predecessors(score, &member);
        let level = self.random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEADER;
                self.level_mut(HEADER, i).span = self.len as u32;
            }
            self.level = level;
        }
        let new = self.allocate(Node {
            member,
            score,
            backward: NIL,
            levels: vec![
                Level {
                    forward: NIL,
                    span: 0
                };
                level
            ],
        });
        for i in 0..level {
            let before = update[i];
            let skipped = rank[0] - rank[i];
            let old = self.node(before).levels[i];
            *self.level_mut(new, i) = Level {
                forward: old.forward,
                span: old.span - skipped,
            };
            *self.level_mut(before, i) = Level {
                forward: new,
                span: skipped + 1,
            };
        }
        for (i, &before) in update.iter().enumerate().take(self.level).skip(level) {
            self.level_mut(before, i).span += 1;
        }
        self.nodes[new as usize].backward = if update[0] == HEADER { NIL } else { update[0] };
        match self.forward(new, 0) {
            NIL => self.tail = new,
            next => self.nodes[next as usize].backward = new,
        }
        self.len += 1;
    }

    /// Removes the element (`score`, `member`); false if absent.
    pub fn delete(&mut self, score: f64, member: &[u8]) -> bool {
        let (update, _) = self.predecessors(score, member);
        let x = self.forward(update[0], 0);
        if x == NIL || self.node(x).score != score || self.node(x).member != member {
            return false;
        }
        for (i, &before) in update.iter().enumerate().take(self.level) {
            if self.forward(before, i) == x {
                let removed = self.node(x).levels[i];
                let level = self.level_mut(before, i);
                // `level.span` ≥ 1 because it reaches `x`.
                level.span = level.span + removed.span - 1;
                level.forward = removed.forward;
            } else {
                self.level_mut(before, i).span -= 1;
            }
        }
        let backward = self.node(x).backward;
        match self.forward(x, 0) {
            NIL => self.tail = backward,
            next => self.nodes[next as usize].backward = backward,
        }
        while self.level > 1 && self.forward(HEADER, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        // Release the member's bytes now; the slot is reused later.
        let node = &mut self.nodes[x as usize];
        node.member = Bytes::new();
        node.levels = Vec::new();
        self.free.push(x);
        true
    }

    /// 1-based rank of (`score`, `member`), or `None` if absent.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut rank = 0usize;
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            loop {
                let next = self.forward(x, i);
                if next == NIL {
                    break;
                }
                let node = self.node(next);
                if !(node.score < score || (node.score == score && node.member[..] <= *member)) {
                    break;
                }
                rank += self.node(x).levels[i].span as usize;
                x = next;
            }
            if x != HEADER && self.node(x).member == member {
                return Some(rank);
            }
        }
        None
    }

    /// The node at 1-based `rank`, or `NIL`.
    fn node_by_rank(&self, rank: usize) -> u32 {
        let mut traversed = 0usize;
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            loop {
                let next = self.forward(x, i);
                let span = self.node(x).levels[i].span as usize;
                if next == NIL || traversed + span > rank {
                    break;
                }
                traversed += span;
                x = next;
            }
            if traversed == rank {
                return x;
            }
        }
        NIL
    }

    /// How many leading elements satisfy `pred`, which must hold for a
    /// prefix of the order (e.g. "score below min"). O(log n) expected.
    pub fn lead_count(&self, pred: impl Fn(&[u8], f64) -> bool) -> usize {
        let mut rank = 0usize;
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            loop {
                let next = self.forward(x, i);
                if next == NIL {
                    break;
                }
                let node = self.node(next);
                if !pred(&node.member, node.score) {
                    break;
                }
                rank += self.node(x).levels[i].span as usize;
                x = next;
            }
        }
        rank
    }

    /// Visits elements from 0-based `start` (ascending index) towards the
    /// end, or towards the start when `reverse`, until `visit` returns false.
    pub fn walk(&self, start: usize, reverse: bool, mut visit: impl FnMut(&Bytes, f64) -> bool) {
        let mut x = self.node_by_rank(start + 1);
        while x != NIL && x != HEADER {
            let node = self.node(x);
            if !visit(&node.member, node.score) {
                return;
            }
            x = if reverse {
                node.backward
            } else {
                node.levels[0].forward
            };
        }
    }

    /// The first (or, with `last`, the final) element.
    pub fn edge(&self, last: bool) -> Option<(&Bytes, f64)> {
        let x = if last {
            self.tail
        } else {
            self.forward(HEADER, 0)
        };
        (x != NIL).then(|| (&self.node(x).member, self.node(x).score))
    }

    /// Every element in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, f64)> + '_ {
        let mut x = self.forward(HEADER, 0);
        std::iter::from_fn(move || {
            if x == NIL {
                return None;
            }
            let node = self.node(x);
            x = node.levels[0].forward;
            Some((&node.member, node.score))
        })
    }

    /// Asserts every structural invariant (see the module doc). O(n · levels).
    pub fn check_invariants(&self) {
        assert!(self.level >= 1 && self.level <= LEVEL_MAX);
        // Level 0: order, backward links, tail, length.
        let mut order = Vec::new();
        let mut x = self.forward(HEADER, 0);
        let mut previous = NIL;
        while x != NIL {
            let node = self.node(x);
            assert_eq!(node.backward, previous, "backward link of node {x}");
            if previous != NIL {
                let before = self.node(previous);
                assert!(
                    precedes(before.score, &before.member, node.score, &node.member),
                    "level 0 out of order"
                );
            }
            order.push(x);
            previous = x;
            x = node.levels[0].forward;
        }
        assert_eq!(self.tail, previous, "tail");
        assert_eq!(order.len(), self.len, "length");
        let rank_of = |index: u32| order.iter().position(|&n| n == index).map_or(0, |p| p + 1);
        // Every level: spans equal level-0 distances.
        for i in 0..LEVEL_MAX {
            let mut x = HEADER;
            loop {
                let level = self.node(x).levels[i];
                if i >= self.level {
                    assert_eq!(
                        level.forward, NIL,
                        "header level {i} above `level` is unused"
                    );
                    break;
                }
                if level.forward == NIL {
                    break;
                }
                let here = if x == HEADER { 0 } else { rank_of(x) };
                assert_eq!(
                    level.span as usize,
                    rank_of(level.forward) - here,
                    "span at level {i}"
                );
                assert!(
                    self.node(level.forward).levels.len() > i,
                    "link to a node without level {i}"
                );
                x = level.forward;
            }
        }
        if self.level > 1 {
            assert_ne!(
                self.forward(HEADER, self.level - 1),
                NIL,
                "top level in use"
            );
        }
        for (rank, &index) in order.iter().enumerate() {
            assert_eq!(self.node_by_rank(rank + 1), index, "node_by_rank");
            let node = self.node(index);
            assert_eq!(self.rank(node.score, &node.member), Some(rank + 1), "rank");
        }
    }
}
