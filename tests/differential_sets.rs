#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // black-box tests use real sockets, processes and clocks
//! Differential tests of the set family: real Redis 7.0 is the oracle.
//!
//! Replies are compared byte for byte wherever Redis fixes them — intsets
//! iterate in ascending order, so SMEMBERS, SINTER, SUNION, SDIFF and SSCAN
//! of intsets must match exactly. Hashtable order is unspecified, so those
//! replies are compared as sorted; SPOP and SRANDMEMBER are checked for
//! shape and membership. Keys are spread over both shards (and hash-tagged
//! onto one) so the gathered multi-key path runs against the oracle.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use bytes::Bytes;
use common::oracle::*;
use common::RawClient;
use corekv::resp::Reply;
use proptest::prelude::*;

/// The reply with its array or set elements sorted (for unspecified orders).
fn unordered(reply: Reply) -> Reply {
    match reply {
        Reply::Array(mut items) => {
            items.sort_by_key(|item| format!("{item:?}"));
            Reply::Array(items)
        }
        Reply::Set(mut items) => {
            items.sort_by_key(|item| format!("{item:?}"));
            Reply::Set(items)
        }
        other => other,
    }
}

/// Both replies compared as unordered collections.
fn check_sorted(p: &mut Pair, line: &str) {
    let args: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
    let (ours, theirs) = p.both(&args);
    assert_eq!(
        unordered(ours),
        unordered(theirs),
        "replies differ for {line}"
    );
}

fn members_of(reply: &Reply) -> Vec<Bytes> {
    match reply {
        Reply::Array(items) | Reply::Set(items) => items
            .iter()
            .map(|item| match item {
                Reply::Bulk(bytes) => bytes.clone(),
                other => panic!("not a bulk string: {other:?}"),
            })
            .collect(),
        other => panic!("not a collection: {other:?}"),
    }
}

#[test]
fn set_commands_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "SADD s 3 1 2 1",
        "SMEMBERS s",
        "SCARD s",
        "SISMEMBER s 1",
        "SISMEMBER s 9",
        "SISMEMBER nope 1",
        "SMISMEMBER s 1 9 2",
        "SMISMEMBER nope a",
        "SREM s 1 9",
        "SREM nope 1",
        "SMEMBERS s",
        "SREM s 2 3",
        "EXISTS s",
        "SMEMBERS nope",
        "SCARD nope",
        "SADD s -5 0 -9223372036854775808 9223372036854775807 70000",
        "SMEMBERS s",
        "SADD s 007",
        "SISMEMBER s 007",
        "SISMEMBER s 7",
        "SADD",
        "SADD s",
        "SREM s",
        "SISMEMBER s",
        "SMISMEMBER s",
        "SCARD",
        "SMEMBERS",
        "SMOVE a b",
        "SPOP",
        "SRANDMEMBER",
        "SINTER",
        "SINTERCARD 1",
        "SINTERSTORE d",
        "SUNION",
        "SUNIONSTORE d",
        "SDIFF",
        "SDIFFSTORE d",
        "SSCAN s",
    ]);
    // Wrong types, in every position.
    p.script(&[
        "SET str x",
        "SADD str a",
        "SREM str a",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SMEMBERS str",
        "SPOP str",
        "SPOP str 2",
        "SRANDMEMBER str",
        "SRANDMEMBER str 2",
        "SSCAN str 0",
        "SINTER s str",
        "SINTER nope str",
        "SINTERCARD 2 nope str",
        "SINTERSTORE d s str",
        "SUNION s str",
        "SDIFF nope str",
        "SDIFFSTORE d s str",
        "SMOVE str s a",
        "SMOVE s str 1",
        "SMOVE nope str a",
        "SADD l a",
        "GET s",
    ]);
}

#[test]
fn set_encodings_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "SADD s 1 2 3",
        "OBJECT ENCODING s",
        "SADD s a",
        "OBJECT ENCODING s",
        "SREM s a",
        "OBJECT ENCODING s",
        "SADD t a 1",
        "OBJECT ENCODING t",
        "SADD u 1 a",
        "OBJECT ENCODING u",
    ]);
    let mut big: Vec<String> = vec!["SADD".into(), "big".into()];
    big.extend((0..512).map(|i| (i * 3).to_string()));
    let args: Vec<&[u8]> = big.iter().map(String::as_bytes).collect();
    p.check(&args);
    p.script(&[
        "OBJECT ENCODING big",
        "SMEMBERS big",
        "SADD big 1",
        "OBJECT ENCODING big",
    ]);
    check_sorted(&mut p, "SMEMBERS big");
    p.script(&[
        "SADD a 1 2 3",
        "SADD b 3 2 x",
        "SINTERSTORE d a b",
        "OBJECT ENCODING d",
        "SMEMBERS d",
        "SDIFFSTORE d b a",
        "OBJECT ENCODING d",
        "SUNIONSTORE d a b",
        "OBJECT ENCODING d",
        "SMOVE a n 1",
        "OBJECT ENCODING n",
        "SMOVE b n2 x",
        "OBJECT ENCODING n2",
        // A hashtable holding only integers stays one, but results built
        // from it start over as intsets.
        "SADD h 10 20 x",
        "SREM h x",
        "OBJECT ENCODING h",
        "SUNIONSTORE h2 h",
        "OBJECT ENCODING h2",
        "SMEMBERS h2",
    ]);
}

#[test]
fn set_algebra_matches_redis_across_shards() {
    let mut p = pair_or_skip!();
    p.flushall();
    let zero = keys_on(0, "sa", 3);
    let one = keys_on(1, "sa", 3);
    let (a, b, c) = (&zero[0], &one[0], &zero[1]);
    let (d0, d1) = (&zero[2], &one[1]);
    for line in [
        format!("SADD {a} 1 2 3 4 5"),
        format!("SADD {b} 4 5 6"),
        format!("SADD {c} 5 4 9"),
        format!("SINTER {a} {b}"),
        format!("SINTER {b} {a} {c}"),
        format!("SINTER {a} missing"),
        format!("SUNION {a} {b} {c}"),
        format!("SUNION missing {b}"),
        format!("SDIFF {a} {b} {c}"),
        format!("SDIFF {a} {a}"),
        format!("SDIFF missing {a}"),
        format!("SINTERCARD 2 {a} {b}"),
        format!("SINTERCARD 3 {a} {b} {c} LIMIT 1"),
        format!("SINTERCARD 2 {a} {b} LIMIT 0"),
        format!("SINTERCARD 2 {a} {b} LIMIT 5 LIMIT 1"),
        format!("SINTERSTORE {d1} {a} {b}"),
        format!("SMEMBERS {d1}"),
        format!("SUNIONSTORE {d0} {a} {b}"),
        format!("SMEMBERS {d0}"),
        format!("SDIFFSTORE {d1} {a} {b}"),
        format!("SMEMBERS {d1}"),
        format!("SINTERSTORE {d1} {a} missing"),
        format!("EXISTS {d1}"),
        format!("SET {d0} string"),
        format!("SUNIONSTORE {d0} {b}"),
        format!("TYPE {d0}"),
        format!("SMOVE {a} {b} 1"),
        format!("SMOVE {a} {b} 1"),
        format!("SMEMBERS {a}"),
        format!("SMEMBERS {b}"),
        format!("SMOVE {c} {d1} 9"),
        format!("SMEMBERS {d1}"),
        "SINTERCARD 0 x".to_owned(),
        "SINTERCARD x y".to_owned(),
        "SINTERCARD -1 y".to_owned(),
        "SINTERCARD 3 x y".to_owned(),
        "SINTERCARD 1 x LIMIT".to_owned(),
        "SINTERCARD 1 x LIMIT -1".to_owned(),
        "SINTERCARD 1 x LIMIT x".to_owned(),
        "SINTERCARD 1 x FOO 1".to_owned(),
    ] {
        p.words(&line);
    }
    // Hashtable operands: the order is unspecified, the contents are not.
    for line in [
        format!("SADD {a} x y z"),
        format!("SADD {b} y z w"),
        format!("SINTER {a} {b}"),
        format!("SUNION {a} {b} {c}"),
        format!("SDIFF {a} {b}"),
        format!("SINTERSTORE {d0} {a} {b}"),
        format!("SMEMBERS {d0}"),
        format!("SUNIONSTORE {d1} {a} {b}"),
        format!("SMEMBERS {d1}"),
    ] {
        check_sorted(&mut p, &line);
    }
    for line in [
        format!("SINTERCARD 2 {a} {b}"),
        format!("SCARD {d1}"),
        format!("OBJECT ENCODING {d1}"),
    ] {
        p.words(&line);
    }
}

#[test]
fn random_set_commands_match_redis_in_shape() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "SADD ints 1 2 3 4 5",
        "SADD strs a b c d e",
        // Whole-set answers are fully determined.
        "SRANDMEMBER ints 5",
        "SRANDMEMBER ints 100",
        "SRANDMEMBER ints 0",
        "SRANDMEMBER nope",
        "SRANDMEMBER nope 3",
        "SRANDMEMBER nope -3",
        "SRANDMEMBER ints 1 2",
        "SRANDMEMBER ints x",
        "SRANDMEMBER ints -9223372036854775808",
        "SPOP nope",
        "SPOP nope 3",
        "SPOP ints 0",
        "SPOP ints -1",
        "SPOP ints x",
        "SPOP ints 1 2",
    ]);
    for key in ["ints", "strs"] {
        let all: BTreeSet<Bytes> = members_of(&p.corekv.call_words(&format!("SMEMBERS {key}")))
            .into_iter()
            .collect();
        for count in ["1", "3", "-3", "-12"] {
            let line = format!("SRANDMEMBER {key} {count}");
            let (ours, theirs) = p.both(
                &line
                    .split_whitespace()
                    .map(str::as_bytes)
                    .collect::<Vec<_>>(),
            );
            let (ours, theirs) = (members_of(&ours), members_of(&theirs));
            assert_eq!(ours.len(), theirs.len(), "{line}");
            assert!(ours.iter().all(|m| all.contains(m)), "{line}: {ours:?}");
            if !count.starts_with('-') {
                assert_eq!(
                    ours.iter().collect::<BTreeSet<_>>().len(),
                    ours.len(),
                    "{line}: distinct"
                );
            }
        }
        let (ours, theirs) = p.both(&[b"SRANDMEMBER", key.as_bytes()]);
        assert!(
            matches!((&ours, &theirs), (Reply::Bulk(_), Reply::Bulk(_))),
            "{ours:?} {theirs:?}"
        );
    }
    // SPOP removes what it returns; both sides end with the same size.
    let (ours, theirs) = p.both(&[b"SPOP", b"strs", b"2"]);
    assert_eq!(members_of(&ours).len(), members_of(&theirs).len());
    p.words("SCARD strs");
    let (ours, theirs) = p.both(&[b"SPOP", b"strs"]);
    assert!(matches!((&ours, &theirs), (Reply::Bulk(_), Reply::Bulk(_))));
    // Popping everything returns the whole set (ascending for an intset) and deletes the key.
    p.words("SPOP ints 10");
    p.words("EXISTS ints");
    // The random pops above left different members on each side.
    let ours_before = unordered(p.corekv.call_words("SMEMBERS strs"));
    let theirs_before = unordered(p.redis.call_words("SMEMBERS strs"));
    let (ours, theirs) = p.both(&[b"SPOP", b"strs", b"10"]);
    assert_eq!(members_of(&unordered(ours)), members_of(&ours_before));
    assert_eq!(members_of(&unordered(theirs)), members_of(&theirs_before));
    p.words("EXISTS strs");
}

/// Every member a full SSCAN returns, sorted and deduplicated.
fn sscan_all(client: &mut RawClient, key: &str, options: &str) -> Vec<Bytes> {
    let mut cursor = "0".to_owned();
    let mut members = Vec::new();
    for _ in 0..10_000 {
        let Reply::Array(parts) = client.call_words(&format!("SSCAN {key} {cursor} {options}"))
        else {
            panic!("SSCAN reply")
        };
        let [Reply::Bulk(next), Reply::Array(batch)] = &parts[..] else {
            panic!("SSCAN shape")
        };
        members.extend(members_of(&Reply::Array(batch.clone())));
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            members.sort();
            members.dedup();
            return members;
        }
    }
    panic!("SSCAN did not finish");
}

#[test]
fn sscan_matches_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "SADD ints 5 10 15 20 100",
        "SSCAN ints 0",
        "SSCAN ints 0 COUNT 1",
        "SSCAN ints 0 MATCH 1*",
        "SSCAN ints 0 MATCH *0 COUNT 2",
        "SSCAN nope 0",
        "SSCAN nope 0 COUNT 0",
        "SSCAN ints 0 COUNT 0",
        "SSCAN ints 0 COUNT -1",
        "SSCAN ints 0 COUNT x",
        "SSCAN ints 0 MATCH",
        "SSCAN ints 0 TYPE set",
        "SSCAN ints 0 FOO bar",
        "SSCAN ints x",
        "SSCAN ints -1",
        "SSCAN ints 18446744073709551616",
        "SSCAN ints 1.5",
    ]);
    let mut sadd = vec!["SADD".to_owned(), "big".to_owned()];
    sadd.extend((0..300).map(|i| format!("member:{i}")));
    let args: Vec<&[u8]> = sadd.iter().map(String::as_bytes).collect();
    p.check(&args);
    for options in ["", "COUNT 7", "MATCH member:1*", "MATCH *9 COUNT 1000"] {
        let ours = sscan_all(&mut p.corekv, "big", options);
        let theirs = sscan_all(&mut p.redis, "big", options);
        assert_eq!(ours, theirs, "SSCAN big {options}");
    }
}

#[test]
fn set_resp3_replies_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    let _ = p.both(&[b"HELLO", b"3"]);
    let (a, b) = cross_shard_pair("s3");
    for line in [
        format!("SADD {a} 1 2 3"),
        format!("SADD {b} 3 4"),
        format!("SMEMBERS {a}"),
        "SMEMBERS nope".to_owned(),
        format!("SINTER {a} {b}"),
        format!("SUNION {a} {b}"),
        format!("SDIFF {a} {b}"),
        format!("SINTER {a} nope"),
        format!("SMISMEMBER {a} 1 9"),
        format!("SRANDMEMBER {a} 10"),
        "SRANDMEMBER nope 2".to_owned(),
        "SRANDMEMBER nope".to_owned(),
        "SPOP nope".to_owned(),
        "SPOP nope 2".to_owned(),
        format!("SPOP {a} 0"),
        format!("SSCAN {a} 0"),
        format!("SPOP {b} 5"),
    ] {
        p.words(&line);
    }
}

// ---------------------------------------------------------------------------
// Random command sequences.
// ---------------------------------------------------------------------------

/// Two keys per shard and two hash-tagged onto one shard.
fn proptest_keys() -> Vec<String> {
    let mut keys = keys_on(0, "ps", 2);
    keys.extend(keys_on(1, "ps", 2));
    keys.extend(["{t}a".to_owned(), "{t}b".to_owned()]);
    keys
}

/// Commands whose replies list members in hash order.
const UNORDERED: &[&str] = &["SMEMBERS", "SINTER", "SUNION", "SDIFF"];

fn set_command(keys: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let key = proptest::sample::select(keys);
    let member = prop_oneof![
        (-3i64..12).prop_map(|n| n.to_string()),
        Just("x".to_owned()),
        Just("y".to_owned()),
        Just("007".to_owned()),
        Just("-0".to_owned()),
        Just("".to_owned()),
    ];
    let count = prop_oneof![Just(0i64), Just(1), Just(2), Just(-2), Just(20)];
    (
        key.clone(),
        key.clone(),
        key,
        member.clone(),
        member,
        count,
        0..20u8,
    )
        .prop_map(|(k, k2, k3, m, m2, n, op)| {
            let words: Vec<String> = match op {
                0 | 1 => vec!["SADD".into(), k, m, m2],
                2 => vec!["SREM".into(), k, m, m2],
                3 => vec!["SISMEMBER".into(), k, m],
                4 => vec!["SMISMEMBER".into(), k, m, m2],
                5 => vec!["SCARD".into(), k],
                6 => vec!["SMEMBERS".into(), k],
                7 => vec!["SMOVE".into(), k, k2, m],
                8 => vec!["SINTER".into(), k, k2],
                9 => vec!["SUNION".into(), k, k2, k3],
                10 => vec!["SDIFF".into(), k, k2],
                11 => vec!["SINTERSTORE".into(), k3, k, k2],
                12 => vec!["SUNIONSTORE".into(), k3, k, k2],
                13 => vec!["SDIFFSTORE".into(), k3, k, k2],
                14 => vec![
                    "SINTERCARD".into(),
                    "2".into(),
                    k,
                    k2,
                    "LIMIT".into(),
                    n.max(0).to_string(),
                ],
                15 => vec!["SET".into(), k, m],
                16 => vec!["OBJECT".into(), "ENCODING".into(), k],
                17 => vec!["SPOP".into(), k, "20".into()],
                18 => vec!["SRANDMEMBER".into(), k, "20".into()],
                _ => vec!["DEL".into(), k],
            };
            words
        })
}

#[test]
fn random_set_command_sequences_match_redis() {
    check_random_sequences(
        300,
        proptest::collection::vec(set_command(proptest_keys()), 1..20),
        |p, args| {
            let (mut ours, mut theirs) = p.both(args);
            // A whole-set SPOP/SRANDMEMBER of a hashtable is in hash order.
            let name = String::from_utf8_lossy(args[0]);
            if UNORDERED.contains(&name.as_ref())
                || name.starts_with("SPOP")
                || name == "SRANDMEMBER"
            {
                ours = unordered(ours);
                theirs = unordered(theirs);
            }
            if ours == theirs {
                Ok(())
            } else {
                Err(format!("{}: corekv {ours:?}, redis {theirs:?}", show(args)))
            }
        },
        |p| {
            for key in proptest_keys() {
                let (ours, theirs) = p.both(&[b"SMEMBERS", key.as_bytes()]);
                prop_assert_eq!(
                    unordered(ours),
                    unordered(theirs),
                    "final members of {}",
                    key
                );
                let (ours, theirs) = p.both(&[b"OBJECT", b"ENCODING", key.as_bytes()]);
                prop_assert_eq!(ours, theirs, "final encoding of {}", key);
            }
            Ok(())
        },
    );
}
