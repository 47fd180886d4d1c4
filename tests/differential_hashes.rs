//! Differential tests of the hash family: real Redis (7.0) is the oracle.
//!
//! Small (`listpack`) hashes keep insertion order in both servers, so their
//! replies must be equal byte for byte. Large (`hashtable`) hashes iterate in
//! an order Redis leaves unspecified: HGETALL, HKEYS, HVALS and full HSCAN
//! iterations are compared as sorted sets of elements (HGETALL and HSCAN as
//! sets of field/value pairs). HRANDFIELD is random: replies are checked for
//! shape, size, distinctness and membership.
//!
//! If `redis-server` is missing the tests fail loudly, unless
//! `COREKV_SKIP_DIFFERENTIAL=1` is set (then they warn and pass).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // black-box tests use real sockets, processes and clocks

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use common::oracle::*;
use common::RawClient;
use corekv::resp::Reply;
use proptest::prelude::*;

#[test]
fn set_get_and_delete_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "HSET h b 1 a 2",
        "HSET h a 3 c 4",
        "HMSET h d 5 e 6",
        "HGETALL h",
        "HKEYS h",
        "HVALS h",
        "HLEN h",
        "HGET h a",
        "HGET h zz",
        "HGET nokey a",
        "HMGET h a zz b",
        "HMGET nokey a b",
        "HSETNX h a 9",
        "HSETNX h f 9",
        "HSETNX fresh f 1",
        "HGETALL fresh",
        "HEXISTS h f",
        "HEXISTS h zz",
        "HEXISTS nokey f",
        "HSTRLEN h f",
        "HSTRLEN h zz",
        "HSTRLEN nokey zz",
        "HDEL h a zz b",
        "HDEL h a",
        "HDEL nokey a",
        "HGETALL h",
        "HDEL h c d e f",
        "EXISTS h",
        "HGETALL nokey",
        "HKEYS nokey",
        "HVALS nokey",
        "HLEN nokey",
        "HSET h a",
        "HSET h a 1 b",
        "HMSET h a 1 b",
        "HSET h",
        "HSETNX h a",
        "HGET h",
        "HMGET h",
        "HDEL h",
        "HLEN h x",
        "HGETALL",
    ]);
    // Empty and space-padded arguments (not expressible as words).
    for args in [
        &[&b"HSET"[..], b"e", b"", b""][..],
        &[b"HGET", b"e", b""],
        &[b"HSTRLEN", b"e", b""],
        &[b"HSET", b"e", b"sp", b" 1"],
        &[b"HINCRBY", b"e", b"sp", b"1"],
        &[b"HINCRBYFLOAT", b"e", b"sp", b"1"],
        &[b"HINCRBYFLOAT", b"e", b"f", b""],
        &[b"HINCRBYFLOAT", b"e", b"f", b" 1"],
        &[b"HINCRBY", b"e", b"f", b" 1"],
        &[b"HGETALL", b"e"],
        &[b"HSCAN", b"e", b""],
        &[b"HSCAN", b"e", b" 1"],
        &[b"HSCAN", b"e", b"1 "],
    ] {
        p.check(args);
    }
}

#[test]
fn counters_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "HINCRBY h i 5",
        "HINCRBY h i -7",
        "HINCRBY h i x",
        "HINCRBY h i 1.5",
        "HINCRBY h i 9223372036854775807",
        "HINCRBY h i -9223372036854775808",
        "HSET h max 9223372036854775806",
        "HINCRBY h max 1",
        "HINCRBY h max 1",
        "HSET h s foo z 01 p +1",
        "HINCRBY h s 1",
        "HINCRBY h z 1",
        "HINCRBY h p 1",
        "HINCRBYFLOAT h f 10.5",
        "HINCRBYFLOAT h f 0.1",
        "HINCRBYFLOAT h f -5.0e3",
        "HINCRBYFLOAT h g 0x10",
        "HINCRBYFLOAT h g 1.0e-10",
        "HINCRBYFLOAT h g 3e-320",
        "HINCRBYFLOAT h i 1.5",
        "HINCRBYFLOAT h f inf",
        "HINCRBYFLOAT h f -inf",
        "HINCRBYFLOAT h f nan",
        "HINCRBYFLOAT h f abc",
        "HINCRBYFLOAT h s 1",
        "HSET h inf inf",
        "HINCRBYFLOAT h inf 1",
        "HINCRBYFLOAT h big 1e4931",
        "HINCRBYFLOAT h big 1e4932",
        "HINCRBYFLOAT h big 1e4932",
        "HINCRBYFLOAT nokey f inf",
        "EXISTS nokey",
        "HINCRBYFLOAT h f",
        "HINCRBY h f",
        "HGET h f",
        "HGET h g",
        "HSTRLEN h big",
    ]);
}

#[test]
fn wrong_types_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&["SET s v", "HSET h a 1"]);
    for line in [
        "HSET s a 1",
        "HSET s a 1 b",
        "HSETNX s a 1",
        "HMSET s a 1",
        "HGET s a",
        "HMGET s a",
        "HDEL s a",
        "HEXISTS s a",
        "HLEN s",
        "HSTRLEN s a",
        "HKEYS s",
        "HVALS s",
        "HGETALL s",
        "HINCRBY s a 1",
        "HINCRBY s a x",
        "HINCRBYFLOAT s a 1",
        "HINCRBYFLOAT s a inf",
        "HRANDFIELD s",
        "HRANDFIELD s 2",
        "HRANDFIELD s x",
        "HSCAN s 0",
        "HSCAN s x",
        "GET h",
        "LPUSH h a",
        "TYPE h",
    ] {
        p.words(line);
    }
}

#[test]
fn encoding_transitions_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    let edge = "x".repeat(64);
    let long = "y".repeat(65);
    for line in [
        format!("HSET h {edge} {edge}"),
        "OBJECT ENCODING h".to_owned(),
        format!("HSETNX h {edge} {long}"),
        "OBJECT ENCODING h".to_owned(),
        format!("HSET h f {long}"),
        "OBJECT ENCODING h".to_owned(),
        "HDEL h f".to_owned(),
        "OBJECT ENCODING h".to_owned(),
        format!("HSET k {long} v"),
        "OBJECT ENCODING k".to_owned(),
        format!("HSETNX n {long} v"),
        "OBJECT ENCODING n".to_owned(),
        "HSET i a 1".to_owned(),
        format!("HINCRBY i {long} 1"),
        "OBJECT ENCODING i".to_owned(),
        "HSET j a 1".to_owned(),
        "HINCRBYFLOAT j a 1000000000000000000000000000000000000000000000000000000000000000"
            .to_owned(),
        "OBJECT ENCODING j".to_owned(),
        "HINCRBYFLOAT j a 1e70".to_owned(),
        "OBJECT ENCODING j".to_owned(),
    ] {
        p.words(&line);
    }
    for index in 0..512 {
        p.words(&format!("HSET big f{index} {index}"));
    }
    p.script(&[
        "OBJECT ENCODING big",
        "HGET big f511",
        "HSET big f0 again",
        "OBJECT ENCODING big",
        "HSET big f512 v",
        "OBJECT ENCODING big",
        "HLEN big",
        "HGET big f0",
    ]);
}

/// A flat [field, value, ...] array (or RESP3 map) as a sorted map.
fn pairs_of(reply: Reply) -> BTreeMap<Bytes, Bytes> {
    let flat = match reply {
        Reply::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        Reply::Array(items) => items,
        other => panic!("not pairs: {other:?}"),
    };
    assert_eq!(flat.len() % 2, 0, "an odd number of pair elements");
    flat.chunks(2)
        .map(|pair| (bulk_of(&pair[0]), bulk_of(&pair[1])))
        .collect()
}

fn bulk_of(reply: &Reply) -> Bytes {
    match reply {
        Reply::Bulk(bytes) => bytes.clone(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

fn bulks_of(reply: Reply) -> Vec<Bytes> {
    match reply {
        Reply::Array(items) => items.iter().map(bulk_of).collect(),
        other => panic!("not an array: {other:?}"),
    }
}

/// Every (field, value) a full HSCAN iteration returns.
fn hscan_all(client: &mut RawClient, key: &str, count: &str) -> BTreeMap<Bytes, Bytes> {
    let mut seen = BTreeMap::new();
    let mut cursor = Bytes::from_static(b"0");
    for _ in 0..100_000 {
        let reply = client.call(&[
            b"HSCAN",
            key.as_bytes(),
            &cursor,
            b"COUNT",
            count.as_bytes(),
        ]);
        let Reply::Array(mut parts) = reply else {
            panic!("HSCAN reply {reply:?}")
        };
        let elements = parts.pop().expect("elements");
        cursor = bulk_of(&parts[0]);
        seen.extend(pairs_of(elements));
        if cursor.as_ref() == b"0" {
            return seen;
        }
    }
    panic!("HSCAN did not finish");
}

#[test]
fn large_hashes_match_redis_as_sets() {
    let mut p = pair_or_skip!();
    p.flushall();
    for index in 0..600 {
        p.words(&format!("HSET big f{index} v{index}"));
    }
    p.script(&[
        "OBJECT ENCODING big",
        "HLEN big",
        "HGET big f7",
        "HDEL big f7 f8",
    ]);
    let (ours, theirs) = p.both(&[b"HGETALL", b"big"]);
    assert_eq!(pairs_of(ours), pairs_of(theirs));
    p.check_unordered(&[b"HKEYS", b"big"]);
    p.check_unordered(&[b"HVALS", b"big"]);
    for count in ["1", "10", "1000"] {
        let ours = hscan_all(&mut p.corekv, "big", count);
        let theirs = hscan_all(&mut p.redis, "big", count);
        assert_eq!(ours.len(), 598);
        assert_eq!(ours, theirs, "HSCAN COUNT {count}");
    }
    // MATCH filters whole iterations alike.
    let matched = |client: &mut RawClient| {
        let mut found = BTreeSet::new();
        let mut cursor = Bytes::from_static(b"0");
        loop {
            let reply = client.call(&[b"HSCAN", b"big", &cursor, b"MATCH", b"f1*"]);
            let Reply::Array(mut parts) = reply else {
                panic!()
            };
            found.extend(pairs_of(parts.pop().expect("elements")).into_keys());
            cursor = bulk_of(&parts[0]);
            if cursor.as_ref() == b"0" {
                return found;
            }
        }
    };
    let ours = matched(&mut p.corekv);
    assert_eq!(ours, matched(&mut p.redis));
    assert_eq!(ours.len(), 111);
}

#[test]
fn hscan_matches_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "HSET h b 1 a 2 ab 3 abc 4",
        "HSCAN h 0",
        "HSCAN h 0 COUNT 1",
        "HSCAN h 123 COUNT 1",
        "HSCAN h 0 MATCH a*",
        "HSCAN h 0 MATCH a* COUNT 2 MATCH *c",
        "HSCAN h 0 match [ab]",
        "HSCAN h -1",
        "HSCAN h +5",
        "HSCAN h 18446744073709551615",
        "HSCAN h 18446744073709551616",
        "HSCAN h -",
        "HSCAN h 1.5",
        "HSCAN h x",
        "HSCAN h 0 COUNT 0",
        "HSCAN h 0 COUNT -1",
        "HSCAN h 0 COUNT x",
        "HSCAN h 0 COUNT",
        "HSCAN h 0 MATCH",
        "HSCAN h 0 FOO bar",
        "HSCAN h 0 TYPE hash",
        "HSCAN nokey 0",
        "HSCAN nokey x",
        "HSCAN h",
    ]);
}

/// Checks one HRANDFIELD reply pair: same shape, and each is a valid answer.
fn check_hrandfield(
    p: &mut Pair,
    key: &str,
    hash: &BTreeMap<Bytes, Bytes>,
    count: i64,
    with_values: bool,
) {
    let mut args: Vec<Vec<u8>> = vec![b"HRANDFIELD".to_vec(), key.as_bytes().to_vec()];
    args.push(count.to_string().into_bytes());
    if with_values {
        args.push(b"WITHVALUES".to_vec());
    }
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let (ours, theirs) = p.both(&args);
    for reply in [ours, theirs] {
        let items = bulks_of(reply);
        let step = if with_values { 2 } else { 1 };
        let expected = if count >= 0 {
            (count as usize).min(hash.len())
        } else {
            count.unsigned_abs() as usize
        };
        assert_eq!(items.len(), expected * step, "{}", show(&args));
        let fields: Vec<&Bytes> = items.iter().step_by(step).collect();
        for chunk in items.chunks(step) {
            let value = hash.get(&chunk[0]);
            assert!(value.is_some(), "{}: not a field", show(&args));
            if with_values {
                assert_eq!(value, Some(&chunk[1]), "{}", show(&args));
            }
        }
        if count > 0 {
            let distinct: BTreeSet<_> = fields.iter().collect();
            assert_eq!(distinct.len(), fields.len(), "{}: repeats", show(&args));
        }
    }
}

#[test]
fn hrandfield_matches_redis_in_shape_and_membership() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.words("HSET small a 1 b 2 c 3");
    for index in 0..700 {
        p.words(&format!("HSET big f{index} v{index}"));
    }
    for key in ["small", "big"] {
        let hash = pairs_of(p.corekv.call(&[b"HGETALL", key.as_bytes()]));
        for count in [1, 2, 3, 5, 100, 699, 700, 1000, -1, -5, -2000] {
            check_hrandfield(&mut p, key, &hash, count, false);
            check_hrandfield(&mut p, key, &hash, count, true);
        }
        for _ in 0..20 {
            let (ours, theirs) = p.both(&[b"HRANDFIELD", key.as_bytes()]);
            assert!(hash.contains_key(&bulk_of(&ours)) && hash.contains_key(&bulk_of(&theirs)));
        }
    }
    p.script(&[
        "HRANDFIELD small 0",
        "HRANDFIELD small 0 WITHVALUES",
        "HRANDFIELD small 3",
        "HRANDFIELD nokey",
        "HRANDFIELD nokey 5",
        "HRANDFIELD nokey -5 WITHVALUES",
        "HRANDFIELD small x",
        "HRANDFIELD small 1.5",
        "HRANDFIELD small 2 foo",
        "HRANDFIELD small 2 WITHVALUES foo",
        "HRANDFIELD small x WITHVALUES",
        "HRANDFIELD small -9223372036854775808",
        "HRANDFIELD small 9223372036854775807 WITHVALUES",
        "HRANDFIELD small -4611686018427387904 WITHVALUES",
        "HRANDFIELD nokey 9223372036854775807 WITHVALUES",
    ]);
}

#[test]
fn resp3_replies_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    // HELLO's server details differ by design: switch both, compare what follows.
    let _ = p.both(&[b"HELLO", b"3"]);
    p.script(&[
        "HSET h a 1 b 2",
        "HGETALL h",
        "HGETALL nokey",
        "HKEYS h",
        "HVALS nokey",
        "HMGET h a zz",
        "HGET h zz",
        "HSCAN h 0",
        "HRANDFIELD nokey",
        "HRANDFIELD nokey 2",
        "HRANDFIELD h 2",
        "HINCRBYFLOAT h f 1.5",
    ]);
}

/// RESP3 HRANDFIELD WITHVALUES nests [field, value] pairs. Handlers cannot
/// see the protocol yet, so corekv sends the flat RESP2 shape.
#[test]
fn resp3_hrandfield_with_values_nests_pairs() {
    let mut p = pair_or_skip!();
    p.flushall();
    let _ = p.both(&[b"HELLO", b"3"]);
    p.script(&["HSET h a 1 b 2", "HRANDFIELD h 2 WITHVALUES"]);
    // One random pair: the shape must match ([[field, value]]), the pick may not.
    let (ours, theirs) = p.both(&[b"HRANDFIELD", b"h", b"1", b"WITHVALUES"]);
    let shape = |reply: &Reply| match reply {
        Reply::Array(items) => items
            .iter()
            .map(|item| matches!(item, Reply::Array(pair) if pair.len() == 2))
            .collect::<Vec<_>>(),
        other => panic!("not an array: {other:?}"),
    };
    assert_eq!(shape(&ours), shape(&theirs));
    assert_eq!(shape(&ours), vec![true]);
}

// ---------------------------------------------------------------------------
// Random command sequences.
// ---------------------------------------------------------------------------

/// Two keys per shard and two hash-tagged onto one shard.
fn proptest_keys() -> Vec<String> {
    let mut keys = keys_on(0, "ph", 2);
    keys.extend(keys_on(1, "ph", 2));
    keys.extend(["{q}a".to_owned(), "{q}b".to_owned()]);
    keys
}

fn command_strategy(keys: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let key = proptest::sample::select(keys);
    let field = prop_oneof![Just("a"), Just("b"), Just("c"), Just("")].prop_map(str::to_owned);
    let value = prop_oneof![
        Just("1".to_owned()),
        Just("-7".to_owned()),
        Just("2.5".to_owned()),
        Just("x".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("v".repeat(65)),
    ];
    let number = prop_oneof![Just(0i64), Just(3), Just(-3), Just(i64::MAX), Just(1)];
    (key, field.clone(), field, value, number, 0..18u8).prop_map(|(k, f, f2, v, n, op)| {
        let words: Vec<String> = match op {
            0 | 1 => vec!["HSET".into(), k, f, v],
            2 => vec!["HSET".into(), k, f, v.clone(), f2, v],
            3 => vec!["HSETNX".into(), k, f, v],
            4 => vec!["HGET".into(), k, f],
            5 => vec!["HMGET".into(), k, f, f2],
            6 => vec!["HDEL".into(), k, f, f2],
            7 => vec!["HEXISTS".into(), k, f],
            8 => vec!["HLEN".into(), k],
            9 => vec!["HSTRLEN".into(), k, f],
            10 => vec!["HINCRBY".into(), k, f, n.to_string()],
            11 => vec!["HINCRBYFLOAT".into(), k, f, v],
            12 => vec!["HGETALL".into(), k],
            13 => vec!["OBJECT".into(), "ENCODING".into(), k],
            14 => vec!["SET".into(), k, v],
            15 => vec!["DEL".into(), k],
            16 => vec!["HKEYS".into(), k],
            _ => vec!["HVALS".into(), k],
        };
        words
    })
}

/// Compares replies; HGETALL/HKEYS/HVALS of a `hashtable` hash as sets.
fn same_reply(ours: &Reply, theirs: &Reply, unordered: bool) -> bool {
    match (ours, theirs) {
        (Reply::Array(a), Reply::Array(b)) if unordered => {
            a.len() == b.len() && sorted(ours.clone()) == sorted(theirs.clone())
        }
        _ => ours == theirs,
    }
}

#[test]
fn random_hash_sequences_match_redis() {
    check_random_sequences(
        300,
        proptest::collection::vec(command_strategy(proptest_keys()), 1..30),
        |p, args| {
            let whole = matches!(args[0], b"HGETALL" | b"HKEYS" | b"HVALS");
            let unordered = whole && {
                let encoding = p.redis.call(&[b"OBJECT", b"ENCODING", args[1]]);
                encoding == Reply::Bulk(Bytes::from_static(b"hashtable"))
            };
            let (ours, theirs) = p.both(args);
            let same = if unordered && args[0] == b"HGETALL" {
                pairs_of(ours.clone()) == pairs_of(theirs.clone())
            } else {
                same_reply(&ours, &theirs, unordered)
            };
            if same {
                Ok(())
            } else {
                Err(format!("{}: corekv {ours:?}, redis {theirs:?}", show(args)))
            }
        },
        |p| {
            for key in proptest_keys() {
                let (ours, theirs) = p.both(&[b"TYPE", key.as_bytes()]);
                prop_assert_eq!(&ours, &theirs, "final type of {}", key);
                if ours == Reply::Simple(Bytes::from_static(b"hash")) {
                    let (ours, theirs) = p.both(&[b"HGETALL", key.as_bytes()]);
                    prop_assert_eq!(pairs_of(ours), pairs_of(theirs), "final {}", key);
                }
            }
            Ok(())
        },
    );
}
