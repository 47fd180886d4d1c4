//! Unit tests of the hash commands over a real keyspace. Expected replies
//! were checked against redis-server 7.0.15; tests/differential_hashes.rs
//! compares against it live.

use std::collections::BTreeSet;

use super::*;
use crate::commands::lists::tests::{bulk, bulks, err, Fixture, NOW_MS};

fn fixture() -> Fixture {
    Fixture::new(COMMANDS)
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn encoding(f: &mut Fixture, key: &str) -> &'static str {
    f.keyspace
        .db(0)
        .get(key.as_bytes(), NOW_MS)
        .map_or("none", |e| e.value.encoding())
}

fn map(pairs: &[(&str, &str)]) -> Reply {
    Reply::Map(pairs.iter().map(|&(f, v)| (bulk(f), bulk(v))).collect())
}

#[test]
fn set_get_and_delete() {
    let mut f = fixture();
    assert_eq!(f.run("HSET h b 1 a 2"), Reply::Integer(2));
    assert_eq!(f.run("HSET h a 3 c 4"), Reply::Integer(1));
    assert_eq!(f.run("HMSET h d 5"), Reply::ok());
    assert_eq!(
        f.run("HSET h a"),
        err("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        f.run("HSET h a 1 b"),
        err("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(
        f.run("HMSET h a 1 b"),
        err("ERR wrong number of arguments for 'hmset' command")
    );
    assert_eq!(
        f.run("HGETALL h"),
        map(&[("b", "1"), ("a", "3"), ("c", "4"), ("d", "5")])
    );
    assert_eq!(f.run("HKEYS h"), bulks(&["b", "a", "c", "d"]));
    assert_eq!(f.run("HVALS h"), bulks(&["1", "3", "4", "5"]));
    assert_eq!(f.run("HGET h a"), bulk("3"));
    assert_eq!(f.run("HGET h zz"), Reply::Null);
    assert_eq!(
        f.run("HMGET h a zz b"),
        Reply::Array(vec![bulk("3"), Reply::Null, bulk("1")])
    );
    assert_eq!(f.run("HMGET nokey a"), Reply::Array(vec![Reply::Null]));
    assert_eq!(f.run("HSETNX h a 9"), Reply::Integer(0));
    assert_eq!(f.run("HSETNX h e 9"), Reply::Integer(1));
    assert_eq!(f.run("HLEN h"), Reply::Integer(5));
    assert_eq!(f.run("HSTRLEN h e"), Reply::Integer(1));
    assert_eq!(f.run("HSTRLEN h zz"), Reply::Integer(0));
    assert_eq!(f.run("HEXISTS h e"), Reply::Integer(1));
    assert_eq!(f.run("HEXISTS nokey e"), Reply::Integer(0));
    assert_eq!(f.run("HDEL h a zz b"), Reply::Integer(2));
    assert_eq!(f.run("HDEL h c d e"), Reply::Integer(3));
    assert!(!f.exists("h"), "an emptied hash is deleted");
    assert_eq!(f.run("HDEL nokey a"), Reply::Integer(0));
    assert_eq!(f.run("HGETALL nokey"), map(&[]));
    assert_eq!(f.run("HKEYS nokey"), bulks(&[]));
}

#[test]
fn wrong_type_everywhere() {
    let mut f = fixture();
    f.set_string("s");
    for line in [
        "HSET s a 1",
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
        "HINCRBYFLOAT s a 1",
        "HRANDFIELD s",
        "HRANDFIELD s 2",
        "HSCAN s 0",
    ] {
        assert_eq!(f.run(line), err(WRONGTYPE), "{line}");
    }
}

#[test]
fn encodings_convert_one_way() {
    let mut f = fixture();
    let edge = "x".repeat(64);
    let long = "x".repeat(65);
    f.run_argv(&["HSET", "h", &edge, &edge]);
    assert_eq!(encoding(&mut f, "h"), "listpack");
    f.run_argv(&["HSETNX", "h", &edge, &long]);
    assert_eq!(
        encoding(&mut f, "h"),
        "listpack",
        "HSETNX on an existing field changes nothing"
    );
    f.run_argv(&["HINCRBY", "h", &long, "1"]);
    assert_eq!(encoding(&mut f, "h"), "hashtable");
    f.run_argv(&["HDEL", "h", &long]);
    assert_eq!(encoding(&mut f, "h"), "hashtable");
    for index in 0..512 {
        f.run_argv(&["HSET", "big", &index.to_string(), "v"]);
    }
    assert_eq!(encoding(&mut f, "big"), "listpack");
    f.run("HSET big 512 v");
    assert_eq!(encoding(&mut f, "big"), "hashtable");
}

#[test]
fn hincrby_follows_redis() {
    let mut f = fixture();
    assert_eq!(f.run("HINCRBY h f 5"), Reply::Integer(5));
    assert_eq!(f.run("HINCRBY h f -7"), Reply::Integer(-2));
    assert_eq!(
        f.run("HINCRBY h f x"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        f.run("HINCRBY h f 9223372036854775807"),
        Reply::Integer(i64::MAX - 2)
    );
    assert_eq!(
        f.run("HINCRBY h f 3"),
        err("ERR increment or decrement would overflow")
    );
    f.run("HSET h s foo");
    f.run("HSET h z 01");
    assert_eq!(
        f.run("HINCRBY h s 1"),
        err("ERR hash value is not an integer")
    );
    assert_eq!(
        f.run("HINCRBY h z 1"),
        err("ERR hash value is not an integer")
    );
}

#[test]
fn hincrbyfloat_follows_redis() {
    let mut f = fixture();
    assert_eq!(f.run("HINCRBYFLOAT h f 10.5"), bulk("10.5"));
    assert_eq!(f.run("HINCRBYFLOAT h f 0.1"), bulk("10.6"));
    assert_eq!(f.run("HINCRBYFLOAT h g 0x10"), bulk("16"));
    assert_eq!(f.run("HINCRBYFLOAT h g 1.0e-10"), bulk("16.0000000001"));
    assert_eq!(
        f.run("HINCRBYFLOAT h f inf"),
        err("ERR value is NaN or Infinity")
    );
    assert_eq!(
        f.run("HINCRBYFLOAT h f abc"),
        err("ERR value is not a valid float")
    );
    f.run("HSET h s foo");
    f.run("HSET h i inf");
    assert_eq!(
        f.run("HINCRBYFLOAT h s 1"),
        err("ERR hash value is not a float")
    );
    assert_eq!(
        f.run("HINCRBYFLOAT h i 1"),
        err("ERR increment would produce NaN or Infinity")
    );
    assert!(!f.exists("nokey"));
    assert_eq!(
        f.run("HINCRBYFLOAT nokey f inf"),
        err("ERR value is NaN or Infinity")
    );
    assert!(!f.exists("nokey"), "a refused increment creates nothing");
}

fn fields_of(reply: &Reply) -> Vec<Bytes> {
    match &reply.to_resp2_shape() {
        Reply::Array(items) => items
            .iter()
            .map(|item| match item {
                Reply::Bulk(bytes) => bytes.clone(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn hrandfield_shapes_and_membership() {
    let mut f = fixture();
    f.run("HSET h a 1 b 2 c 3");
    let all: BTreeSet<Bytes> = ["a", "b", "c"]
        .iter()
        .map(|s| Bytes::from(s.to_string()))
        .collect();
    assert!(matches!(f.run("HRANDFIELD h"), Reply::Bulk(field) if all.contains(&field)));
    assert_eq!(f.run("HRANDFIELD h 5"), bulks(&["a", "b", "c"]));
    assert_eq!(f.run("HRANDFIELD h 0"), bulks(&[]));
    let two = fields_of(&f.run("HRANDFIELD h 2"));
    assert_eq!(two.len(), 2);
    assert!(two[0] < two[1], "distinct, in listpack order: {two:?}");
    let many = fields_of(&f.run("HRANDFIELD h -20"));
    assert_eq!(many.len(), 20);
    assert!(many.iter().all(|field| all.contains(field)));
    let with_values = fields_of(&f.run("HRANDFIELD h -4 WITHVALUES"));
    assert_eq!(with_values.len(), 8);
    for pair in with_values.chunks(2) {
        assert_eq!(
            f.run_argv(&["HGET", "h", std::str::from_utf8(&pair[0]).unwrap()]),
            Reply::Bulk(pair[1].clone())
        );
    }
    assert_eq!(f.run("HRANDFIELD nokey"), Reply::Null);
    assert_eq!(f.run("HRANDFIELD nokey -3 WITHVALUES"), bulks(&[]));
    assert_eq!(f.run("HRANDFIELD h 2 foo"), err("ERR syntax error"));
    assert_eq!(
        f.run("HRANDFIELD h 2 WITHVALUES x"),
        err("ERR syntax error")
    );
    assert_eq!(
        f.run("HRANDFIELD h x"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        f.run("HRANDFIELD h -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        f.run("HRANDFIELD h 9223372036854775807 WITHVALUES"),
        err("ERR value is out of range")
    );
}

#[test]
fn hrandfield_distinct_from_a_large_hash() {
    let mut f = fixture();
    for index in 0..1000 {
        f.run_argv(&["HSET", "h", &format!("f{index}"), "v"]);
    }
    for count in [5, 400, 999] {
        let fields = fields_of(&f.run_argv(&["HRANDFIELD", "h", &count.to_string()]));
        let distinct: BTreeSet<_> = fields.iter().collect();
        assert_eq!((fields.len(), distinct.len()), (count, count));
    }
    assert_eq!(fields_of(&f.run("HRANDFIELD h -50")).len(), 50);
}

#[test]
fn hrandfield_refuses_unbounded_replies() {
    let mut f = fixture();
    f.run("HSET h a 1");
    assert!(f.run("HRANDFIELD h -9223372036854775807").is_error());
    assert!(f.run("HRANDFIELD h -1048577").is_error());
    assert!(!f.run("HRANDFIELD h 9223372036854775807").is_error());
    let big = "v".repeat(100_000);
    f.run_argv(&["HSET", "big", "f", &big]);
    assert!(
        f.run("HRANDFIELD big -1000 WITHVALUES").is_error(),
        "100 MB of values"
    );
    assert_eq!(fields_of(&f.run("HRANDFIELD big -1000")).len(), 1000);
}

#[test]
fn hscan_small_and_large() {
    let mut f = fixture();
    f.run("HSET h b 1 a 2 ab 3");
    let reply = |cursor: &str, items: &[&str]| Reply::Array(vec![bulk(cursor), bulks(items)]);
    assert_eq!(
        f.run("HSCAN h 0"),
        reply("0", &["b", "1", "a", "2", "ab", "3"])
    );
    assert_eq!(
        f.run("HSCAN h 77 COUNT 1 MATCH a*"),
        reply("0", &["a", "2", "ab", "3"])
    );
    assert_eq!(f.run("HSCAN nokey 0"), reply("0", &[]));
    assert_eq!(f.run("HSCAN h 0 COUNT 0"), err("ERR syntax error"));
    assert_eq!(f.run("HSCAN h 0 MATCH"), err("ERR syntax error"));
    assert_eq!(f.run("HSCAN h x"), err("ERR invalid cursor"));
    for index in 0..1000 {
        f.run_argv(&["HSET", "big", &format!("f{index}"), "v"]);
    }
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let Reply::Array(parts) = f.run_argv(&["HSCAN", "big", &cursor, "COUNT", "20"]) else {
            panic!("an array")
        };
        let [Reply::Bulk(next), Reply::Array(items)] = &parts[..] else {
            panic!("two parts")
        };
        for pair in items.chunks(2) {
            seen.insert(format!("{:?}", pair[0]));
        }
        cursor = String::from_utf8(next.to_vec()).unwrap();
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    assert!(
        calls > 10,
        "a large hash is scanned in steps ({calls} calls)"
    );
}
