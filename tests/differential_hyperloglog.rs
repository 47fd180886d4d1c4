#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // black-box tests use real sockets, processes and clocks
//! Differential tests of PFADD, PFCOUNT and PFMERGE against redis-server
//! 7.0.15. corekv stores HLLs in Redis's own format (sparse and dense), so
//! not only the counts but the bytes GET returns must be equal — through
//! sparse updates, promotion to dense, merges across shards, and corrupt
//! values.

#[macro_use]
mod common;
use common::oracle::*;

use proptest::prelude::*;

/// PFADD of `elements` (one command), checked, then PFCOUNT and GET.
fn add_and_compare(p: &mut Pair, key: &str, elements: &[String]) {
    let mut args: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
    args.extend(elements.iter().map(String::as_bytes));
    p.check(&args);
    p.check(&[b"GET", key.as_bytes()]);
    p.check(&[b"PFCOUNT", key.as_bytes()]);
    p.check(&[b"GET", key.as_bytes()]);
}

#[test]
fn pfadd_and_pfcount_match_redis_byte_for_byte() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "PFADD h a b c",
        "GET h",
        "PFCOUNT h",
        "GET h",
        "PFADD h a",
        "PFADD h",
        "PFADD new",
        "GET new",
        "PFCOUNT new",
        "PFCOUNT missing",
        "PFADD h d e f",
        "GET h",
        "PFCOUNT h",
        "SET ttl x",
        "DEL ttl",
        "PFADD ttl a",
        "EXPIRE ttl 1000",
        "PFADD ttl b",
        "TTL ttl",
        "PFCOUNT ttl",
        "TTL ttl",
        "PFADD",
        "PFCOUNT",
    ]);
}

#[test]
fn growth_through_sparse_into_dense_matches_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    let key = "grow";
    let mut next = 0;
    // Small batches while sparse (every byte of the run-length encoding is
    // compared), then larger ones past the promotion to dense.
    for batch in [
        1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584,
    ] {
        let elements: Vec<String> = (next..next + batch).map(|i| format!("e{i}")).collect();
        next += batch;
        add_and_compare(&mut p, key, &elements);
    }
    p.words("STRLEN grow");
    // A register above 32 forces dense early: find such an element by
    // trying many single adds on a fresh key and comparing each step.
    for i in 0..300 {
        add_and_compare(&mut p, "single", &[format!("x{i}")]);
    }
}

#[test]
fn pfmerge_and_multi_key_pfcount_match_redis_across_shards() {
    let mut p = pair_or_skip!();
    p.flushall();
    let here = keys_on(0, "hll", 3);
    let there = keys_on(1, "hll", 3);
    let sizes = [10, 3000, 50];
    for (index, key) in here.iter().chain(&there).enumerate() {
        let size = sizes[index % sizes.len()];
        let elements: Vec<String> = (0..size).map(|i| format!("{index}:{i}")).collect();
        add_and_compare(&mut p, key, &elements);
    }
    p.words(&format!("PFCOUNT {} {}", here[0], there[0]));
    p.words(&format!(
        "PFCOUNT {} {} {} missing",
        here[0], here[1], there[2]
    ));
    p.words(&format!("PFCOUNT {} {}", here[0], here[2]));
    // Merges into sparse, dense, new and existing destinations, local and remote.
    for (dest, sources) in [
        (there[2].clone(), vec![here[0].clone()]),
        (here[2].clone(), vec![there[0].clone(), there[2].clone()]),
        (
            "{t}merged".to_string(),
            vec![here[0].clone(), there[1].clone()],
        ),
        (here[0].clone(), vec![there[0].clone()]),
        (there[0].clone(), vec![]),
        ("fresh".to_string(), vec![]),
        ("fresh2".to_string(), vec!["missing".to_string()]),
    ] {
        let line = format!("PFMERGE {dest} {}", sources.join(" "));
        p.words(&line);
        p.words(&format!("GET {dest}"));
        p.words(&format!("PFCOUNT {dest}"));
        p.words(&format!("GET {dest}"));
    }
    p.words(&format!("SET {} v EX 1000", here[1]));
    p.words(&format!("PFMERGE {} {}", here[1], there[1]));
    p.words(&format!("PFMERGE {} {}", there[1], here[1]));
    p.words(&format!("TTL {}", there[1]));
    p.words(&format!("GET {}", there[1]));
}

#[test]
fn hll_errors_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "SET notll abc",
        "PFADD notll a",
        "PFCOUNT notll",
        "PFCOUNT notll missing",
        "PFMERGE notll",
        "PFMERGE d notll",
        "RPUSH list a",
        "PFADD list a",
        "PFCOUNT list",
        "PFCOUNT list x",
        "PFMERGE list",
        "PFMERGE d list",
    ]);
    let corrupt: [(&str, &[u8]); 6] = [
        // An XZERO missing its second byte, stale bit clear: cached 0.
        (
            "trunc",
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f",
        ),
        // Runs covering too few registers, cache stale.
        (
            "short",
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00",
        ),
        // Runs covering too many registers.
        (
            "long",
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\x80",
        ),
        // A dense header on a sparse length.
        (
            "dense",
            b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff",
        ),
        // An unknown encoding.
        (
            "enc2",
            b"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff",
        ),
        // A valid empty sparse HLL with a stale cache.
        (
            "empty",
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff",
        ),
    ];
    for (key, value) in corrupt {
        p.check(&[b"SET", key.as_bytes(), value]);
    }
    for key in ["trunc", "short", "long", "dense", "enc2", "empty"] {
        p.words(&format!("PFCOUNT {key}"));
        p.words(&format!("PFCOUNT {key} missing"));
        p.words(&format!("PFMERGE m{key} {key}"));
        p.words(&format!("PFADD {key} a b c"));
        p.words(&format!("GET {key}"));
        p.words(&format!("PFCOUNT {key}"));
    }
}

fn hll_command(keys: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let key = proptest::sample::select(keys.clone());
    let other = proptest::sample::select(keys);
    let elements = proptest::collection::vec(0u32..400, 0..40);
    prop_oneof![
        4 => (key.clone(), elements).prop_map(|(k, es)| {
            let mut args = vec!["PFADD".to_string(), k];
            args.extend(es.iter().map(|e| format!("el{e}")));
            args
        }),
        2 => key.clone().prop_map(|k| vec!["PFCOUNT".into(), k]),
        1 => (key.clone(), other.clone()).prop_map(|(a, b)| vec!["PFCOUNT".into(), a, b]),
        1 => (key.clone(), other).prop_map(|(a, b)| vec!["PFMERGE".into(), a, b]),
        1 => key.prop_map(|k| vec!["GET".into(), k]),
    ]
}

#[test]
fn random_hll_sequences_match_redis() {
    let mut keys = keys_on(0, "rh", 2);
    keys.extend(keys_on(1, "rh", 2));
    check_random_sequences(
        60,
        proptest::collection::vec(hll_command(keys.clone()), 1..30),
        exactly,
        |p| {
            for key in &keys {
                let (ours, theirs) = p.both(&[b"GET", key.as_bytes()]);
                prop_assert_eq!(ours, theirs, "final value of {}", key);
            }
            Ok(())
        },
    );
}
