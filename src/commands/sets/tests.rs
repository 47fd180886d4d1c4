//! Unit tests of the set commands over a real keyspace. Expected replies
//! were checked against redis-server 7.0.15; tests/differential_sets.rs
//! compares against it live.

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::commands::{run, CommandSpec, Ctx, Exec};
use crate::keyspace::Keyspace;
use crate::resp::Reply;

/// A one-shard keyspace running the commands of one family.
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

    /// Runs a command written as space-separated words.
    pub fn run(&mut self, line: &str) -> Reply {
        let argv: Vec<Bytes> = line
            .split_whitespace()
            .map(|word| Bytes::copy_from_slice(word.as_bytes()))
            .collect();
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        let spec = self
            .commands
            .iter()
            .find(|spec| spec.name == name)
            .unwrap_or_else(|| panic!("unknown command {name}"));
        if !spec.arity_ok(argv.len()) {
            return crate::commands::arity_error(spec.name);
        }
        let Exec::Keyspace { handler, .. } = spec.exec else {
            panic!("not a keyspace command")
        };
        let mut ctx = Ctx {
            keyspace: &mut self.keyspace,
            db_index: 0,
            now_ms: 1_700_000_000_000,
            now_us: 1_700_000_000_000_000,
            rng: &mut self.rng,
            shard_index: 0,
            shard_count: 1,
            proto_max_bulk_len: 512 * 1024 * 1024,
            loading: false,
        };
        run(handler, &mut ctx, argv)
    }

    /// The encoding of the value under `key`.
    pub fn encoding(&mut self, key: &str) -> Option<&'static str> {
        self.keyspace
            .db(0)
            .get(key.as_bytes(), 1_700_000_000_000)
            .map(|entry| entry.value.encoding())
    }
}

pub(crate) fn bulk(text: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

pub(crate) fn bulks(texts: &[&str]) -> Vec<Reply> {
    texts.iter().map(|text| bulk(text)).collect()
}

pub(crate) fn error(text: &str) -> Reply {
    Reply::Error(Bytes::copy_from_slice(text.as_bytes()))
}

fn sets() -> Fixture {
    Fixture::new(super::COMMANDS)
}

#[test]
fn sadd_srem_scard_and_deletion_of_empty_sets() {
    let mut f = sets();
    assert_eq!(f.run("SADD s 3 1 2 1"), Reply::Integer(3));
    assert_eq!(f.encoding("s"), Some("intset"));
    assert_eq!(f.run("SMEMBERS s"), Reply::Set(bulks(&["1", "2", "3"])));
    assert_eq!(f.run("SCARD s"), Reply::Integer(3));
    assert_eq!(f.run("SREM s 1 2 3 4"), Reply::Integer(3));
    assert_eq!(f.encoding("s"), None);
    assert_eq!(f.run("SCARD s"), Reply::Integer(0));
    assert_eq!(f.run("SADD s a"), Reply::Integer(1));
    assert_eq!(f.encoding("s"), Some("hashtable"));
}

#[test]
fn wrong_type_and_arity() {
    let mut f = sets();
    f.run("SADD s a");
    f.keyspace.db(0).insert(
        b"str",
        crate::keyspace::Value::String(Bytes::from_static(b"x")),
        None,
    );
    let wrongtype = error("WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(f.run("SADD str a"), wrongtype);
    assert_eq!(f.run("SINTER s str"), wrongtype);
    assert_eq!(f.run("SINTER missing str"), wrongtype);
    assert_eq!(f.run("SMOVE missing str a"), Reply::Integer(0));
    assert_eq!(f.run("SMOVE s str a"), wrongtype);
    assert_eq!(
        f.run("SADD s"),
        error("ERR wrong number of arguments for 'sadd' command")
    );
}

#[test]
fn smove_moves_and_tests_membership() {
    let mut f = sets();
    f.run("SADD a 1 2");
    assert_eq!(f.run("SMOVE a a 1"), Reply::Integer(1));
    assert_eq!(f.run("SMOVE a a 9"), Reply::Integer(0));
    assert_eq!(f.run("SMOVE a b 1"), Reply::Integer(1));
    assert_eq!(f.encoding("b"), Some("intset"));
    assert_eq!(f.run("SMOVE a b 2"), Reply::Integer(1));
    assert_eq!(f.encoding("a"), None);
    assert_eq!(f.run("SMEMBERS b"), Reply::Set(bulks(&["1", "2"])));
}

#[test]
fn algebra_over_intsets_is_ascending() {
    let mut f = sets();
    f.run("SADD a 1 2 3 4");
    f.run("SADD b 4 3 2 x");
    assert_eq!(f.run("SINTER a b"), Reply::Set(bulks(&["2", "3", "4"])));
    assert_eq!(f.run("SDIFF a b"), Reply::Set(bulks(&["1"])));
    assert_eq!(f.run("SINTERCARD 2 a b LIMIT 2"), Reply::Integer(2));
    assert_eq!(f.run("SINTERSTORE d a b"), Reply::Integer(3));
    assert_eq!(f.encoding("d"), Some("intset"));
    assert_eq!(f.run("SUNIONSTORE d a b"), Reply::Integer(5));
    assert_eq!(f.encoding("d"), Some("hashtable"));
    assert_eq!(f.run("SDIFFSTORE d a a"), Reply::Integer(0));
    assert_eq!(f.encoding("d"), None);
    assert_eq!(f.run("SINTER a missing"), Reply::Set(vec![]));
}

#[test]
fn sintercard_errors_match_redis() {
    let mut f = sets();
    assert_eq!(
        f.run("SINTERCARD 0 a"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        f.run("SINTERCARD x a"),
        error("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        f.run("SINTERCARD 2 a"),
        error("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        f.run("SINTERCARD 1 a LIMIT -1"),
        error("ERR LIMIT can't be negative")
    );
    assert_eq!(f.run("SINTERCARD 1 a LIMIT"), error("ERR syntax error"));
}

#[test]
fn random_commands_shapes() {
    let mut f = sets();
    f.run("SADD s 1 2 3");
    assert_eq!(
        f.run("SRANDMEMBER s 5"),
        Reply::Array(bulks(&["1", "2", "3"]))
    );
    let Reply::Array(picks) = f.run("SRANDMEMBER s -7") else {
        panic!()
    };
    assert_eq!(picks.len(), 7);
    let Reply::Array(picks) = f.run("SRANDMEMBER s 2") else {
        panic!()
    };
    assert_eq!(picks.len(), 2);
    assert_ne!(picks[0], picks[1]);
    assert_eq!(
        f.run("SRANDMEMBER s -9223372036854775808"),
        error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        f.run("SRANDMEMBER s -4611686018427387904"),
        error(super::random::RANDOM_REPEATS_ERROR)
    );
    assert_eq!(
        f.run("SPOP s -1"),
        error("ERR value is out of range, must be positive")
    );
    assert_eq!(f.run("SPOP s 0"), Reply::Set(vec![]));
    let Reply::Set(popped) = f.run("SPOP s 2") else {
        panic!()
    };
    assert_eq!(popped.len(), 2);
    assert!(matches!(f.run("SPOP s"), Reply::Bulk(_)));
    assert_eq!(f.encoding("s"), None);
    assert_eq!(f.run("SPOP s"), Reply::Null);
}

#[test]
fn sscan_walks_a_hashtable_completely() {
    let mut f = sets();
    for index in 0..200 {
        f.run(&format!("SADD s m{index}"));
    }
    let mut cursor = "0".to_string();
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let Reply::Array(parts) = f.run(&format!("SSCAN s {cursor} COUNT 7")) else {
            panic!()
        };
        let (Reply::Bulk(next), Reply::Array(members)) = (&parts[0], &parts[1]) else {
            panic!()
        };
        seen.extend(members.iter().map(|m| format!("{m:?}")));
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 200);
    assert_eq!(f.run("SSCAN s 0 COUNT 0"), error("ERR syntax error"));
    assert_eq!(f.run("SSCAN s x"), error("ERR invalid cursor"));
    assert_eq!(
        f.run("SSCAN missing 0 COUNT 0"),
        Reply::Array(vec![bulk("0"), Reply::Array(vec![])])
    );
}

#[test]
fn collection_cursor_parses_like_strtoul() {
    use super::random::parse_collection_cursor as parse;
    assert_eq!(parse(b"0"), Ok(0));
    assert_eq!(parse(b""), Ok(0));
    assert_eq!(parse(b"+5"), Ok(5));
    assert_eq!(parse(b"-1"), Ok(u64::MAX));
    assert_eq!(parse(b"18446744073709551615"), Ok(u64::MAX));
    assert!(parse(b"18446744073709551616").is_err());
    assert!(parse(b" 1").is_err());
    assert!(parse(b"1x").is_err());
    assert!(parse(b"-").is_err());
}

#[test]
fn key_finder_reads_numkeys() {
    let argv: Vec<Bytes> = ["sintercard", "2", "a", "b", "LIMIT", "1"]
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    assert_eq!(super::keys_after_numkeys_at_1(&argv), vec![2, 3]);
    assert_eq!(
        super::keys_after_numkeys(&argv[..3], 1),
        Vec::<usize>::new()
    );
    assert_eq!(super::keys_after_numkeys(&argv, 5), Vec::<usize>::new());
}
