#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // black-box tests use real sockets, processes and clocks
//! Differential tests of the bitmap commands: SETBIT, GETBIT, BITCOUNT,
//! BITPOS, BITOP and BITFIELD / BITFIELD_RO against redis-server 7.0.15,
//! including every error path, BITOP across shards, and random sequences.
//!
//! No test addresses a bit near 2^32: that would allocate 512 MB in both
//! servers. The offset bounds are checked just past the limit instead.

#[macro_use]
mod common;
use common::oracle::*;

use proptest::prelude::*;

#[test]
fn setbit_and_getbit_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "SETBIT k 7 1",
        "SETBIT k 7 1",
        "SETBIT k 7 0",
        "SETBIT k 100 1",
        "GET k",
        "STRLEN k",
        "GETBIT k 100",
        "GETBIT k 99",
        "GETBIT k 100000",
        "GETBIT missing 0",
        "SETBIT k 4294967296 1",
        "SETBIT k -1 1",
        "SETBIT k 4294967296 2",
        "SETBIT k 1 2",
        "SETBIT k 1 -0",
        "SETBIT k 1 01",
        "SETBIT k 1 x",
        "SETBIT k a 1",
        "SETBIT k +1 1",
        "GETBIT k 4294967296",
        "GETBIT k x",
        "GETBIT k -1",
        "SETBIT k 1",
        "GETBIT k",
        "SET str foobar",
        "SETBIT str 2 0",
        "GET str",
        "SET ttl v EX 1000",
        "SETBIT ttl 30 1",
        "TTL ttl",
        "RPUSH list a",
        "SETBIT list 1 1",
        "SETBIT list 1 5",
        "GETBIT list 1",
        "GETBIT list x",
    ]);
}

#[test]
fn bitcount_matches_redis_over_many_ranges() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "SET s foobar",
        "BITCOUNT s",
        "BITCOUNT missing",
        "BITCOUNT missing a b",
        "BITCOUNT missing 1",
        "BITCOUNT s 1",
        "BITCOUNT s 1 2 3",
        "BITCOUNT s a 1",
        "BITCOUNT s 1 a",
        "BITCOUNT s 1 2 xx",
        "BITCOUNT s -1 -2 xx",
        "BITCOUNT s 0 -1 bit extra",
        "BITCOUNT s 9223372036854775807 -9223372036854775808",
        "BITCOUNT s -9223372036854775808 9223372036854775807 BIT",
        "RPUSH list a",
        "BITCOUNT list",
        "BITCOUNT list 1 2 xx",
    ]);
    p.check(&[b"SET", b"bin", b"\x00\xff\x0f\xf0\xaa\x55\x01"]);
    p.check(&[b"SET", b"e", b""]);
    for key in ["s", "bin", "e", "missing"] {
        for start in (-60..60).step_by(7) {
            for end in (-60..60).step_by(9) {
                for unit in ["", " BYTE", " BIT", " bit"] {
                    p.words(&format!("BITCOUNT {key} {start} {end}{unit}"));
                }
            }
        }
    }
}

#[test]
fn bitpos_matches_redis_over_many_ranges() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.check(&[b"SET", b"ff", b"\xff\xff\xff"]);
    p.check(&[b"SET", b"zero", b"\x00\x00\x00"]);
    p.check(&[b"SET", b"mix", b"\x00\x01\xfe\xff\x80\x00\x00\x10"]);
    p.check(&[b"SET", b"e", b""]);
    p.script(&[
        "BITPOS missing 1",
        "BITPOS missing 0",
        "BITPOS missing 2",
        "BITPOS missing 0 a",
        "BITPOS missing 1 0 1 xx",
        "BITPOS ff 2",
        "BITPOS ff x",
        "BITPOS ff 0 a",
        "BITPOS ff 1 0 a xx",
        "BITPOS ff 1 a 1 xx",
        "BITPOS ff 0 3 bit",
        "BITPOS ff 0 1 1 byte extra",
        "BITPOS ff 1 0 1 2 3",
        "RPUSH list a",
        "BITPOS list 1",
        "BITPOS list 1 0 1 xx",
        "BITPOS list 3",
    ]);
    for key in ["ff", "zero", "mix", "e"] {
        for bit in [0, 1] {
            p.words(&format!("BITPOS {key} {bit}"));
            for start in (-70..70).step_by(5) {
                p.words(&format!("BITPOS {key} {bit} {start}"));
                for end in (-70..70).step_by(11) {
                    for unit in ["", " BYTE", " BIT"] {
                        p.words(&format!("BITPOS {key} {bit} {start} {end}{unit}"));
                    }
                }
            }
        }
    }
}

#[test]
fn bitop_matches_redis_on_one_shard_and_across_shards() {
    let mut p = pair_or_skip!();
    p.flushall();
    let here = keys_on(0, "bitop", 3);
    let there = keys_on(1, "bitop", 3);
    let values: [&[u8]; 3] = [b"\xf0\x0f\xaa", b"\xff", b"\x01\x02\x03\x04\x05"];
    for (key, value) in here.iter().chain(&there).zip(values.iter().cycle()) {
        p.check(&[b"SET", key.as_bytes(), value]);
    }
    for op in ["AND", "OR", "XOR", "and", "Or"] {
        for dest in [&here[0], &there[0], &"{t}dest".to_string()] {
            let line = format!(
                "BITOP {op} {dest} {} {} {} missing",
                here[1], there[1], there[2]
            );
            p.words(&line);
            p.words(&format!("GET {dest}"));
            p.words(&format!("BITOP {op} {dest} {}", here[2]));
            p.words(&format!("GET {dest}"));
        }
    }
    for dest in [&here[0], &there[0]] {
        p.words(&format!("BITOP NOT {dest} {}", there[2]));
        p.words(&format!("GET {dest}"));
        p.words(&format!("BITOP NOT {dest} {}", here[1]));
        p.words(&format!("GET {dest}"));
    }
    p.words(&format!("SET {} v EX 1000", here[0]));
    p.words(&format!("BITOP AND {} missing nothing", here[0]));
    p.words(&format!("EXISTS {}", here[0]));
    p.words(&format!("RPUSH {} a", there[0]));
    p.script(&[
        "BITOP AND",
        "BITOP AND d",
        "BITOP foo d a",
        "BITOP NOT d a b",
        "BITOP NOT d",
    ]);
    p.words(&format!("BITOP OR d {} {}", here[1], there[0]));
    p.words(&format!("BITOP OR {} {}", there[0], here[1]));
    p.words(&format!("TYPE {}", there[0]));
    p.words(&format!("GET {}", there[0]));
}

#[test]
fn bitfield_matches_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "BITFIELD bf",
        "BITFIELD bf GET",
        "BITFIELD bf GET u8",
        "BITFIELD bf GET u64 0",
        "BITFIELD bf GET i65 0",
        "BITFIELD bf GET u0 0",
        "BITFIELD bf GET x8 0",
        "BITFIELD bf GET U8 0",
        "BITFIELD bf GET u8 #1",
        "BITFIELD bf GET i8 #-1",
        "BITFIELD bf GET u8 #x",
        "BITFIELD bf GET u8 4294967295",
        "BITFIELD bf GET u8 4294967296",
        "BITFIELD bf GET u8 #536870911",
        "BITFIELD bf GET u8 #536870912",
        "BITFIELD bf GET i8 #1152921504606846976",
        "EXISTS bf",
        "BITFIELD bf SET u8 0 256 GET u8 0",
        "BITFIELD bf OVERFLOW SAT SET u8 0 256 GET u8 0",
        "BITFIELD bf OVERFLOW FAIL SET u8 0 256 GET u8 0",
        "BITFIELD bf OVERFLOW foo",
        "BITFIELD bf OVERFLOW",
        "BITFIELD bf foo",
        "BITFIELD bf INCRBY i8 0 200",
        "BITFIELD bf OVERFLOW SAT INCRBY i64 0 9223372036854775807 INCRBY i64 0 1",
        "BITFIELD bf SET u8 0 x",
        "BITFIELD bf SET u8 0",
        "BITFIELD bf GET u8 0 SET u8",
        "BITFIELD bf GET u8 0 OVERFLOW",
        "BITFIELD bf SET i8 #3 -100 GET i8 #3 GET u4 24 GET i4 28",
        "GET bf",
        "BITFIELD_RO bf GET u8 0 GET i16 #1",
        "BITFIELD_RO bf SET u8 0 1",
        "BITFIELD_RO bf OVERFLOW SAT GET u8 0",
        "BITFIELD_RO bf OVERFLOW SAT",
        "BITFIELD_RO bf INCRBY u8 0 1",
        "BITFIELD_RO missing GET u8 0",
        "BITFIELD missing2 GET u8 0",
        "EXISTS missing2",
        "BITFIELD new OVERFLOW FAIL SET u8 0 999",
        "GET new",
        "RPUSH list a",
        "BITFIELD list GET u8 0",
        "BITFIELD list SET u8 0 1",
        "BITFIELD_RO list GET u8 0",
        "BITFIELD_RO list SET u8 0 1",
        "BITFIELD list GET x8 0",
    ]);
}

#[test]
fn bitfield_overflow_modes_match_redis_across_types() {
    let mut p = pair_or_skip!();
    p.flushall();
    let values = [
        "0",
        "1",
        "-1",
        "7",
        "-8",
        "127",
        "-128",
        "200",
        "-200",
        "255",
        "256",
        "32767",
        "-32768",
        "9223372036854775807",
        "-9223372036854775808",
    ];
    for ty in [
        "u1", "i1", "u4", "i4", "u8", "i8", "i13", "u16", "i32", "u63", "i63", "i64",
    ] {
        for overflow in ["WRAP", "SAT", "FAIL"] {
            for value in values {
                p.words(&format!(
                    "BITFIELD f{ty} OVERFLOW {overflow} SET {ty} 3 {value}"
                ));
                p.words(&format!(
                    "BITFIELD f{ty} OVERFLOW {overflow} INCRBY {ty} 3 {value}"
                ));
                p.words(&format!("BITFIELD f{ty} GET {ty} 3 GET {ty} #2"));
            }
        }
        p.words(&format!("GET f{ty}"));
    }
}

/// Keys the random sequences use: both shards and a hash tag.
fn random_keys() -> Vec<String> {
    let mut keys = keys_on(0, "bm", 2);
    keys.extend(keys_on(1, "bm", 2));
    keys.push("{bm}x".into());
    keys
}

fn bitmap_command(keys: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let key = proptest::sample::select(keys.clone());
    let key2 = proptest::sample::select(keys.clone());
    let key3 = proptest::sample::select(keys);
    let offset = 0u32..300;
    let range = -40i64..40;
    let unit = proptest::sample::select(vec!["", "BYTE", "BIT"]);
    let ty = proptest::sample::select(vec!["u1", "i3", "u8", "i8", "i16", "u31", "i64"]);
    let overflow = proptest::sample::select(vec!["WRAP", "SAT", "FAIL"]);
    let words = |s: String| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    prop_oneof![
        (key.clone(), offset.clone(), 0..2u8)
            .prop_map(move |(k, o, b)| words(format!("SETBIT {k} {o} {b}"))),
        (key.clone(), offset.clone()).prop_map(move |(k, o)| words(format!("GETBIT {k} {o}"))),
        (key.clone(), range.clone(), range.clone(), unit.clone())
            .prop_map(move |(k, s, e, u)| words(format!("BITCOUNT {k} {s} {e} {u}"))),
        (key.clone(), 0..2u8, range.clone(), range, unit)
            .prop_map(move |(k, b, s, e, u)| words(format!("BITPOS {k} {b} {s} {e} {u}"))),
        (
            proptest::sample::select(vec!["AND", "OR", "XOR"]),
            key.clone(),
            key2.clone(),
            key3
        )
            .prop_map(move |(op, d, a, b)| words(format!("BITOP {op} {d} {a} {b}"))),
        (key.clone(), key2).prop_map(move |(d, a)| words(format!("BITOP NOT {d} {a}"))),
        (
            key.clone(),
            overflow,
            ty.clone(),
            offset.clone(),
            any::<i64>()
        )
            .prop_map(move |(k, ov, t, o, v)| words(format!(
                "BITFIELD {k} OVERFLOW {ov} INCRBY {t} {o} {v} GET {t} {o}"
            ))),
        (key.clone(), ty, offset, any::<i16>())
            .prop_map(move |(k, t, o, v)| words(format!("BITFIELD {k} SET {t} {o} {v}"))),
        key.clone().prop_map(move |k| words(format!("SET {k} abc"))),
        key.prop_map(move |k| words(format!("DEL {k}"))),
    ]
}

#[test]
fn random_bitmap_sequences_match_redis() {
    check_random_sequences(
        150,
        proptest::collection::vec(bitmap_command(random_keys()), 1..30),
        exactly,
        |p| {
            for key in random_keys() {
                let (ours, theirs) = p.both(&[b"GET", key.as_bytes()]);
                prop_assert_eq!(ours, theirs, "final value of {}", key);
            }
            Ok(())
        },
    );
}
