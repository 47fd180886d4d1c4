//! Unit tests of the list commands over a real keyspace. Expected replies
//! were checked against redis-server 7.0.15; tests/differential_lists.rs
//! compares against it live.

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::commands::Exec;
use crate::keyspace::Keyspace;

pub(crate) const NOW_MS: u64 = 1_700_000_000_000;

/// A one-shard keyspace and the state a `Ctx` borrows; runs commands of one
/// family's `COMMANDS` slice (so it works whatever the table registers).
pub(crate) struct Fixture {
    pub keyspace: Keyspace,
    rng: ChaCha8Rng,
    commands: &'static [CommandSpec],
}

impl Fixture {
    pub fn new(commands: &'static [CommandSpec]) -> Fixture {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        Fixture {
            keyspace: Keyspace::new(1, &mut rng),
            rng,
            commands,
        }
    }

    /// Runs `line` (space-separated words, command first) through its handler.
    pub fn run(&mut self, line: &str) -> Reply {
        let argv: Vec<&str> = line.split(' ').collect();
        self.run_argv(&argv)
    }

    pub fn run_argv(&mut self, argv: &[&str]) -> Reply {
        let spec = self
            .commands
            .iter()
            .find(|spec| spec.name.eq_ignore_ascii_case(argv[0]))
            .expect("a command of this family");
        if !spec.arity_ok(argv.len()) {
            return crate::commands::arity_error(spec.name);
        }
        let Exec::Keyspace { handler, .. } = spec.exec else {
            panic!("not a keyspace command")
        };
        let mut ctx = Ctx {
            keyspace: &mut self.keyspace,
            db_index: 0,
            now_ms: NOW_MS,
            now_us: NOW_MS * 1000,
            rng: &mut self.rng,
            shard_index: 0,
            shard_count: 1,
            proto_max_bulk_len: 512 * 1024 * 1024,
            loading: false,
        };
        let argv = argv.iter().map(|a| Bytes::copy_from_slice(a.as_bytes()));
        crate::commands::run(handler, &mut ctx, argv.collect())
    }

    /// Stores a string under `key` (for WRONGTYPE checks).
    pub fn set_string(&mut self, key: &str) {
        self.keyspace.db(0).insert(
            key.as_bytes(),
            Value::String(Bytes::from_static(b"x")),
            None,
        );
    }

    pub fn exists(&mut self, key: &str) -> bool {
        self.keyspace.db(0).contains(key.as_bytes(), NOW_MS)
    }
}

pub(crate) fn bulk(text: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

pub(crate) fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|item| bulk(item)).collect())
}

pub(crate) fn err(text: &str) -> Reply {
    Reply::error_string(text.to_owned())
}

pub(crate) fn ints(items: &[i64]) -> Reply {
    Reply::Array(items.iter().map(|&item| Reply::Integer(item)).collect())
}

fn fixture() -> Fixture {
    Fixture::new(COMMANDS)
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn pushes_build_lists_in_redis_order() {
    let mut f = fixture();
    assert_eq!(f.run("LPUSH l a b c"), Reply::Integer(3));
    assert_eq!(f.run("RPUSH l d"), Reply::Integer(4));
    assert_eq!(f.run("LRANGE l 0 -1"), bulks(&["c", "b", "a", "d"]));
    assert_eq!(f.run("LPUSHX nokey a"), Reply::Integer(0));
    assert!(!f.exists("nokey"));
    assert_eq!(f.run("RPUSHX l e f"), Reply::Integer(6));
    f.set_string("s");
    assert_eq!(f.run("LPUSH s a"), err(WRONGTYPE));
    assert_eq!(f.run("LPUSHX s a"), err(WRONGTYPE));
}

#[test]
fn pops_with_and_without_count() {
    let mut f = fixture();
    f.run("RPUSH l a b c d e");
    assert_eq!(f.run("LPOP l"), bulk("a"));
    assert_eq!(f.run("RPOP l 2"), bulks(&["e", "d"]));
    assert_eq!(f.run("LPOP l 0"), Reply::Array(vec![]));
    assert_eq!(f.run("LPOP nokey"), Reply::Null);
    assert_eq!(f.run("LPOP nokey 3"), Reply::NullArray);
    let positive = "ERR value is out of range, must be positive";
    assert_eq!(f.run("LPOP l -1"), err(positive));
    assert_eq!(f.run("LPOP l abc"), err(positive));
    assert_eq!(
        f.run("LPOP l 1 2"),
        err("ERR wrong number of arguments for 'lpop' command")
    );
    assert_eq!(f.run("LPOP l 9223372036854775807"), bulks(&["b", "c"]));
    assert!(!f.exists("l"), "an emptied list is deleted");
}

#[test]
fn indexes_and_ranges() {
    let mut f = fixture();
    f.run("RPUSH l a b c");
    assert_eq!(f.run("LINDEX l -1"), bulk("c"));
    assert_eq!(f.run("LINDEX l 3"), Reply::Null);
    assert_eq!(f.run("LINDEX nokey abc"), Reply::Null);
    assert_eq!(
        f.run("LINDEX l abc"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(f.run("LSET l -1 z"), Reply::ok());
    assert_eq!(f.run("LSET l 5 z"), err("ERR index out of range"));
    assert_eq!(f.run("LSET nokey 0 z"), err("ERR no such key"));
    assert_eq!(f.run("LRANGE l -100 100"), bulks(&["a", "b", "z"]));
    assert_eq!(f.run("LRANGE l 2 1"), bulks(&[]));
    assert_eq!(f.run("LLEN l"), Reply::Integer(3));
    assert_eq!(f.run("LLEN nokey"), Reply::Integer(0));
    assert_eq!(f.run("LTRIM l 1 -1"), Reply::ok());
    assert_eq!(f.run("LRANGE l 0 -1"), bulks(&["b", "z"]));
    assert_eq!(f.run("LTRIM l 5 10"), Reply::ok());
    assert!(!f.exists("l"));
    assert_eq!(f.run("LTRIM nokey 0 1"), Reply::ok());
}

#[test]
fn insert_and_remove() {
    let mut f = fixture();
    f.run("RPUSH l a b a c a");
    assert_eq!(f.run("LINSERT l BEFORE b x"), Reply::Integer(6));
    assert_eq!(f.run("LINSERT l after c y"), Reply::Integer(7));
    assert_eq!(f.run("LINSERT l before zz y"), Reply::Integer(-1));
    assert_eq!(f.run("LINSERT nokey before zz y"), Reply::Integer(0));
    assert_eq!(f.run("LINSERT l middle b y"), err("ERR syntax error"));
    assert_eq!(
        f.run("LRANGE l 0 -1"),
        bulks(&["a", "x", "b", "a", "c", "y", "a"])
    );
    assert_eq!(f.run("LREM l -2 a"), Reply::Integer(2));
    assert_eq!(f.run("LRANGE l 0 -1"), bulks(&["a", "x", "b", "c", "y"]));
    assert_eq!(f.run("LREM l 0 zz"), Reply::Integer(0));
    assert_eq!(
        f.run("LREM l x a"),
        err("ERR value is not an integer or out of range")
    );
}

#[test]
fn lpos_options_follow_redis() {
    let mut f = fixture();
    f.run("RPUSH l a b a c a");
    assert_eq!(f.run("LPOS l a"), Reply::Integer(0));
    assert_eq!(f.run("LPOS l a RANK 2"), Reply::Integer(2));
    assert_eq!(f.run("LPOS l a RANK -1"), Reply::Integer(4));
    assert_eq!(f.run("LPOS l a COUNT 0"), ints(&[0, 2, 4]));
    assert_eq!(f.run("LPOS l a RANK -2 COUNT 2 MAXLEN 3"), ints(&[2]));
    assert_eq!(f.run("LPOS l a COUNT 0 MAXLEN 2"), ints(&[0]));
    assert_eq!(f.run("LPOS l a RANK 2 MAXLEN 2"), Reply::Null);
    assert_eq!(
        f.run("LPOS l a RANK -9223372036854775808 COUNT 1"),
        ints(&[4, 2, 0])
    );
    assert_eq!(f.run("LPOS l zz"), Reply::Null);
    assert_eq!(f.run("LPOS l zz COUNT 2"), ints(&[]));
    assert_eq!(f.run("LPOS nokey a COUNT 2"), ints(&[]));
    assert_eq!(
        f.run("LPOS l a COUNT -1"),
        err("ERR COUNT can't be negative")
    );
    assert_eq!(
        f.run("LPOS l a MAXLEN x"),
        err("ERR MAXLEN can't be negative")
    );
    assert_eq!(f.run("LPOS l a RANK"), err("ERR syntax error"));
    assert!(
        matches!(f.run("LPOS l a RANK 0"), Reply::Error(text) if text.starts_with(b"ERR RANK can't be zero"))
    );
}

#[test]
fn lmove_rotates_and_moves() {
    let mut f = fixture();
    f.run("RPUSH l a b c");
    assert_eq!(f.run("LMOVE l l LEFT RIGHT"), bulk("a"));
    assert_eq!(f.run("LRANGE l 0 -1"), bulks(&["b", "c", "a"]));
    assert_eq!(f.run("RPOPLPUSH l other"), bulk("a"));
    assert_eq!(f.run("LMOVE l other right left"), bulk("c"));
    assert_eq!(f.run("LRANGE other 0 -1"), bulks(&["c", "a"]));
    assert_eq!(f.run("LMOVE nokey l left left"), Reply::Null);
    assert_eq!(f.run("LMOVE l l up left"), err("ERR syntax error"));
    f.set_string("s");
    assert_eq!(f.run("LMOVE nokey s left left"), Reply::Null);
    assert_eq!(f.run("LMOVE l s left left"), err(WRONGTYPE));
    assert_eq!(f.run("LMOVE s l left left"), err(WRONGTYPE));
    assert_eq!(f.run("LLEN l"), Reply::Integer(1));
    assert_eq!(f.run("LMOVE l other left left"), bulk("b"));
    assert!(!f.exists("l"));
}

#[test]
fn lmove_on_one_element_keeps_the_key_and_ttl() {
    let mut f = fixture();
    f.run("RPUSH one x");
    f.keyspace
        .db(0)
        .set_expiry(b"one", Some(NOW_MS + 5000), NOW_MS);
    assert_eq!(f.run("LMOVE one one LEFT RIGHT"), bulk("x"));
    let entry = f.keyspace.db(0).get(b"one", NOW_MS).cloned().unwrap();
    assert_eq!(entry.expire_at_ms(), Some(NOW_MS + 5000));
}

#[test]
fn lmpop_parses_like_redis() {
    let mut f = fixture();
    f.run("RPUSH b 1 2 3");
    assert_eq!(
        f.run("LMPOP 2 a b LEFT"),
        Reply::Array(vec![bulk("b"), bulks(&["1"])])
    );
    assert_eq!(
        f.run("LMPOP 2 a b right COUNT 10"),
        Reply::Array(vec![bulk("b"), bulks(&["3", "2"])])
    );
    assert_eq!(f.run("LMPOP 2 a b LEFT"), Reply::NullArray);
    let numkeys = err("ERR numkeys should be greater than 0");
    assert_eq!(f.run("LMPOP 0 a LEFT"), numkeys);
    assert_eq!(f.run("LMPOP x a LEFT"), numkeys);
    assert_eq!(f.run("LMPOP 3 a LEFT"), err("ERR syntax error"));
    assert_eq!(
        f.run("LMPOP 9223372036854775807 a LEFT"),
        err("ERR syntax error")
    );
    assert_eq!(f.run("LMPOP 1 a MIDDLE"), err("ERR syntax error"));
    let count = err("ERR count should be greater than 0");
    assert_eq!(f.run("LMPOP 1 a LEFT COUNT 0"), count);
    assert_eq!(f.run("LMPOP 1 a LEFT COUNT x"), count);
    assert_eq!(
        f.run("LMPOP 1 a LEFT COUNT 1 COUNT 2"),
        err("ERR syntax error")
    );
    assert_eq!(f.run("LMPOP 1 a LEFT COUNT"), err("ERR syntax error"));
    f.set_string("s");
    f.run("RPUSH l v");
    assert_eq!(f.run("LMPOP 2 s l LEFT"), err(WRONGTYPE));
    assert_eq!(
        f.run("LMPOP 2 l s LEFT"),
        Reply::Array(vec![bulk("l"), bulks(&["v"])])
    );
}

#[test]
fn lmpop_key_finder_reads_numkeys() {
    let argv = |line: &str| -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    };
    assert_eq!(lmpop_keys(&argv("LMPOP 2 a b LEFT")), vec![2, 3]);
    assert_eq!(lmpop_keys(&argv("LMPOP 2 a b LEFT COUNT 3")), vec![2, 3]);
    assert_eq!(lmpop_keys(&argv("LMPOP 3 a b LEFT")), Vec::<usize>::new());
    assert_eq!(lmpop_keys(&argv("LMPOP 0 a LEFT")), Vec::<usize>::new());
    assert_eq!(lmpop_keys(&argv("LMPOP -1 a LEFT")), Vec::<usize>::new());
    assert_eq!(
        lmpop_keys(&argv("LMPOP 9223372036854775807 a LEFT")),
        Vec::<usize>::new()
    );
    assert_eq!(lmpop_keys(&argv("LMPOP")), Vec::<usize>::new());
}

#[test]
fn stored_elements_do_not_share_the_argument_buffer() {
    let mut f = fixture();
    f.run("RPUSH l element");
    let Some(Value::List(list)) = f.keyspace.db(0).get(b"l", NOW_MS).map(|e| e.value.clone())
    else {
        panic!("a list")
    };
    assert!(list.get(0).is_some_and(|item| item.as_ref() == b"element"));
}

#[test]
fn no_op_writes_do_not_create_keys() {
    let mut f = fixture();
    for line in [
        "LPUSHX k a",
        "RPUSHX k a",
        "LTRIM k 0 1",
        "LREM k 0 a",
        "LINSERT k BEFORE a b",
    ] {
        f.run(line);
        assert!(!f.exists("k"), "{line}");
    }
}
