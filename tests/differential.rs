//! Differential tests: real Redis is the oracle.
//!
//! Each test starts Debian's `redis-server` (7.0) from `PATH` on a free
//! loopback port, with no persistence and its own temporary directory, and a
//! corekv server in-process with two shards. The same commands go to both
//! over raw TCP and the parsed replies must be equal. Replies are normalised
//! only where Redis leaves them unspecified: KEYS and SCAN as sorted sets,
//! RANDOMKEY as "some existing key", and relative TTLs within a tolerance.
//!
//! Keys are chosen on both shards (and hash-tagged onto one), so the
//! cross-shard split and gather paths run against the same oracle.
//!
//! If `redis-server` is missing the tests fail loudly, unless
//! `COREKV_SKIP_DIFFERENTIAL=1` is set (then they warn and pass).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // black-box tests use real sockets, processes and clocks

#[macro_use]
mod common;

use bytes::Bytes;
use common::oracle::*;
use common::RawClient;
use corekv::resp::Reply;
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Scripted comparisons, one family at a time.
// ---------------------------------------------------------------------------

#[test]
fn set_and_get_family_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "GET k",
        "SET k v",
        "GET k",
        "SET k v2 NX",
        "SET k v3 XX",
        "GET k",
        "SET new v XX",
        "SET k v NX NX",
        "SET k v XX NX",
        "SET k v GET GET",
        "SET k v EX 0 foo",
        "SET k v EX 0",
        "SET k v EX -5",
        "SET k v PX abc",
        "SET k v EX 9223372036854775807",
        "SET k v EX",
        "SET k v KEEPTTL KEEPTTL",
        "SET k v EX 10 KEEPTTL",
        "SET k v EX 10 PX 10",
        "SET k v EXAT 10 PXAT 10",
        "SET k v NX GET",
        "SET missing v NX GET",
        "GET missing",
        "SET k v PXAT 4102444800000",
        "PEXPIRETIME k",
        "SET k w KEEPTTL",
        "PEXPIRETIME k",
        "SET k w",
        "PEXPIRETIME k",
        "SET k v EXAT 4102444800",
        "EXPIRETIME k",
        "SET k v foo",
        "SET k",
        "GET",
        "GET a b",
    ]);
    p.script(&[
        "SETNX sn 1",
        "SETNX sn 2",
        "GET sn",
        "SETNX sn",
        "SETEX se 100 v",
        "TTL se",
        "SETEX se 0 v",
        "SETEX se -1 v",
        "SETEX se abc v",
        "SETEX se 9223372036854775 v",
        "PSETEX pe 100000 v",
        "PSETEX pe 0 v",
        "PSETEX pe 9223372036854775807 v",
        "GET pe",
        "GETSET gs a",
        "GETSET gs b",
        "GET gs",
        "SET gs v EX 100",
        "GETSET gs c",
        "TTL gs",
        "GETDEL gs",
        "GETDEL gs",
        "EXISTS gs",
        "GETDEL a b",
    ]);
    p.script(&[
        "SET ge v",
        "GETEX ge",
        "GETEX missing",
        "GETEX ge EX 100",
        "TTL ge",
        "GETEX ge PERSIST",
        "TTL ge",
        "GETEX ge PXAT 4102444800123",
        "PEXPIRETIME ge",
        "GETEX ge EXAT 4102444801",
        "PEXPIRETIME ge",
        "GETEX ge EX 10 PX 10",
        "GETEX ge PERSIST EX 10",
        "GETEX ge EX 10 PERSIST",
        "GETEX ge KEEPTTL",
        "GETEX ge NX",
        "GETEX ge EX",
        "GETEX missing EX -1",
        "GETEX ge EX -1",
        "GETEX ge EX abc",
        "GETEX ge PX 9223372036854775807",
        "GETEX ge EXAT 1",
        "EXISTS ge",
    ]);
}

#[test]
fn binary_keys_and_values_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    let key: &[u8] = b"bin\r\n\0key";
    let value: &[u8] = b"va\0l\r\nue\xff";
    p.check(&[b"SET", key, value]);
    p.check(&[b"GET", key]);
    p.check(&[b"APPEND", key, b"\0\r\n"]);
    p.check(&[b"STRLEN", key]);
    p.check(&[b"GETRANGE", key, b"2", b"6"]);
    p.check(&[b"SETRANGE", key, b"1", b"\r\n"]);
    p.check(&[b"GET", key]);
    p.check(&[b"EXISTS", key, b"bin"]);
    p.check(&[b"RENAME", key, b"other\0"]);
    p.check(&[b"GET", b"other\0"]);
    p.check(&[b"LCS", b"other\0", b"other\0"]);
    p.check(&[b"SET", b"", b""]);
    p.check(&[b"GET", b""]);
    p.check(&[b"EXPIRE", key, b"10", b"f\0oo"]);
    p.check(&[b"EXPIRE", b"other\0", b"10", b"f\0oo"]);
}

#[test]
fn counters_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "INCR n",
        "INCR n",
        "INCRBY n 10",
        "INCRBY n -100",
        "DECR n",
        "DECRBY n 5",
        "DECRBY n -9223372036854775808",
        "INCRBY n 1.5",
        "INCRBY n abc",
        "DECRBY missing abc",
        "SET n 9223372036854775807",
        "INCR n",
        "INCRBY n 0",
        "SET n -9223372036854775808",
        "DECR n",
        "INCRBY n -1",
        "SET n abc",
        "INCR n",
        "SET n 01",
        "INCR n",
        "SET n -0",
        "INCR n",
        "SET n +1",
        "INCR n",
        "SET n 12",
        "OBJECT ENCODING n",
        "INCR n",
        "OBJECT ENCODING n",
        "INCRBY big 100000",
        "OBJECT ENCODING big",
        "OBJECT REFCOUNT big",
        "SET n 5 EX 100",
        "INCR n",
        "TTL n",
        "INCR",
        "INCRBY n",
    ]);
    let floats = [
        ("10.5", "0.1"),
        ("10.5", "0.5"),
        ("0", "1e30"),
        ("0", "3.0e3"),
        ("0", "5.0e3"),
        ("0", "0x10"),
        ("16", "1e-4000"),
        ("0", "1e-30"),
        ("0", "-0.0"),
        ("1", "-1"),
        ("-5", "2.25"),
        ("3", "inf"),
        ("3", "-inf"),
        ("3", "nan"),
        ("3", " 1"),
        ("3", "1 "),
        ("3", "abc"),
        ("abc", "1"),
        ("1e4932", "1e4932"),
        ("0.1", "0.2"),
        ("1", "1e-17"),
        ("123456789012345678", "1"),
        ("5", "0x1.8p1"),
        ("2", "1e"),
        ("7", "+.5"),
        ("1.5e308", "1.5e308"),
        ("9.99999999999999999", "0"),
        ("-1e-20", "0"),
    ];
    for (start, increment) in floats {
        p.check(&[b"SET", b"f", start.as_bytes()]);
        p.check(&[b"INCRBYFLOAT", b"f", increment.as_bytes()]);
        p.check(&[b"GET", b"f"]);
    }
    p.script(&[
        "DEL f",
        "INCRBYFLOAT f 2.5",
        "INCRBYFLOAT f",
        "SET f 1 PX 100000",
        "INCRBYFLOAT f 1",
    ]);
    p.check_close(&[b"PTTL", b"f"], 1000);
}

#[test]
fn ranges_and_append_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "APPEND a Hello",
        "APPEND a World",
        "GET a",
        "STRLEN a",
        "STRLEN missing",
        "GETRANGE a 0 -1",
        "GETRANGE a -3 -1",
        "GETRANGE a -1 -3",
        "GETRANGE a 10 20",
        "GETRANGE a -100 100",
        "GETRANGE a 3 2",
        "GETRANGE missing 0 1",
        "GETRANGE a 0 x",
        "GETRANGE a -9223372036854775808 9223372036854775807",
        "SUBSTR a 1 2",
        "SUBSTR a 1",
        "SETRANGE a -1 x",
        "SETRANGE a 0 x y",
        "SETRANGE a 5 !!",
        "GET a",
        "SETRANGE a 12 tail",
        "GET a",
        "SETRANGE fresh 3 ab",
        "GET fresh",
        "SETRANGE a 536870912 x",
        "SETRANGE a 9223372036854775807 x",
        "SETRANGE a x y",
        "SET n 12345",
        "GETRANGE n 1 2",
        "APPEND n 6",
        "GET n",
        "SET t v EX 100",
        "APPEND t w",
        "TTL t",
        "SETRANGE t 0 x",
        "TTL t",
        "APPEND",
        "STRLEN a b",
    ]);
    // An empty value on a missing key creates nothing.
    p.check(&[b"SETRANGE", b"nothing", b"5", b""]);
    p.check(&[b"EXISTS", b"nothing"]);
    p.check(&[b"SETRANGE", b"a", b"0", b""]);
}

#[test]
fn multi_key_commands_match_redis_across_shards() {
    let mut p = pair_or_skip!();
    p.flushall();
    let (a, b) = cross_shard_pair("x");
    let (c, d) = cross_shard_pair("y");
    let tagged = ["{t}one", "{t}two"];
    for line in [
        format!("MSET {a} 1 {b} 2 {c} 3"),
        format!("MGET {a} {b} {c} {d} {a}"),
        format!("MSETNX {c} 9 {d} 4"),
        format!("EXISTS {d}"),
        format!("MSETNX {d} 4 {d} 5"),
        format!("GET {d}"),
        format!("MSETNX {a}"),
        format!("MSET {a} 1 {b}"),
        format!("EXISTS {a} {b} {c} {d} nope {a}"),
        format!("TOUCH {a} {b} nope {d}"),
        format!("DEL {a} {c} nope"),
        format!("UNLINK {b} {d} {a}"),
        format!("MSET {a} ohmytext {b} mynewtext"),
        format!("LCS {a} {b}"),
        format!("LCS {a} {b} LEN"),
        format!("LCS {a} {b} IDX"),
        format!("LCS {a} {b} IDX MINMATCHLEN 4 WITHMATCHLEN"),
        format!("LCS {a} {b} IDX WITHMATCHLEN"),
        format!("LCS {a} {b} IDX MINMATCHLEN -5"),
        format!("LCS {a} {b} LEN IDX"),
        format!("LCS {a} {b} MINMATCHLEN"),
        format!("LCS {a} {b} MINMATCHLEN x"),
        format!("LCS {a} {b} foo"),
        format!("LCS {a} nope"),
        format!("LCS nope {b} IDX"),
        format!("LCS {a}"),
        format!("SET {c} v EX 100"),
        format!("RENAME {c} {d}"),
        format!("TTL {d}"),
        format!("EXISTS {c}"),
        format!("RENAME {c} {d}"),
        format!("RENAMENX {d} {a}"),
        format!("RENAMENX {d} {c}"),
        format!("RENAME {c} {c}"),
        format!("RENAMENX {c} {c}"),
        format!("RENAMENX nope {a}"),
        format!("COPY {a} {c}"),
        format!("COPY {a} {c}"),
        format!("COPY {a} {c} REPLACE"),
        format!("GET {c}"),
        format!("COPY nope {c} REPLACE"),
        format!("COPY {a} {a}"),
        format!("COPY {a} {c} foo"),
        format!("MSET {} a {} b", tagged[0], tagged[1]),
        format!("RENAME {} {}", tagged[0], tagged[1]),
        format!("COPY {} {} DB 3", tagged[1], tagged[0]),
        format!("COPY {a} {a} DB 3"),
        format!("COPY {a} {a} DB 16"),
        format!("COPY {a} {a} DB -1"),
        format!("COPY {a} {a} DB x"),
        format!("COPY {a} {a} DB"),
    ] {
        p.words(&line);
    }
    p.words("SELECT 3");
    p.check_unordered(&[b"KEYS", b"*"]);
    p.words("SELECT 0");
}

#[test]
fn expiry_commands_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    let far_ms = FAR_FUTURE_S * 1000;
    p.script(&[
        "SET e 1",
        "TTL e",
        "PTTL e",
        "EXPIRETIME e",
        "PEXPIRETIME e",
        "TTL nope",
        "PTTL nope",
        "EXPIRETIME nope",
        "EXPIRE e 10 foo",
        "EXPIRE e 10 nx xx",
        "EXPIRE e 10 gt lt",
        "EXPIRE e 10 nx gt",
        "EXPIRE e 10 lt nx",
        "EXPIRE e abc foo",
        "EXPIRE nope 10 nx xx",
        "EXPIRE nope 10",
        "EXPIRE e abc",
        "EXPIRE e 9223372036854775807",
        "EXPIRE e -9223372036854775808",
        "PEXPIRE e 9223372036854775807",
        "EXPIREAT e 9223372036854776",
        "PEXPIREAT e 9223372036854775807",
        "PEXPIRETIME e",
        "EXPIRETIME e",
        "EXPIRE e 10 xx",
        "EXPIRE e 20 gt", // 20 s: later than the 10 s just set, whatever the clock did
        "EXPIREAT e 4102444800 nx",
        "EXPIRE e 10 nx nx",
        "EXPIREAT e 4102444800 xx",
        "EXPIRETIME e",
        "EXPIREAT e 4102444700 gt",
        "EXPIREAT e 4102444900 gt",
        "EXPIREAT e 4102444900 lt",
        "EXPIREAT e 4102444800 lt",
        "PEXPIREAT e 4102444800499",
        "EXPIRETIME e",
        "PEXPIREAT e 4102444800500",
        "EXPIRETIME e",
        "PERSIST e",
        "PERSIST e",
        "PERSIST nope",
        "EXPIRETIME e",
        "EXPIRE e 0",
        "EXISTS e",
        "SET e 1",
        "PEXPIREAT e 1500",
        "EXISTS e",
        "SET e 1",
        "EXPIRE e -10",
        "GET e",
        "SET e 1",
        "EXPIREAT e 4102444800 gt",
        "EXPIRE",
        "EXPIRE e",
        "TTL",
        "PERSIST a b",
    ]);
    p.words(&format!("SET r v PXAT {far_ms}"));
    p.words("PEXPIRETIME r");
    p.script(&[
        "SET t v",
        "EXPIRE t 100",
        "TTL t",
        "PEXPIRE t 100000",
        "TTL t",
    ]);
    p.check_close(&[b"PTTL", b"t"], 1000);
    p.script(&[
        "EXPIRE t 100 lt",
        "EXPIRE t 50 lt",
        "TTL t",
        "EXPIRE t 60 gt",
        "TTL t",
    ]);
    // A past absolute time given to SET/GETEX.
    p.script(&[
        "SET past v PXAT 1",
        "GET past",
        "EXISTS past",
        "SET past v",
        "GETEX past PXAT 1",
        "EXISTS past",
    ]);
}

#[test]
fn keyspace_commands_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    let mut all = keys_on(0, "k", 15);
    all.extend(keys_on(1, "k", 15));
    for key in &all {
        p.check(&[b"SET", key.as_bytes(), b"v"]);
    }
    p.script(&[
        "DBSIZE",
        "TYPE k0",
        "TYPE nope",
        "TYPE",
        "OBJECT ENCODING nope",
    ]);
    for pattern in ["*", "k1*", "k?", "nomatch*", "k[12]"] {
        p.check_unordered(&[b"KEYS", pattern.as_bytes()]);
    }
    for options in [
        &[][..],
        &["MATCH", "k1*"],
        &["COUNT", "3"],
        &["TYPE", "string"],
        &["TYPE", "list"],
    ] {
        assert_eq!(
            scan_all(&mut p.corekv, options),
            scan_all(&mut p.redis, options),
            "SCAN {options:?}"
        );
    }
    p.script(&[
        "SCAN x",
        "SCAN 0 COUNT 0",
        "SCAN 0 COUNT x",
        "SCAN 0 foo",
        "SCAN 0 MATCH",
    ]);
    for _ in 0..10 {
        let (ours, _) = p.both(&[b"RANDOMKEY"]);
        let Reply::Bulk(key) = ours else {
            panic!("RANDOMKEY: {ours:?}")
        };
        assert!(
            all.iter().any(|k| k.as_bytes() == key),
            "RANDOMKEY gave {key:?}"
        );
    }
    p.script(&[
        "RANDOMKEY x",
        "SELECT 1",
        "RANDOMKEY",
        "DBSIZE",
        "SET only1 x",
        "SELECT 0",
    ]);
    p.script(&[
        "SWAPDB 0 1",
        "DBSIZE",
        "GET only1",
        "SWAPDB 1 0",
        "DBSIZE",
        "SWAPDB 0 16",
        "SWAPDB x 1",
        "SWAPDB 1 y",
        "SWAPDB -1 0",
        "SWAPDB 0 0",
        "SWAPDB 99999999999 0",
        "SWAPDB 0",
        "FLUSHDB",
        "DBSIZE",
        "SELECT 1",
        "DBSIZE",
        "FLUSHALL",
        "DBSIZE",
        "SELECT 0",
        "FLUSHDB ASYNC",
        "FLUSHALL SYNC",
        "FLUSHDB foo",
    ]);
    p.script(&[
        "SET s hello",
        "SET n 12",
        "SET big 123456789012345678901",
        "OBJECT ENCODING s",
        "OBJECT ENCODING n",
        "OBJECT ENCODING big",
        "OBJECT REFCOUNT n",
        "OBJECT REFCOUNT s",
        "OBJECT FREQ n",
        "OBJECT ENCODING",
        "OBJECT ENCODING n extra",
        "OBJECT foo",
        "OBJECT HELP",
        "OBJECT HELP extra",
        "OBJECT",
        "OBJECT REFCOUNT nope",
    ]);
    p.check(&[b"SET", b"long", &[b'x'; 45]]);
    p.words("OBJECT ENCODING long");
}

/// Every key a full SCAN returns, sorted.
fn scan_all(client: &mut RawClient, options: &[&str]) -> Vec<Bytes> {
    let mut cursor = Bytes::from_static(b"0");
    let mut keys = Vec::new();
    for _ in 0..10_000 {
        let mut args: Vec<&[u8]> = vec![b"SCAN", &cursor];
        args.extend(options.iter().map(|o| o.as_bytes()));
        let Reply::Array(parts) = client.call(&args) else {
            panic!("SCAN reply")
        };
        let [Reply::Bulk(next), Reply::Array(batch)] = &parts[..] else {
            panic!("SCAN shape")
        };
        keys.extend(batch.iter().filter_map(|k| match k {
            Reply::Bulk(key) => Some(key.clone()),
            _ => None,
        }));
        cursor = next.clone();
        if cursor.as_ref() == b"0" {
            keys.sort();
            keys.dedup();
            return keys;
        }
    }
    panic!("SCAN did not finish");
}

#[test]
fn errors_and_arity_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    p.script(&[
        "NOSUCHCOMMAND",
        "nosuchcommand a b",
        "GET",
        "SETNX a",
        "SETEX a 1",
        "PSETEX a",
        "GETSET a",
        "GETDEL",
        "GETEX",
        "MGET",
        "MSET a",
        "MSETNX a",
        "APPEND a",
        "STRLEN",
        "INCR",
        "INCRBY a",
        "DECR",
        "DECRBY a",
        "INCRBYFLOAT a",
        "GETRANGE a 1",
        "SETRANGE a 1",
        "SUBSTR a",
        "LCS a",
        "DEL",
        "EXISTS",
        "UNLINK",
        "TOUCH",
        "TYPE",
        "EXPIRE a",
        "PEXPIRE a",
        "EXPIREAT a",
        "PEXPIREAT a",
        "TTL",
        "PTTL",
        "EXPIRETIME",
        "PEXPIRETIME",
        "PERSIST",
        "RENAME a",
        "RENAMENX a",
        "COPY a",
        "RANDOMKEY a",
        "OBJECT",
        "SWAPDB 1",
        "DBSIZE a",
        "KEYS",
        "SCAN",
        "RENAME nope other",
    ]);
    p.check(&[b"GET\r\n", b"x"]);
    p.check(&[b"", b"x"]);
}

#[test]
fn resp3_replies_match_redis() {
    let mut p = pair_or_skip!();
    p.flushall();
    // HELLO's server details differ by design: switch both, compare what follows.
    let _ = p.both(&[b"HELLO", b"3"]);
    let (a, b) = cross_shard_pair("r");
    for line in [
        format!("MSET {a} ohmytext {b} mynewtext"),
        format!("LCS {a} {b} IDX WITHMATCHLEN"),
        format!("LCS {a} {b}"),
        format!("MGET {a} nope {b}"),
        "GET nope".to_owned(),
        "INCRBYFLOAT f 1.5".to_owned(),
        "SET k v GET".to_owned(),
        "GETEX nope".to_owned(),
        "OBJECT ENCODING nope".to_owned(),
        "OBJECT HELP".to_owned(),
        "TYPE k".to_owned(),
        "TTL k".to_owned(),
        "RANDOMKEY x".to_owned(),
        "SWAPDB 0 x".to_owned(),
        format!("RENAME {a} {b}"),
    ] {
        p.words(&line);
    }
}

// ---------------------------------------------------------------------------
// Random command sequences.
// ---------------------------------------------------------------------------

/// A small key set: two keys per shard and two hash-tagged onto one shard.
fn proptest_keys() -> Vec<String> {
    let mut keys = keys_on(0, "p", 2);
    keys.extend(keys_on(1, "p", 2));
    keys.extend(["{h}a".to_owned(), "{h}b".to_owned()]);
    keys
}

fn command_strategy(keys: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let key = proptest::sample::select(keys);
    let value = prop_oneof![
        Just("".to_owned()),
        Just("abc".to_owned()),
        Just("10".to_owned()),
        Just("-7".to_owned()),
        Just("2.5".to_owned()),
        Just("9223372036854775807".to_owned()),
        "[a-c]{1,6}",
    ];
    let number = prop_oneof![
        Just(0i64),
        Just(-1),
        Just(3),
        Just(-3),
        Just(100),
        any::<i64>()
    ];
    let far = Just(FAR_FUTURE_S);
    (key.clone(), key, value, number, far, 0..28u8).prop_map(|(k, k2, v, n, far, op)| {
        let words: Vec<String> = match op {
            0 => vec!["SET".into(), k, v],
            1 => vec!["SET".into(), k, v, "NX".into(), "GET".into()],
            2 => vec!["SET".into(), k, v, "XX".into(), "KEEPTTL".into()],
            3 => vec!["GET".into(), k],
            4 => vec!["SETNX".into(), k, v],
            5 => vec!["GETSET".into(), k, v],
            6 => vec!["GETDEL".into(), k],
            7 => vec!["APPEND".into(), k, v],
            8 => vec!["STRLEN".into(), k],
            9 => vec!["INCR".into(), k],
            10 => vec!["INCRBY".into(), k, n.to_string()],
            11 => vec!["DECRBY".into(), k, n.to_string()],
            12 => vec!["INCRBYFLOAT".into(), k, v],
            13 => vec!["GETRANGE".into(), k, n.to_string(), "-1".into()],
            14 => vec!["SETRANGE".into(), k, (n.rem_euclid(8)).to_string(), v],
            15 => vec!["MSET".into(), k, v.clone(), k2, v],
            16 => vec!["MSETNX".into(), k, v.clone(), k2, v],
            17 => vec!["MGET".into(), k, k2],
            18 => vec!["DEL".into(), k, k2],
            19 => vec!["EXISTS".into(), k, k2],
            20 => vec!["RENAME".into(), k, k2],
            21 => vec!["RENAMENX".into(), k, k2],
            22 => vec!["COPY".into(), k, k2, "REPLACE".into()],
            23 => vec!["LCS".into(), k, k2, "IDX".into(), "WITHMATCHLEN".into()],
            24 => vec![
                "EXPIREAT".into(),
                k,
                (far + n.rem_euclid(100) as u64).to_string(),
                "GT".into(),
            ],
            25 => vec!["PEXPIRETIME".into(), k],
            26 => vec!["PERSIST".into(), k],
            _ => vec!["GETEX".into(), k, "EXAT".into(), far.to_string()],
        };
        words
    })
}

#[test]
fn random_command_sequences_match_redis() {
    check_random_sequences(
        500,
        proptest::collection::vec(command_strategy(proptest_keys()), 1..25),
        exactly,
        |p| {
            for key in proptest_keys() {
                let (ours, theirs) = p.both(&[b"GET", key.as_bytes()]);
                prop_assert_eq!(ours, theirs, "final value of {}", key);
            }
            Ok(())
        },
    );
}
