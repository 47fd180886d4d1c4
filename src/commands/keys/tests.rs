//! Unit tests of the generic key commands over a real keyspace. Expected
//! replies were checked against redis-server 7.0.15.

use crate::commands::strings::tests::{bulk, err, Fixture, NOW_MS};
use crate::resp::Reply;
use crate::slot::SlotMap;

#[test]
fn expire_family_sets_deletes_and_refuses_overflow() {
    let mut f = Fixture::new();
    f.run(&["set", "k", "v"]);
    assert_eq!(f.run(&["expire", "k", "10", "gt"]), Reply::Integer(0));
    assert_eq!(f.run(&["expire", "k", "10", "lt"]), Reply::Integer(1));
    assert_eq!(f.run(&["pttl", "k"]), Reply::Integer(10_000));
    assert_eq!(f.run(&["expire", "k", "100", "lt"]), Reply::Integer(0));
    assert_eq!(f.run(&["expire", "k", "100", "xx"]), Reply::Integer(1));
    assert_eq!(
        f.run(&["expire", "k", "9223372036854775807"]),
        err("ERR invalid expire time in 'expire' command")
    );
    assert_eq!(
        f.run(&["pexpire", "k", "9223372036854775807"]),
        err("ERR invalid expire time in 'pexpire' command")
    );
    assert_eq!(f.run(&["expire", "missing", "10"]), Reply::Integer(0));
    assert_eq!(f.run(&["expire", "k", "0"]), Reply::Integer(1));
    assert_eq!(f.run(&["exists", "k"]), Reply::Integer(0));
    assert_eq!(f.run(&["ttl", "k"]), Reply::Integer(-2));
}

#[test]
fn ttl_readers_round_like_redis() {
    let mut f = Fixture::new();
    f.run(&["set", "k", "v"]);
    assert_eq!(f.run(&["ttl", "k"]), Reply::Integer(-1));
    let at_ms = (NOW_MS + 1500).to_string();
    f.run(&["pexpireat", "k", &at_ms]);
    assert_eq!(f.run(&["ttl", "k"]), Reply::Integer(2));
    assert_eq!(f.run(&["pttl", "k"]), Reply::Integer(1500));
    assert_eq!(
        f.run(&["expiretime", "k"]),
        Reply::Integer((NOW_MS as i64 + 1500 + 500) / 1000)
    );
    assert_eq!(
        f.run(&["pexpiretime", "k"]),
        Reply::Integer(NOW_MS as i64 + 1500)
    );
    assert_eq!(f.run(&["persist", "k"]), Reply::Integer(1));
    assert_eq!(f.run(&["persist", "k"]), Reply::Integer(0));
    assert_eq!(f.run(&["expiretime", "k"]), Reply::Integer(-1));
}

#[test]
fn rename_moves_value_and_ttl() {
    let mut f = Fixture::new();
    assert_eq!(f.run(&["rename", "missing", "x"]), err("ERR no such key"));
    assert_eq!(f.run(&["renamenx", "missing", "x"]), err("ERR no such key"));
    f.run(&["set", "a", "1", "ex", "100"]);
    assert_eq!(f.run(&["rename", "a", "a"]), Reply::ok());
    assert_eq!(f.run(&["renamenx", "a", "a"]), Reply::Integer(0));
    f.run(&["set", "b", "2"]);
    assert_eq!(f.run(&["renamenx", "a", "b"]), Reply::Integer(0));
    assert_eq!(f.run(&["rename", "a", "b"]), Reply::ok());
    assert_eq!(f.run(&["get", "b"]), bulk("1"));
    assert_eq!(f.run(&["ttl", "b"]), Reply::Integer(100));
    assert_eq!(f.run(&["exists", "a"]), Reply::Integer(0));
}

#[test]
fn copy_options_and_errors() {
    let mut f = Fixture::new();
    f.run(&["set", "a", "1"]);
    assert_eq!(
        f.run(&["copy", "a", "a"]),
        err("ERR source and destination objects are the same")
    );
    assert_eq!(
        f.run(&["copy", "a", "a", "db", "16"]),
        err("ERR DB index is out of range")
    );
    assert_eq!(
        f.run(&["copy", "a", "a", "db", "99999999999"]),
        err("ERR value is out of range, value must between -2147483648 and 2147483647")
    );
    assert_eq!(f.run(&["copy", "a", "a", "db"]), err("ERR syntax error"));
    assert_eq!(f.run(&["copy", "missing", "b"]), Reply::Integer(0));
    assert_eq!(f.run(&["copy", "a", "b"]), Reply::Integer(1));
    assert_eq!(f.run(&["copy", "a", "b"]), Reply::Integer(0));
    assert_eq!(f.run(&["copy", "a", "b", "replace"]), Reply::Integer(1));
    assert_eq!(f.run(&["copy", "a", "a", "db", "1"]), Reply::Integer(1));
    f.db_index = 1;
    assert_eq!(f.run(&["get", "a"]), bulk("1"));
}

#[test]
fn copy_to_another_db_across_shards_is_refused() {
    let mut f = Fixture::new();
    f.shard_count = 2;
    let slots = SlotMap::new(2);
    let other = (0..100)
        .map(|i| format!("k{i}"))
        .find(|k| slots.shard_of_key(k.as_bytes()) != slots.shard_of_key(b"a"))
        .expect("a key on the other shard");
    f.run(&["set", "a", "1"]);
    let reply = f.run(&["copy", "a", &other, "db", "1"]);
    assert!(matches!(reply, Reply::Error(_)), "{reply:?}");
    assert_eq!(f.run(&["copy", "a", &other]), Reply::Integer(1));
}

#[test]
fn swapdb_validates_indexes() {
    let mut f = Fixture::new();
    assert_eq!(
        f.run(&["swapdb", "x", "1"]),
        err("ERR invalid first DB index")
    );
    assert_eq!(
        f.run(&["swapdb", "1", "y"]),
        err("ERR invalid second DB index")
    );
    assert_eq!(
        f.run(&["swapdb", "99999999999", "0"]),
        err("ERR invalid first DB index")
    );
    assert_eq!(
        f.run(&["swapdb", "-1", "0"]),
        err("ERR DB index is out of range")
    );
    assert_eq!(
        f.run(&["swapdb", "0", "16"]),
        err("ERR DB index is out of range")
    );
    f.run(&["set", "a", "1"]);
    assert_eq!(f.run(&["swapdb", "0", "1"]), Reply::ok());
    assert_eq!(f.run(&["exists", "a"]), Reply::Integer(0));
    f.db_index = 1;
    assert_eq!(f.run(&["exists", "a"]), Reply::Integer(1));
}

#[test]
fn object_subcommands() {
    let mut f = Fixture::new();
    f.run(&["set", "n", "12"]);
    f.run(&["set", "s", "hello"]);
    assert_eq!(f.run(&["object", "encoding", "n"]), bulk("int"));
    assert_eq!(f.run(&["object", "ENCODING", "s"]), bulk("embstr"));
    assert_eq!(f.run(&["object", "encoding", "missing"]), Reply::Null);
    assert_eq!(
        f.run(&["object", "refcount", "n"]),
        Reply::Integer(2147483647)
    );
    assert_eq!(f.run(&["object", "refcount", "s"]), Reply::Integer(1));
    assert_eq!(
        f.run(&["object", "encoding"]),
        err("ERR wrong number of arguments for 'object|encoding' command")
    );
    assert_eq!(
        f.run(&["object", "foo"]),
        err("ERR unknown subcommand 'foo'. Try OBJECT HELP.")
    );
    let Reply::Array(lines) = f.run(&["object", "help"]) else {
        panic!("help is an array")
    };
    assert_eq!(lines.len(), 15);
    assert!(matches!(f.run(&["object", "freq", "n"]), Reply::Error(_)));
}

#[test]
fn touch_type_unlink_and_randomkey() {
    let mut f = Fixture::new();
    assert_eq!(f.run(&["randomkey"]), Reply::Null);
    f.run(&["mset", "a", "1", "b", "2"]);
    assert_eq!(f.run(&["touch", "a", "b", "c", "a"]), Reply::Integer(3));
    assert_eq!(f.run(&["type", "a"]), Reply::simple("string"));
    assert_eq!(f.run(&["type", "c"]), Reply::simple("none"));
    assert!(matches!(f.run(&["randomkey"]), Reply::Bulk(key) if key == "a" || key == "b"));
    assert_eq!(f.run(&["unlink", "a", "c"]), Reply::Integer(1));
}
