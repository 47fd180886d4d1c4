//! Unit tests of SORT: key finding, LIMIT clamping, score parsing, pattern
//! lookups and the handler over lists and sets. Expected replies were
//! checked against redis-server 7.0.15.

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::pattern::parse_score;
use super::*;
use crate::commands::bitmaps::tests::{err, int, Fixture};
use crate::keyspace::set::Set;

fn bulk(text: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|item| bulk(item)).collect())
}

fn argv(line: &str) -> Vec<Bytes> {
    line.split_whitespace()
        .map(|word| Bytes::copy_from_slice(word.as_bytes()))
        .collect()
}

fn put_list(f: &mut Fixture, key: &str, items: &[&str]) {
    let mut list = List::new();
    for item in items {
        list.push(End::Tail, Bytes::copy_from_slice(item.as_bytes()));
    }
    f.keyspace
        .db(0)
        .insert(key.as_bytes(), Value::List(Box::new(list)), None);
}

fn put_set(f: &mut Fixture, key: &str, items: &[&str]) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut set = Set::new();
    for item in items {
        set.insert(item.as_bytes(), &mut rng);
    }
    f.keyspace
        .db(0)
        .insert(key.as_bytes(), Value::Set(Box::new(set)), None);
}

fn list_of(f: &mut Fixture, key: &str) -> Vec<Bytes> {
    match f
        .keyspace
        .db(0)
        .get(key.as_bytes(), 0)
        .map(|e| e.value.clone())
    {
        Some(Value::List(list)) => list.iter().cloned().collect(),
        other => panic!("not a list: {other:?}"),
    }
}

#[test]
fn key_finder_reports_the_last_store_destination() {
    assert_eq!(sort_keys(&argv("SORT k")), vec![1]);
    assert_eq!(sort_keys(&argv("SORT k STORE d")), vec![1, 3]);
    assert_eq!(sort_keys(&argv("SORT k STORE d store e")), vec![1, 5]);
    assert_eq!(
        sort_keys(&argv("SORT k BY store GET store LIMIT store store")),
        vec![1]
    );
    assert_eq!(sort_keys(&argv("SORT k STORE")), vec![1]);
    assert_eq!(sort_keys(&argv("SORT")), Vec::<usize>::new());
}

#[test]
fn limit_clamps_like_redis_7_0() {
    assert_eq!(limit_range(None, 3), (0, 3));
    assert_eq!(limit_range(Some((1, i64::MAX)), 3), (1, 3));
    assert_eq!(limit_range(Some((2, i64::MAX)), 3), (2, 3));
    assert_eq!(limit_range(Some((-5, 2)), 3), (0, 2));
    assert_eq!(limit_range(Some((5, 1)), 3), (0, 0));
    assert_eq!(limit_range(Some((1, 0)), 3), (0, 0));
    assert_eq!(limit_range(Some((1, -1)), 3), (1, 3));
    assert_eq!(limit_range(Some((0, 5)), 0), (0, 0));
}

#[test]
fn scores_parse_like_strtod() {
    for (text, value) in [
        ("", 0.0),
        (" 3", 3.0),
        ("0x10", 16.0),
        ("0x1p3", 8.0),
        ("-0x.8", -0.5),
        ("2.5", 2.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("+7", 7.0),
        ("-inf", f64::NEG_INFINITY),
        ("Infinity", f64::INFINITY),
        ("1\0junk", 1.0),
        ("1e-300", 1e-300),
    ] {
        assert_eq!(parse_score(text.as_bytes()), Some(value), "{text:?}");
    }
    for bad in [
        "1 ", "   ", "abc", "nan", "1e400", "1e-400", "1e-310", "0x", "+-1", "1e", ".",
    ] {
        assert_eq!(parse_score(bad.as_bytes()), None, "{bad:?}");
    }
}

#[test]
fn sorts_lists_numerically_and_alphabetically() {
    let mut f = Fixture::new();
    put_list(&mut f, "l", &["3", "10", "1", "2.5"]);
    assert_eq!(f.run("SORT l"), bulks(&["1", "2.5", "3", "10"]));
    assert_eq!(f.run("SORT l DESC"), bulks(&["10", "3", "2.5", "1"]));
    assert_eq!(f.run("SORT l ALPHA"), bulks(&["1", "10", "2.5", "3"]));
    assert_eq!(f.run("SORT l LIMIT 1 2"), bulks(&["2.5", "3"]));
    assert_eq!(f.run("SORT l BY nosort"), bulks(&["3", "10", "1", "2.5"]));
    assert_eq!(
        f.run("SORT l BY nosort DESC LIMIT 0 2"),
        bulks(&["2.5", "1"])
    );
    assert_eq!(f.run("SORT_RO l LIMIT 0 1"), bulks(&["1"]));
    put_list(&mut f, "words", &["b", "a"]);
    assert_eq!(
        f.run("SORT words"),
        err("ERR One or more scores can't be converted into double")
    );
    // Equal scores fall back to the elements' bytes.
    put_list(&mut f, "ties", &["b", "a", "c"]);
    assert_eq!(f.run("SORT ties BY nosuch_*"), bulks(&["a", "b", "c"]));
}

#[test]
fn by_and_get_patterns_read_strings_and_hash_fields() {
    let mut f = Fixture::new();
    put_list(&mut f, "l", &["x", "y", "z"]);
    f.set("w_x", b"3");
    f.set("w_y", b"1");
    f.set("w_z", b"2");
    f.set("name_x", b"ex");
    assert_eq!(f.run("SORT l BY w_*"), bulks(&["y", "z", "x"]));
    let reply = f.run("SORT l BY w_* GET # GET name_*");
    let expected = vec![
        bulk("y"),
        Reply::Null,
        bulk("z"),
        Reply::Null,
        bulk("x"),
        bulk("ex"),
    ];
    assert_eq!(reply, Reply::Array(expected));
    assert_eq!(f.run("SORT l BY w_* ALPHA DESC"), bulks(&["x", "z", "y"]));
    // A GET pattern without '*' finds nothing.
    assert_eq!(
        f.run("SORT l BY nosort GET fixed LIMIT 0 1"),
        Reply::Array(vec![Reply::Null])
    );
}

#[test]
fn store_writes_a_list_or_deletes_the_destination() {
    let mut f = Fixture::new();
    put_list(&mut f, "l", &["2", "1"]);
    f.set("v_1", b"one");
    assert_eq!(f.run("SORT l STORE dst"), int(2));
    assert_eq!(list_of(&mut f, "dst"), vec!["1", "2"]);
    assert_eq!(f.run("SORT l GET v_* STORE dst"), int(2));
    assert_eq!(list_of(&mut f, "dst"), vec!["one", ""]);
    assert_eq!(f.run("SORT missing STORE dst"), int(0));
    assert!(f.get("dst").is_none());
    assert_eq!(f.run("SORT_RO l STORE dst"), err("ERR syntax error"));
}

#[test]
fn sets_without_order_are_sorted_when_stored() {
    let mut f = Fixture::new();
    put_set(&mut f, "s", &["b", "c", "a"]);
    assert_eq!(f.run("SORT s ALPHA"), bulks(&["a", "b", "c"]));
    assert_eq!(f.run("SORT s BY nosort STORE d"), int(3));
    assert_eq!(list_of(&mut f, "d"), vec!["a", "b", "c"]);
}

#[test]
fn errors_come_in_redis_order() {
    let mut f = Fixture::new();
    f.set("str", b"x");
    assert_eq!(
        f.run("SORT str"),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(f.run("SORT str LIMIT"), err("ERR syntax error"));
    assert_eq!(
        f.run("SORT str LIMIT a 1"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(f.run("SORT missing FOO"), err("ERR syntax error"));
    assert_eq!(f.run("SORT missing"), Reply::Array(vec![]));
}

#[test]
fn sorted_sets_keep_rank_order_unless_sorted() {
    let mut f = Fixture::new();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let entries = [("c", 3.0), ("a", 1.0), ("b", 2.0), ("d", 0.0)]
        .iter()
        .map(|(member, score)| (Bytes::copy_from_slice(member.as_bytes()), *score))
        .collect();
    let zset = crate::keyspace::zset::ZSet::from_entries(entries, &mut rng);
    f.keyspace
        .db(0)
        .insert(b"z", Value::ZSet(Box::new(zset)), None);
    assert_eq!(f.run("SORT z BY nosort"), bulks(&["d", "a", "b", "c"]));
    assert_eq!(f.run("SORT z BY nosort DESC LIMIT 1 2"), bulks(&["b", "a"]));
    assert_eq!(f.run("SORT z ALPHA DESC"), bulks(&["d", "c", "b", "a"]));
}
