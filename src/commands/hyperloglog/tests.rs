//! Unit tests of the HyperLogLog: register packing, hashing, the sparse
//! encoding against bytes produced by redis-server 7.0.15, the estimator's
//! error bound, and the commands over a real keyspace.

use bytes::Bytes;
use proptest::prelude::*;

use super::hll::*;
use super::sparse;
use crate::commands::bitmaps::tests::{err, int, Fixture};
use crate::resp::Reply;

/// GET of `PFADD h a b c` on redis-server 7.0.15 (stale-cache bit set).
const REDIS_ABC: &[u8] = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\
\x60\xf3\x80\x50\xb1\x84\x4b\xfb\x80\x42\x5a";

#[test]
fn dense_registers_pack_six_bits_lsb_first() {
    let mut registers = vec![0u8; DENSE_BYTES - HEADER_BYTES];
    dense_put(&mut registers, 0, 0b10_1010);
    dense_put(&mut registers, 1, 0b11_1111);
    assert_eq!(registers[..2], [0b1110_1010, 0b0000_1111]);
    for index in [2, 3, 1000, REGISTERS - 1] {
        dense_put(&mut registers, index, 63);
        assert_eq!(dense_get(&registers, index), 63);
        dense_put(&mut registers, index, 5);
        assert_eq!(dense_get(&registers, index), 5);
    }
    assert_eq!(dense_get(&registers, 0), 0b10_1010);
    assert_eq!(dense_get(&registers, 1), 0b11_1111);
    assert!(!dense_set(&mut registers, 1, 10));
    assert!(dense_set(&mut registers, 4, 1));
}

#[test]
fn murmur_and_patterns_match_redis() {
    // Registers Redis set for "a", "b", "c" (decoded from REDIS_ABC).
    let mut patterns: Vec<(usize, u8)> = ["a", "b", "c"]
        .iter()
        .map(|e| pattern(e.as_bytes()))
        .collect();
    patterns.sort();
    assert_eq!(patterns, vec![(8436, 1), (12711, 2), (15780, 1)]);
    // The hash is endian-neutral and covers every tail length.
    let key: Vec<u8> = (0u8..23).collect();
    let hashes: Vec<u64> = (0..key.len())
        .map(|n| murmur_hash64a(&key[..n], 0))
        .collect();
    let mut unique = hashes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), hashes.len());
    assert_eq!(murmur_hash64a(b"", 0), 0);
}

#[test]
fn sparse_updates_reproduce_redis_bytes() {
    let mut f = Fixture::new();
    assert_eq!(f.run("PFADD h a b c"), int(1));
    assert_eq!(f.get("h").as_deref(), Some(REDIS_ABC));
    assert_eq!(f.run("PFCOUNT h"), int(3));
    let cached = f.get("h").unwrap();
    assert_eq!(cached[8..16], [3, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(f.run("PFADD h a"), int(0));
    assert_eq!(f.run("PFADD new"), int(1));
    assert_eq!(
        f.get("new").as_deref(),
        Some(&b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"[..])
    );
}

#[test]
fn sparse_merges_adjacent_equal_values() {
    let mut hll = sparse::empty();
    for index in [14, 13, 12, 11, 10] {
        assert_eq!(sparse::set(&mut hll, index, 3), Ok(true));
    }
    // VAL:3,1 then VAL:3,4 as Redis leaves them (the merge scans rightwards).
    let body = &hll[HEADER_BYTES..];
    assert_eq!(body, &[0x09, 0x88, 0x8b, 0x7f, 0xf0][..]);
    assert_eq!(sparse::set(&mut hll, 12, 2), Ok(false));
}

#[test]
fn sparse_promotes_to_dense_on_large_values_and_size() {
    let mut hll = sparse::empty();
    assert_eq!(sparse::set(&mut hll, 7, 33), Ok(true));
    assert_eq!(hll.len(), DENSE_BYTES);
    assert_eq!(dense_get(&hll[HEADER_BYTES..], 7), 33);
    let mut hll = sparse::empty();
    for index in (0..REGISTERS).step_by(3) {
        sparse::set(&mut hll, index, 1 + (index % 7) as u8).unwrap();
        assert!(hll.len() <= sparse::SPARSE_BYTES_MAX || hll.len() == DENSE_BYTES);
    }
    assert_eq!(hll.len(), DENSE_BYTES);
}

#[test]
fn corrupt_sparse_values_are_reported_not_panicking() {
    let mut f = Fixture::new();
    // An XZERO whose second byte is missing; the cache claims 0.
    f.set(
        "bad",
        b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f",
    );
    assert_eq!(f.run("PFCOUNT bad"), int(0));
    assert_eq!(f.run("PFADD bad a"), int(1));
    assert_eq!(
        f.run("PFCOUNT bad x"),
        err("INVALIDOBJ Corrupted HLL object detected")
    );
    f.set(
        "short",
        b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00",
    );
    assert_eq!(
        f.run("PFCOUNT short"),
        err("INVALIDOBJ Corrupted HLL object detected")
    );
    assert_eq!(
        f.run("PFMERGE d short"),
        err("INVALIDOBJ Corrupted HLL object detected")
    );
    f.set("notll", b"abc");
    let not_hll = err("WRONGTYPE Key is not a valid HyperLogLog string value.");
    assert_eq!(f.run("PFADD notll a"), not_hll);
    assert_eq!(f.run("PFCOUNT notll"), not_hll);
    f.set(
        "dense_short",
        b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00",
    );
    assert_eq!(f.run("PFCOUNT dense_short"), not_hll);
    f.set(
        "enc2",
        b"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff",
    );
    assert_eq!(f.run("PFMERGE enc2"), not_hll);
}

#[test]
fn estimator_edges() {
    let mut histogram = [0u32; 64];
    histogram[0] = REGISTERS as u32;
    assert_eq!(estimate(&histogram), 0);
    histogram[0] -= 1;
    histogram[1] = 1;
    assert_eq!(estimate(&histogram), 1);
}

#[test]
fn counts_of_100k_distinct_elements_are_within_three_standard_errors() {
    const ELEMENTS: usize = 100_000;
    let standard_error = 1.04 / (REGISTERS as f64).sqrt(); // 0.81%
    let mut f = Fixture::new();
    for seed in 0..2 {
        let key = format!("big{seed}");
        for batch in 0..(ELEMENTS / 1000) {
            let mut argv = vec![Bytes::from_static(b"PFADD"), Bytes::from(key.clone())];
            for i in 0..1000 {
                argv.push(Bytes::from(format!("{seed}:{}", batch * 1000 + i)));
            }
            f.run_bytes(argv);
        }
        let Reply::Integer(count) = f.run(&format!("PFCOUNT {key}")) else {
            panic!("PFCOUNT must answer an integer")
        };
        let error = (count as f64 - ELEMENTS as f64).abs() / ELEMENTS as f64;
        assert!(error < 3.0 * standard_error, "{count} is {error:.4} off");
    }
    // The union of two disjoint sets of 10^5.
    let Reply::Integer(union) = f.run("PFCOUNT big0 big1") else {
        panic!("PFCOUNT must answer an integer")
    };
    let error = (union as f64 - 2.0 * ELEMENTS as f64).abs() / (2.0 * ELEMENTS as f64);
    assert!(
        error < 3.0 * standard_error,
        "union {union} is {error:.4} off"
    );
    assert_eq!(f.run("PFMERGE m big0 big1"), Reply::ok());
    assert_eq!(f.run("PFCOUNT m"), int(union));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Whatever path an update takes (sparse, promotion, dense), the
    /// registers equal a dense HLL fed the same elements.
    #[test]
    fn sparse_and_dense_paths_agree(elements in proptest::collection::vec(any::<u32>(), 0..1500)) {
        let mut sparse_hll = sparse::empty();
        let mut dense_hll = to_dense(&sparse::empty()).unwrap();
        for element in &elements {
            let (index, count) = pattern(&element.to_le_bytes());
            let a = if sparse_hll[4] == DENSE {
                dense_set(&mut sparse_hll[HEADER_BYTES..], index, count)
            } else {
                sparse::set(&mut sparse_hll, index, count).unwrap()
            };
            let b = dense_set(&mut dense_hll[HEADER_BYTES..], index, count);
            prop_assert_eq!(a, b);
        }
        let as_dense = to_dense(&sparse_hll).unwrap();
        prop_assert_eq!(&as_dense[HEADER_BYTES..], &dense_hll[HEADER_BYTES..]);
        prop_assert_eq!(histogram(&sparse_hll).unwrap(), histogram(&dense_hll).unwrap());
    }
}
