//! Differential tests of the list family: real Redis (7.0) is the oracle.
//!
//! Every command, option and error path is sent to both servers and the
//! replies must be equal byte for byte (lists have no unspecified order).
//! Keys are placed on both shards and hash-tagged onto one, so LMOVE,
//! RPOPLPUSH and LMPOP run both locally and through the cross-shard gather.
//!
//! If `redis-server` is missing the tests fail loudly, unless
//! `COREKV_SKIP_DIFFERENTIAL=1` is set (then they warn and pass).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // black-box tests use real sockets, processes and clocks

#[macro_use]
mod common;

use common::oracle::*;
use proptest::prelude::*;

#[test]
fn push_pop_and_length_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "LPUSH l a b c",
        "RPUSH l d e",
        "LRANGE l 0 -1",
        "LPUSHX l x",
        "RPUSHX l y z",
        "LPUSHX nokey a",
        "RPUSHX nokey a",
        "EXISTS nokey",
        "LLEN l",
        "LLEN nokey",
        "LPOP l",
        "RPOP l",
        "LPOP l 2",
        "RPOP l 3",
        "LPOP l 0",
        "RPOP l 0",
        "LPOP l -1",
        "LPOP l abc",
        "RPOP l 1.5",
        "LPOP l 1 2",
        "LPOP nokey",
        "RPOP nokey",
        "LPOP nokey 0",
        "LPOP nokey 5",
        "LPOP l 9223372036854775807",
        "EXISTS l",
        "LPOP l",
        "LPUSH",
        "LPUSH l",
        "RPUSHX l",
        "LLEN",
        "LLEN a b",
        "TYPE l",
    ]);
}

#[test]
fn indexes_ranges_and_edits_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "RPUSH l a b c d e f",
        "LRANGE l 0 -1",
        "LRANGE l 1 3",
        "LRANGE l -3 -1",
        "LRANGE l -100 100",
        "LRANGE l 4 2",
        "LRANGE l 6 10",
        "LRANGE l -9223372036854775808 9223372036854775807",
        "LRANGE l 0 -7",
        "LRANGE l a 1",
        "LRANGE l 0 b",
        "LRANGE nokey 0 -1",
        "LINDEX l 0",
        "LINDEX l -1",
        "LINDEX l 6",
        "LINDEX l -7",
        "LINDEX l x",
        "LINDEX nokey x",
        "LSET l 0 A",
        "LSET l -1 F",
        "LSET l 6 x",
        "LSET l -7 x",
        "LSET l x y",
        "LSET nokey 0 x",
        "LRANGE l 0 -1",
        "LINSERT l BEFORE c X",
        "LINSERT l after c Y",
        "LINSERT l AFTER F Z",
        "LINSERT l before nope Z",
        "LINSERT l middle c Z",
        "LINSERT nokey before a b",
        "LRANGE l 0 -1",
        "RPUSH r a b a c a b a",
        "LREM r 2 a",
        "LRANGE r 0 -1",
        "LREM r -1 b",
        "LRANGE r 0 -1",
        "LREM r 0 a",
        "LRANGE r 0 -1",
        "LREM r 0 nope",
        "LREM r x a",
        "LREM nokey 0 a",
        "LREM r 0 c",
        "LREM r -9223372036854775808 b",
        "EXISTS r",
        "RPUSH t 1 2 3 4 5 6 7",
        "LTRIM t 1 -2",
        "LRANGE t 0 -1",
        "LTRIM t -2 100",
        "LRANGE t 0 -1",
        "LTRIM t x 1",
        "LTRIM nokey 0 1",
        "LTRIM t 5 1",
        "EXISTS t",
        "RPUSH t 1 2",
        "LTRIM t 0 -3",
        "EXISTS t",
    ]);
}

#[test]
fn lpos_matches_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "RPUSH l a b c a b c a",
        "LPOS l a",
        "LPOS l c",
        "LPOS l zz",
        "LPOS l a RANK 2",
        "LPOS l a RANK -1",
        "LPOS l a RANK -3",
        "LPOS l a RANK 4",
        "LPOS l a RANK 9223372036854775807",
        "LPOS l a RANK -9223372036854775807",
        "LPOS l a RANK -9223372036854775808",
        "LPOS l a RANK -9223372036854775808 COUNT 1",
        "LPOS l a COUNT 0",
        "LPOS l a COUNT 2",
        "LPOS l a COUNT 2 RANK -1",
        "LPOS l a COUNT 0 RANK 2",
        "LPOS l a COUNT 0 MAXLEN 4",
        "LPOS l a RANK -1 MAXLEN 3",
        "LPOS l a RANK 3 MAXLEN 4",
        "LPOS l zz COUNT 3",
        "LPOS l a rank 1 rank 2 count 5 count 1",
        "LPOS l a RANK 0",
        "LPOS l a RANK x",
        "LPOS l a COUNT -1",
        "LPOS l a COUNT x",
        "LPOS l a MAXLEN -1",
        "LPOS l a MAXLEN x",
        "LPOS l a RANK",
        "LPOS l a FOO 1",
        "LPOS nokey a",
        "LPOS nokey a COUNT 1",
        "LPOS nokey a RANK 0",
        "SET s v",
        "LPOS s a",
        "LPOS s a RANK 0",
        "LPOS l",
    ]);
}

#[test]
fn wrong_types_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&["SET s v", "RPUSH l a"]);
    for line in [
        "LPUSH s a",
        "RPUSH s a",
        "LPUSHX s a",
        "RPUSHX s a",
        "LPOP s",
        "RPOP s 2",
        "LLEN s",
        "LRANGE s 0 -1",
        "LRANGE s x 1",
        "LINDEX s 0",
        "LINDEX s x",
        "LSET s 0 x",
        "LSET s x x",
        "LINSERT s BEFORE a b",
        "LINSERT s MIDDLE a b",
        "LREM s 0 a",
        "LREM s x a",
        "LTRIM s 0 1",
        "LMOVE s l LEFT LEFT",
        "LMOVE l s LEFT LEFT",
        "LMOVE nokey s LEFT LEFT",
        "RPOPLPUSH s l",
        "RPOPLPUSH l s",
        "LMPOP 1 s LEFT",
        "LMPOP 2 nokey s LEFT",
        "LMPOP 2 l s LEFT",
        "GET l",
        "LRANGE l 0 -1",
        "OBJECT ENCODING l",
    ] {
        p.words(line);
    }
}

#[test]
fn encodings_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    let long = "x".repeat(100);
    p.words("RPUSH l a");
    p.words("OBJECT ENCODING l");
    p.words(&format!("RPUSH l {long}"));
    p.words("OBJECT ENCODING l");
    for index in 0..300 {
        p.words(&format!("RPUSH big {index}"));
    }
    p.script(&[
        "OBJECT ENCODING big",
        "LTRIM big 0 1",
        "OBJECT ENCODING big",
    ]);
}

#[test]
fn moves_match_redis_on_one_and_across_shards() {
    let mut p = pair_or_skip!();
    let (a, b) = cross_shard_pair("move");
    for (source, destination) in [
        (a.clone(), b.clone()),
        ("{t}src".to_owned(), "{t}dst".to_owned()),
    ] {
        p.flushall();
        for line in [
            format!("RPUSH {source} a b c d"),
            format!("LMOVE {source} {destination} LEFT RIGHT"),
            format!("LMOVE {source} {destination} RIGHT LEFT"),
            format!("LMOVE {source} {destination} left left"),
            format!("RPOPLPUSH {source} {destination}"),
            format!("LRANGE {destination} 0 -1"),
            format!("EXISTS {source}"),
            format!("RPOPLPUSH {source} {destination}"),
            format!("LMOVE {source} {destination} LEFT LEFT"),
            format!("LMOVE {destination} {source} UP LEFT"),
            format!("LMOVE {destination} {source} LEFT"),
            format!("RPOPLPUSH {destination} {source}"),
            format!("LRANGE {source} 0 -1"),
            format!("SET {source} str"),
            format!("LMOVE {destination} {source} LEFT LEFT"),
            format!("RPOPLPUSH {source} {destination}"),
            format!("LRANGE {destination} 0 -1"),
            format!("DEL {source}"),
            format!("EXPIREAT {destination} {FAR_FUTURE_S}"),
            format!("LMOVE {destination} {destination} LEFT RIGHT"),
            format!("LRANGE {destination} 0 -1"),
            format!("RPOPLPUSH {destination} {source}"),
            format!("RPOPLPUSH {destination} {source}"),
            format!("LMOVE {source} {source} RIGHT LEFT"),
            format!("EXPIRETIME {destination}"),
            format!("EXPIRETIME {source}"),
            format!("LRANGE {source} 0 -1"),
        ] {
            p.words(&line);
        }
    }
}

#[test]
fn lmpop_matches_redis_on_one_and_across_shards() {
    let mut p = pair_or_skip!();
    let (a, b) = cross_shard_pair("mpop");
    for (x, y) in [(a, b), ("{m}x".to_owned(), "{m}y".to_owned())] {
        p.flushall();
        for line in [
            format!("LMPOP 2 {x} {y} LEFT"),
            format!("RPUSH {y} 1 2 3 4 5"),
            format!("LMPOP 2 {x} {y} LEFT"),
            format!("LMPOP 2 {x} {y} RIGHT COUNT 2"),
            format!("RPUSH {x} a"),
            format!("LMPOP 2 {x} {y} RIGHT COUNT 10"),
            format!("EXISTS {x}"),
            format!("LMPOP 2 {y} {x} left count 9223372036854775807"),
            format!("LMPOP 2 {x} {y} LEFT"),
            format!("SET {x} str"),
            format!("RPUSH {y} v"),
            format!("LMPOP 2 {x} {y} LEFT"),
            format!("LMPOP 2 {y} {x} LEFT"),
            format!("LMPOP 1 {y} LEFT"),
            format!("LMPOP 0 {x} LEFT"),
            format!("LMPOP -1 {x} LEFT"),
            format!("LMPOP x {x} LEFT"),
            format!("LMPOP 3 {x} {y} LEFT"),
            format!("LMPOP 9223372036854775807 {x} LEFT"),
            format!("LMPOP 1 {x} MIDDLE"),
            format!("LMPOP 1 {y} LEFT COUNT 0"),
            format!("LMPOP 1 {y} LEFT COUNT -1"),
            format!("LMPOP 1 {y} LEFT COUNT x"),
            format!("LMPOP 1 {y} LEFT COUNT 1 COUNT 1"),
            format!("LMPOP 1 {y} LEFT COUNT"),
            format!("LMPOP 1 {y} LEFT FOO"),
            format!("LMPOP 1 {y}"),
        ] {
            p.words(&line);
        }
    }
}

#[test]
fn resp3_replies_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    // HELLO's server details differ by design: switch both, compare what follows.
    let _ = p.both(&[b"HELLO", b"3"]);
    let (a, b) = cross_shard_pair("r3");
    for line in [
        "RPUSH l a b c".to_owned(),
        "LPOP nokey".to_owned(),
        "LPOP nokey 2".to_owned(),
        "LPOP l 0".to_owned(),
        "RPOP l 2".to_owned(),
        "LRANGE l 0 -1".to_owned(),
        "LRANGE nokey 0 -1".to_owned(),
        "LINDEX l 9".to_owned(),
        "LPOS l a".to_owned(),
        "LPOS l zz".to_owned(),
        "LPOS l a COUNT 0".to_owned(),
        "LMOVE nokey l LEFT LEFT".to_owned(),
        format!("LMPOP 2 {a} {b} LEFT"),
        format!("RPUSH {b} x y"),
        format!("LMPOP 2 {a} {b} LEFT COUNT 5"),
    ] {
        p.words(&line);
    }
}

// ---------------------------------------------------------------------------
// Random command sequences.
// ---------------------------------------------------------------------------

/// Two keys per shard and two hash-tagged onto one shard.
fn proptest_keys() -> Vec<String> {
    let mut keys = keys_on(0, "pl", 2);
    keys.extend(keys_on(1, "pl", 2));
    keys.extend(["{q}a".to_owned(), "{q}b".to_owned()]);
    keys
}

fn command_strategy(keys: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let key = proptest::sample::select(keys);
    let element = prop_oneof![Just("a"), Just("b"), Just("c"), Just("")].prop_map(str::to_owned);
    let index = prop_oneof![-4i64..6, Just(i64::MAX), Just(i64::MIN)];
    let end = prop_oneof![Just("LEFT"), Just("RIGHT")].prop_map(str::to_owned);
    let ops = (
        key.clone(),
        key,
        element.clone(),
        element,
        index.clone(),
        index,
    );
    (ops, end.clone(), end, 0..24u8).prop_map(|((k, k2, e, e2, i, j), w, w2, op)| {
        let words: Vec<String> = match op {
            0 | 1 => vec!["RPUSH".into(), k, e, e2],
            2 => vec!["LPUSH".into(), k, e],
            3 => vec!["LPUSHX".into(), k, e],
            4 => vec!["LPOP".into(), k],
            5 => vec!["RPOP".into(), k, i.rem_euclid(4).to_string()],
            6 => vec!["LRANGE".into(), k, i.to_string(), j.to_string()],
            7 => vec!["LINDEX".into(), k, i.to_string()],
            8 => vec!["LSET".into(), k, i.to_string(), e],
            9 => vec!["LINSERT".into(), k, "BEFORE".into(), e, e2],
            10 => vec!["LINSERT".into(), k, "AFTER".into(), e, e2],
            11 => vec!["LREM".into(), k, i.to_string(), e],
            12 => vec!["LTRIM".into(), k, i.to_string(), j.to_string()],
            13 => vec!["LPOS".into(), k, e, "RANK".into(), i.to_string()],
            14 => vec![
                "LPOS".into(),
                k,
                e,
                "COUNT".into(),
                i.rem_euclid(3).to_string(),
            ],
            15 => vec!["LMOVE".into(), k, k2, w, w2],
            16 => vec!["RPOPLPUSH".into(), k, k2],
            17 => vec![
                "LMPOP".into(),
                "2".into(),
                k,
                k2,
                w,
                "COUNT".into(),
                "2".into(),
            ],
            18 => vec!["LLEN".into(), k],
            19 => vec!["SET".into(), k, e],
            20 => vec!["DEL".into(), k],
            21 => vec!["TYPE".into(), k],
            _ => vec!["LPOP".into(), k, "2".into()],
        };
        words
    })
}

#[test]
fn random_list_sequences_match_redis() {
    check_random_sequences(
        300,
        proptest::collection::vec(command_strategy(proptest_keys()), 1..30),
        exactly,
        |p| {
            for key in proptest_keys() {
                for command in [&b"LRANGE"[..], b"TYPE"] {
                    let args: Vec<&[u8]> = if command == b"TYPE" {
                        vec![command, key.as_bytes()]
                    } else {
                        vec![command, key.as_bytes(), b"0", b"-1"]
                    };
                    let (ours, theirs) = p.both(&args);
                    prop_assert_eq!(ours, theirs, "final {} of {}", show(&args), key);
                }
            }
            Ok(())
        },
    );
}
