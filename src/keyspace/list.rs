//! A Redis list: a sequence of byte strings, pushed and popped at both ends.
//!
//! # Representation
//!
//! A ring buffer of [`Bytes`] (`VecDeque`): O(1) push and pop at both ends,
//! O(1) access by index, O(n) insertion and removal in the middle (LINSERT,
//! LREM, LSET-free). Each element costs its payload (one exact-size
//! allocation, copied in by the caller so it never pins a network buffer)
//! plus a 32-byte slot; Redis's quicklist packs small elements tighter
//! (2–11 bytes of overhead each), so long lists of tiny elements use more
//! memory here — a packed chunked form is the known improvement.
//! The ring buffer shrinks once it is less than a quarter full, so a list
//! that was long once does not hold its peak memory.
//!
//! Redis 7.0 reports every list as `quicklist` (the `listpack` list encoding
//! arrived in 7.2), and so does [`List::encoding`].
//!
//! Index arithmetic shared by the list commands (negative indexes, clamped
//! ranges) lives here too, as [`resolve_index`] and [`resolve_range`].

use std::collections::VecDeque;

use bytes::Bytes;

/// Fewest slots the ring buffer keeps when it shrinks.
const SLOTS_MIN: usize = 8;

/// One end of a list: `LEFT` is the head, `RIGHT` the tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The first element (index 0, `LEFT`).
    Head,
    /// The last element (index -1, `RIGHT`).
    Tail,
}

/// A Redis list: a sequence of byte strings, pushed and popped at both ends.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    items: VecDeque<Bytes>,
}

impl List {
    /// An empty list (an empty list is never stored under a key).
    pub fn new() -> List {
        List::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty (an empty collection is never stored under a key).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The name OBJECT ENCODING reports (always `quicklist`, as Redis 7.0).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Approximate heap bytes held (INFO memory).
    pub fn heap_bytes(&self) -> usize {
        let payload: usize = self.items.iter().map(Bytes::len).sum();
        payload + self.items.capacity() * std::mem::size_of::<Bytes>()
    }

    /// Adds `item` at `end`. The caller owns the copy: pass bytes that do
    /// not share a network buffer.
    pub fn push(&mut self, end: End, item: Bytes) {
        match end {
            End::Head => self.items.push_front(item),
            End::Tail => self.items.push_back(item),
        }
    }

    /// Removes and returns the element at `end`.
    pub fn pop(&mut self, end: End) -> Option<Bytes> {
        let item = match end {
            End::Head => self.items.pop_front(),
            End::Tail => self.items.pop_back(),
        };
        self.shrink_if_sparse();
        item
    }

    /// The element at `index` (0 is the head).
    pub fn get(&self, index: usize) -> Option<&Bytes> {
        self.items.get(index)
    }

    /// Replaces the element at `index`; false if out of range.
    pub fn set(&mut self, index: usize, item: Bytes) -> bool {
        match self.items.get_mut(index) {
            Some(slot) => {
                *slot = item;
                true
            }
            None => false,
        }
    }

    /// Inserts `item` before position `index` (`index == len` appends).
    /// Panics if `index > len`: callers take positions from the list.
    pub fn insert(&mut self, index: usize, item: Bytes) {
        self.items.insert(index, item);
    }

    /// Every element from head to tail.
    pub fn iter(&self) -> std::collections::vec_deque::Iter<'_, Bytes> {
        self.items.iter()
    }

    /// The elements at `start..=end` (a range from [`resolve_range`]).
    pub fn range(&self, start: usize, end: usize) -> std::collections::vec_deque::Iter<'_, Bytes> {
        self.items.range(start..=end)
    }

    /// Position of the first element equal to `pivot`, from the head.
    pub fn position(&self, pivot: &[u8]) -> Option<usize> {
        self.items.iter().position(|item| item.as_ref() == pivot)
    }

    /// Removes elements equal to `element`, as LREM: `count > 0` the first
    /// `count` from the head, `count < 0` the last `|count|` from the tail,
    /// `0` all. Returns how many were removed.
    pub fn remove_matching(&mut self, element: &[u8], count: i64) -> usize {
        let limit = match count {
            0 => usize::MAX,
            _ => usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX),
        };
        // Matches at positions >= `cutoff` (from the tail) or the first
        // `limit` matches (from the head) go.
        let cutoff = if count < 0 {
            let mut matches = 0;
            self.items
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, item)| item.as_ref() == element)
                .find(|_| {
                    matches += 1;
                    matches == limit
                })
                .map_or(0, |(index, _)| index)
        } else {
            0
        };
        let (mut removed, mut index) = (0, 0);
        self.items.retain(|item| {
            let position = index;
            index += 1;
            let goes = position >= cutoff && removed < limit && item.as_ref() == element;
            removed += usize::from(goes);
            !goes
        });
        self.shrink_if_sparse();
        removed
    }

    /// Keeps only `start..=end` (a range from [`resolve_range`]); `None`
    /// empties the list.
    pub fn trim(&mut self, keep: Option<(usize, usize)>) {
        match keep {
            Some((start, end)) => {
                self.items.truncate(end + 1);
                self.items.drain(..start);
            }
            None => self.items.clear(),
        }
        self.shrink_if_sparse();
    }

    fn shrink_if_sparse(&mut self) {
        let capacity = self.items.capacity();
        if capacity > SLOTS_MIN && self.items.len() < capacity / 4 {
            self.items.shrink_to((self.items.len() * 2).max(SLOTS_MIN));
        }
    }
}

/// The position of `index` in a list of `len` elements (negative counts from
/// the tail: -1 is the last), `None` if out of range (LINDEX, LSET).
pub fn resolve_index(len: usize, index: i64) -> Option<usize> {
    let len = i128::try_from(len).ok()?;
    let index = i128::from(index);
    let index = if index < 0 { len + index } else { index };
    if (0..len).contains(&index) {
        usize::try_from(index).ok()
    } else {
        None
    }
}

/// Redis's LRANGE/LTRIM arithmetic: the inclusive range `start..=end` of a
/// list of `len` elements (negative indexes count from the tail, then
/// `start` is clamped to 0 and `end` to the last element); `None` if empty.
pub fn resolve_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = i128::try_from(len).ok()?;
    let resolve = |index: i64| {
        let index = i128::from(index);
        if index < 0 {
            len + index
        } else {
            index
        }
    };
    let start = resolve(start).max(0);
    let end = resolve(end);
    if start > end || start >= len {
        return None;
    }
    let end = end.min(len - 1);
    Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list_of(items: &[&str]) -> List {
        let mut list = List::new();
        for item in items {
            list.push(End::Tail, Bytes::copy_from_slice(item.as_bytes()));
        }
        list
    }

    fn contents(list: &List) -> Vec<&[u8]> {
        list.iter().map(|item| item.as_ref()).collect()
    }

    #[test]
    fn push_and_pop_at_both_ends() {
        let mut list = List::new();
        list.push(End::Head, Bytes::from_static(b"b"));
        list.push(End::Head, Bytes::from_static(b"a"));
        list.push(End::Tail, Bytes::from_static(b"c"));
        assert_eq!(contents(&list), [&b"a"[..], b"b", b"c"]);
        assert_eq!(list.pop(End::Tail).as_deref(), Some(&b"c"[..]));
        assert_eq!(list.pop(End::Head).as_deref(), Some(&b"a"[..]));
        assert_eq!(list.len(), 1);
        assert_eq!(list.encoding(), "quicklist");
        list.pop(End::Head);
        assert!(list.is_empty());
        assert_eq!(list.pop(End::Head), None);
    }

    #[test]
    fn indexes_resolve_like_redis() {
        assert_eq!(resolve_index(3, 0), Some(0));
        assert_eq!(resolve_index(3, -1), Some(2));
        assert_eq!(resolve_index(3, -3), Some(0));
        assert_eq!(resolve_index(3, -4), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(0, 0), None);
        assert_eq!(resolve_index(3, i64::MIN), None);
        assert_eq!(resolve_index(3, i64::MAX), None);
    }

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(resolve_range(5, 0, -1), Some((0, 4)));
        assert_eq!(resolve_range(5, -100, 100), Some((0, 4)));
        assert_eq!(resolve_range(5, 2, 1), None);
        assert_eq!(resolve_range(5, 5, 10), None);
        assert_eq!(resolve_range(5, -2, -1), Some((3, 4)));
        assert_eq!(resolve_range(5, 0, -6), None);
        assert_eq!(resolve_range(0, 0, -1), None);
        assert_eq!(resolve_range(5, i64::MIN, i64::MAX), Some((0, 4)));
        assert_eq!(resolve_range(5, i64::MAX, i64::MIN), None);
    }

    #[test]
    fn remove_matching_counts_from_either_end() {
        let mut list = list_of(&["a", "b", "a", "c", "a"]);
        assert_eq!(list.remove_matching(b"a", 1), 1);
        assert_eq!(contents(&list), [&b"b"[..], b"a", b"c", b"a"]);
        let mut list = list_of(&["a", "b", "a", "c", "a"]);
        assert_eq!(list.remove_matching(b"a", -2), 2);
        assert_eq!(contents(&list), [&b"a"[..], b"b", b"c"]);
        let mut list = list_of(&["a", "b", "a", "c", "a"]);
        assert_eq!(list.remove_matching(b"a", 0), 3);
        assert_eq!(list.remove_matching(b"zz", 0), 0);
        assert_eq!(list.remove_matching(b"b", i64::MIN), 1);
        assert_eq!(contents(&list), [&b"c"[..]]);
    }

    #[test]
    fn trim_keeps_the_range() {
        let mut list = list_of(&["a", "b", "c", "d"]);
        list.trim(Some((1, 2)));
        assert_eq!(contents(&list), [&b"b"[..], b"c"]);
        list.trim(None);
        assert!(list.is_empty());
    }

    #[test]
    fn insert_set_and_position() {
        let mut list = list_of(&["a", "c"]);
        let at = list.position(b"c").unwrap();
        list.insert(at, Bytes::from_static(b"b"));
        list.insert(list.len(), Bytes::from_static(b"d"));
        assert!(list.set(0, Bytes::from_static(b"A")));
        assert!(!list.set(9, Bytes::from_static(b"x")));
        assert_eq!(contents(&list), [&b"A"[..], b"b", b"c", b"d"]);
        assert_eq!(list.position(b"zz"), None);
        assert_eq!(list.range(1, 2).count(), 2);
    }

    #[test]
    fn memory_shrinks_after_a_long_list_drains() {
        let mut list = List::new();
        for index in 0..10_000u32 {
            list.push(End::Tail, Bytes::from(index.to_string()));
        }
        while list.len() > 3 {
            list.pop(End::Head);
        }
        assert!(list.items.capacity() < 64, "{}", list.items.capacity());
    }

    #[derive(Clone, Debug)]
    enum Op {
        Push(bool, u8),
        Pop(bool),
        Set(i64, u8),
        Insert(bool, u8, u8),
        Remove(u8, i64),
        Trim(i64, i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let index = -8i64..8;
        prop_oneof![
            4 => (any::<bool>(), 0..4u8).prop_map(|(head, v)| Op::Push(head, v)),
            2 => any::<bool>().prop_map(Op::Pop),
            1 => (index.clone(), 0..4u8).prop_map(|(i, v)| Op::Set(i, v)),
            1 => (any::<bool>(), 0..4u8, 0..4u8).prop_map(|(b, p, v)| Op::Insert(b, p, v)),
            1 => (0..4u8, -3i64..3).prop_map(|(v, c)| Op::Remove(v, c)),
            1 => (index.clone(), index).prop_map(|(s, e)| Op::Trim(s, e)),
        ]
    }

    fn model_index(len: usize, index: i64) -> Option<usize> {
        let i = if index < 0 { len as i64 + index } else { index };
        (0..len as i64).contains(&i).then_some(i as usize)
    }

    fn model_trim(model: &mut VecDeque<u8>, start: i64, end: i64) {
        let len = model.len() as i64;
        let s = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let e = if end < 0 { len + end } else { end.min(len - 1) };
        let kept: VecDeque<u8> = (0..len)
            .filter(|i| *i >= s && *i <= e)
            .map(|i| model[i as usize])
            .collect();
        *model = kept;
    }

    fn model_remove(model: &mut VecDeque<u8>, value: u8, count: i64) -> usize {
        let mut left = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut out: Vec<u8> = Vec::new();
        let items: Vec<u8> = if count < 0 {
            model.iter().rev().copied().collect()
        } else {
            model.iter().copied().collect()
        };
        for item in items {
            if item == value && left > 0 {
                left -= 1;
            } else {
                out.push(item);
            }
        }
        if count < 0 {
            out.reverse();
        }
        let removed = model.len() - out.len();
        *model = out.into();
        removed
    }

    fn apply(list: &mut List, model: &mut VecDeque<u8>, op: Op) {
        let bytes = |v: u8| Bytes::from(vec![b'a' + v]);
        match op {
            Op::Push(head, v) => {
                list.push(if head { End::Head } else { End::Tail }, bytes(v));
                if head {
                    model.push_front(v)
                } else {
                    model.push_back(v)
                }
            }
            Op::Pop(head) => {
                let ours = list.pop(if head { End::Head } else { End::Tail });
                let theirs = if head {
                    model.pop_front()
                } else {
                    model.pop_back()
                };
                assert_eq!(ours, theirs.map(bytes));
            }
            Op::Set(index, v) => {
                let at = resolve_index(list.len(), index);
                assert_eq!(at, model_index(model.len(), index));
                if let Some(at) = at {
                    assert!(list.set(at, bytes(v)));
                    model[at] = v;
                }
            }
            Op::Insert(before, pivot, v) => {
                let at = list.position(&[b'a' + pivot]);
                assert_eq!(at, model.iter().position(|&m| m == pivot));
                if let Some(at) = at {
                    let at = if before { at } else { at + 1 };
                    list.insert(at, bytes(v));
                    model.insert(at, v);
                }
            }
            Op::Remove(v, count) => {
                assert_eq!(
                    list.remove_matching(&[b'a' + v], count),
                    model_remove(model, v, count)
                );
            }
            Op::Trim(start, end) => {
                list.trim(resolve_range(list.len(), start, end));
                model_trim(model, start, end);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn behaves_like_a_vecdeque(ops in proptest::collection::vec(op(), 0..200)) {
            let mut list = List::new();
            let mut model = VecDeque::new();
            for op in ops {
                apply(&mut list, &mut model, op);
                let ours: Vec<u8> = list.iter().map(|item| item[0] - b'a').collect();
                let theirs: Vec<u8> = model.iter().copied().collect();
                prop_assert_eq!(ours, theirs);
            }
        }
    }
}
