//! Unit and model tests of the sorted set and its skip list: random
//! operations against a `BTreeMap` model, with every invariant checked
//! after every operation.

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;
use rand::SeedableRng;

use super::*;

fn rng() -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(5)
}

#[test]
fn listpack_orders_by_score_then_member() {
    let mut rng = rng();
    let mut zset = ZSet::new();
    assert!(zset.set_score(b"b", 1.0, &mut rng));
    assert!(zset.set_score(b"a", 1.0, &mut rng));
    assert!(zset.set_score(b"c", 0.5, &mut rng));
    assert!(!zset.set_score(b"c", 2.0, &mut rng));
    let order: Vec<(Bytes, f64)> = zset.iter().collect();
    assert_eq!(
        order,
        vec![
            (Bytes::from("a"), 1.0),
            (Bytes::from("b"), 1.0),
            (Bytes::from("c"), 2.0)
        ]
    );
    assert_eq!(zset.rank(b"c"), Some(2));
    assert_eq!(zset.encoding(), "listpack");
    zset.check_invariants();
}

#[test]
fn small_sorted_sets_stay_small() {
    assert!(std::mem::size_of::<ZSet>() <= 40);
    let mut rng = rng();
    let mut zset = ZSet::new();
    for member in ["alpha", "beta", "gamma"] {
        zset.set_score(member.as_bytes(), 1.0, &mut rng);
    }
    // Three entries of 1 + 5 + 8 bytes (give or take) in one buffer.
    assert!(zset.heap_bytes() <= 64, "{}", zset.heap_bytes());
}

#[test]
fn negative_zero_keeps_the_old_score() {
    let mut rng = rng();
    let mut zset = ZSet::new();
    zset.set_score(b"a", 0.0, &mut rng);
    zset.set_score(b"a", -0.0, &mut rng);
    assert!(zset.score(b"a").unwrap().is_sign_positive());
}

#[test]
fn converts_on_long_member_or_129th_entry_and_never_back() {
    let mut rng = rng();
    let mut zset = ZSet::new();
    for index in 0..LISTPACK_ENTRIES_MAX {
        zset.set_score(format!("m{index}").as_bytes(), index as f64, &mut rng);
    }
    assert_eq!(zset.encoding(), "listpack");
    zset.set_score(b"one more", 0.0, &mut rng);
    assert_eq!(zset.encoding(), "skiplist");
    zset.check_invariants();
    while zset.len() > 1 {
        zset.pop(false);
    }
    assert_eq!(zset.encoding(), "skiplist");
    let mut long = ZSet::new();
    long.set_score(&[b'x'; LISTPACK_VALUE_BYTES_MAX], 1.0, &mut rng);
    assert_eq!(long.encoding(), "listpack");
    long.set_score(&[b'y'; LISTPACK_VALUE_BYTES_MAX + 1], 1.0, &mut rng);
    assert_eq!(long.encoding(), "skiplist");
}

#[test]
fn from_entries_picks_the_encoding_by_final_size() {
    let mut rng = rng();
    let small: Vec<(Bytes, f64)> = (0..3)
        .map(|i| (Bytes::from(format!("m{i}")), 1.0))
        .collect();
    assert_eq!(ZSet::from_entries(small, &mut rng).encoding(), "listpack");
    let big: Vec<(Bytes, f64)> = (0..200)
        .map(|i| (Bytes::from(format!("m{i}")), 1.0))
        .collect();
    let zset = ZSet::from_entries(big, &mut rng);
    assert_eq!(zset.encoding(), "skiplist");
    zset.check_invariants();
}

#[test]
fn lead_and_trail_counts_bound_score_ranges() {
    let mut rng = rng();
    for size in [10usize, 300] {
        let mut zset = ZSet::new();
        for index in 0..size {
            zset.set_score(
                format!("m{index:04}").as_bytes(),
                (index / 2) as f64,
                &mut rng,
            );
        }
        // Elements with score < 3: indexes 0..6.
        assert_eq!(zset.lead_count(|_, s| s < 3.0), 6);
        assert_eq!(zset.trail_count(|_, s| s > 3.0), size - 8);
        let mut seen = Vec::new();
        zset.walk(5, true, |m, _| {
            seen.push(m.to_vec());
            seen.len() < 3
        });
        assert_eq!(
            seen,
            vec![b"m0005".to_vec(), b"m0004".to_vec(), b"m0003".to_vec()]
        );
    }
}

#[derive(Clone, Debug)]
enum Op {
    Set(u8, i8),
    Remove(u8),
    Pop(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u8>(), -4i8..4).prop_map(|(m, s)| Op::Set(m, s)),
        3 => any::<u8>().prop_map(Op::Remove),
        1 => any::<bool>().prop_map(Op::Pop),
    ]
}

fn member(index: u8) -> Vec<u8> {
    // Some members are too long for a listpack, to exercise conversion.
    if index % 61 == 0 {
        vec![b'L'; 70 + index as usize % 5]
    } else {
        format!("m{index}").into_bytes()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn behaves_like_a_sorted_map(ops in proptest::collection::vec(op(), 0..400)) {
        let mut rng = rng();
        let mut zset = ZSet::new();
        let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Set(m, s) => {
                    let added = zset.set_score(&member(m), f64::from(s), &mut rng);
                    prop_assert_eq!(added, model.insert(member(m), f64::from(s)).is_none());
                }
                Op::Remove(m) => prop_assert_eq!(zset.remove(&member(m)), model.remove(&member(m)).is_some()),
                Op::Pop(max) => {
                    let popped = zset.pop(max);
                    let mut ordered: Vec<(f64, Vec<u8>)> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
                    ordered.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    let expected = if max { ordered.last() } else { ordered.first() }.cloned();
                    prop_assert_eq!(popped.clone().map(|(m, s)| (s, m.to_vec())), expected);
                    if let Some((m, _)) = popped {
                        model.remove(&m[..]);
                    }
                }
            }
            zset.check_invariants();
            prop_assert_eq!(zset.len(), model.len());
        }
        let mut ordered: Vec<(f64, Vec<u8>)> = model.iter().map(|(m, s)| (*s, m.clone())).collect();
        ordered.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let contents: Vec<(f64, Vec<u8>)> = zset.iter().map(|(m, s)| (s, m.to_vec())).collect();
        prop_assert_eq!(&contents, &ordered);
        for (rank, (score, m)) in ordered.iter().enumerate() {
            prop_assert_eq!(zset.rank(m), Some(rank));
            prop_assert_eq!(zset.score(m), Some(*score));
        }
    }

    #[test]
    fn skiplist_keeps_spans_under_churn(ops in proptest::collection::vec((any::<u16>(), any::<bool>()), 0..600)) {
        let mut list = SkipList::new(7);
        let mut model = std::collections::BTreeSet::new();
        for (value, insert) in ops {
            let score = f64::from(value % 50);
            let name = Bytes::from(format!("{value}"));
            if insert {
                if model.insert((value % 50, name.clone())) {
                    list.insert(score, name);
                }
            } else {
                prop_assert_eq!(list.delete(score, &name), model.remove(&(value % 50, name.clone())));
            }
        }
        list.check_invariants();
        prop_assert_eq!(list.len(), model.len());
    }
}
