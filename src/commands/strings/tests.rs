//! Unit tests of the string commands: option parsing, index arithmetic and
//! each handler over a real keyspace. Expected replies were checked against
//! redis-server 7.0.15.

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::keyspace::Keyspace;

pub(crate) const NOW_MS: u64 = 1_700_000_000_000;

/// A one-shard keyspace and the state a `Ctx` borrows.
pub(crate) struct Fixture {
    pub keyspace: Keyspace,
    rng: ChaCha8Rng,
    pub proto_max_bulk_len: usize,
    pub shard_count: usize,
    pub db_index: usize,
}

impl Fixture {
    pub fn new() -> Fixture {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        Fixture {
            keyspace: Keyspace::new(16, &mut rng),
            rng,
            proto_max_bulk_len: 512 * 1024 * 1024,
            shard_count: 1,
            db_index: 0,
        }
    }

    /// Runs `argv` (command name first) through the table's handler.
    pub fn run(&mut self, argv: &[&str]) -> Reply {
        let table = super::super::Table::new();
        let spec = table.lookup(argv[0].as_bytes()).expect("known command");
        assert!(spec.arity_ok(argv.len()), "arity of {argv:?}");
        let super::super::Exec::Keyspace { handler, .. } = spec.exec else {
            panic!("not a keyspace command")
        };
        let mut ctx = Ctx {
            keyspace: &mut self.keyspace,
            db_index: self.db_index,
            now_ms: NOW_MS,
            now_us: NOW_MS * 1000,
            rng: &mut self.rng,
            shard_index: 0,
            shard_count: self.shard_count,
            proto_max_bulk_len: self.proto_max_bulk_len,
            loading: false,
        };
        let argv = argv.iter().map(|a| Bytes::copy_from_slice(a.as_bytes()));
        super::super::run(handler, &mut ctx, argv.collect())
    }
}

pub(crate) fn bulk(text: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

pub(crate) fn err(text: &str) -> Reply {
    Reply::error_string(text.to_owned())
}

fn options(words: &[&str], of: OptionsOf) -> Result<StringOptions, CommandError> {
    let mut argv = vec![Bytes::from_static(b"cmd")];
    argv.extend(words.iter().map(|w| Bytes::copy_from_slice(w.as_bytes())));
    parse_string_options(&mut Args::new(argv), of)
}

#[test]
fn set_options_allow_repeats_and_refuse_conflicts() {
    for ok in [
        &["nx", "nx"][..],
        &["get", "get"],
        &["ex", "1", "ex", "2"],
        &["keepttl", "KEEPTTL"],
    ] {
        assert!(options(ok, OptionsOf::Set).is_ok(), "{ok:?}");
    }
    for bad in [
        &["nx", "xx"][..],
        &["ex", "1", "px", "1"],
        &["ex", "1", "keepttl"],
        &["keepttl", "pxat", "1"],
        &["ex"],
        &["persist"],
        &["exat", "1", "ex", "1"],
    ] {
        assert_eq!(
            options(bad, OptionsOf::Set),
            Err(CommandError::Syntax),
            "{bad:?}"
        );
    }
}

#[test]
fn getex_options_refuse_set_only_words_and_conflicts() {
    assert!(options(&["persist"], OptionsOf::GetEx).is_ok());
    for bad in [
        &["nx"][..],
        &["get"],
        &["keepttl"],
        &["ex", "1", "persist"],
        &["persist", "ex", "1"],
    ] {
        assert_eq!(
            options(bad, OptionsOf::GetEx),
            Err(CommandError::Syntax),
            "{bad:?}"
        );
    }
}

#[test]
fn set_checks_syntax_before_expire_time() {
    let mut f = Fixture::new();
    assert_eq!(
        f.run(&["set", "k", "v", "ex", "0", "foo"]),
        err("ERR syntax error")
    );
    assert_eq!(
        f.run(&["set", "k", "v", "ex", "0"]),
        err("ERR invalid expire time in 'set' command")
    );
    assert_eq!(
        f.run(&["set", "k", "v", "ex", "10", "ex", "20"]),
        Reply::ok()
    );
    let expire = f
        .keyspace
        .db(0)
        .get(b"k", NOW_MS)
        .and_then(|e| e.expire_at_ms());
    assert_eq!(expire, Some(NOW_MS + 20_000));
}

#[test]
fn getrange_index_math_follows_redis() {
    assert_eq!(byte_range(5, 0, -1), Some((0, 4)));
    assert_eq!(byte_range(5, -3, -1), Some((2, 4)));
    assert_eq!(byte_range(5, -1, -3), None);
    assert_eq!(byte_range(5, 10, 20), None);
    assert_eq!(byte_range(5, -100, 100), Some((0, 4)));
    assert_eq!(byte_range(0, 0, -1), None);
    assert_eq!(byte_range(5, i64::MIN, i64::MAX), Some((0, 4)));
    assert_eq!(byte_range(5, 3, i64::MIN), None);
}

#[test]
fn counters_overflow_and_type_errors() {
    let mut f = Fixture::new();
    assert_eq!(f.run(&["incr", "n"]), Reply::Integer(1));
    assert_eq!(
        f.run(&["decrby", "n", "-9223372036854775808"]),
        err("ERR decrement would overflow")
    );
    f.run(&["set", "n", "9223372036854775807"]);
    assert_eq!(
        f.run(&["incr", "n"]),
        err("ERR increment or decrement would overflow")
    );
    f.run(&["set", "n", " 1"]);
    assert_eq!(
        f.run(&["incr", "n"]),
        err("ERR value is not an integer or out of range")
    );
    f.run(&["set", "f", "10.5"]);
    assert_eq!(f.run(&["incrbyfloat", "f", "0.1"]), bulk("10.6"));
    assert_eq!(
        f.run(&["incrbyfloat", "f", "inf"]),
        err("ERR increment would produce NaN or Infinity")
    );
    assert_eq!(
        f.run(&["incrbyfloat", "f", "x"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(f.run(&["incrbyfloat", "new", "3.0e3"]), bulk("3000"));
}

#[test]
fn counters_keep_the_ttl() {
    let mut f = Fixture::new();
    f.run(&["set", "n", "1", "px", "5000"]);
    f.run(&["incrby", "n", "41"]);
    f.run(&["append", "n", "0"]);
    let entry = f.keyspace.db(0).get(b"n", NOW_MS).cloned().expect("kept");
    assert_eq!(entry.expire_at_ms(), Some(NOW_MS + 5000));
    assert_eq!(entry.value, Value::String(Bytes::from_static(b"420")));
}

#[test]
fn setrange_and_append_respect_the_size_limit_before_allocating() {
    let mut f = Fixture::new();
    f.proto_max_bulk_len = 16;
    assert_eq!(
        f.run(&["setrange", "k", "-1", "x"]),
        err("ERR offset is out of range")
    );
    let too_long = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assert_eq!(f.run(&["setrange", "k", "16", "x"]), too_long);
    assert_eq!(
        f.run(&["setrange", "k", "9223372036854775807", "x"]),
        too_long
    );
    assert_eq!(f.run(&["setrange", "k", "15", "x"]), Reply::Integer(16));
    assert_eq!(f.run(&["append", "k", "y"]), too_long);
    assert_eq!(f.run(&["setrange", "missing", "5", ""]), Reply::Integer(0));
    assert_eq!(f.run(&["exists", "missing"]), Reply::Integer(0));
    f.run(&["set", "s", "Hello World"]);
    assert_eq!(f.run(&["setrange", "s", "6", "Redis"]), Reply::Integer(11));
    assert_eq!(f.run(&["get", "s"]), bulk("Hello Redis"));
}

#[test]
fn getex_past_absolute_time_deletes_and_persist_clears() {
    let mut f = Fixture::new();
    f.run(&["set", "k", "v", "ex", "100"]);
    assert_eq!(f.run(&["getex", "k", "persist"]), bulk("v"));
    assert_eq!(f.run(&["ttl", "k"]), Reply::Integer(-1));
    assert_eq!(f.run(&["getex", "missing", "ex", "-1"]), Reply::Null);
    assert_eq!(
        f.run(&["getex", "k", "ex", "-1"]),
        err("ERR invalid expire time in 'getex' command")
    );
    assert_eq!(f.run(&["getex", "k", "exat", "1"]), bulk("v"));
    assert_eq!(f.run(&["exists", "k"]), Reply::Integer(0));
}

#[test]
fn msetnx_is_all_or_nothing() {
    let mut f = Fixture::new();
    assert_eq!(f.run(&["msetnx", "a", "1", "b", "2"]), Reply::Integer(1));
    assert_eq!(f.run(&["msetnx", "c", "3", "a", "9"]), Reply::Integer(0));
    assert_eq!(f.run(&["exists", "c"]), Reply::Integer(0));
    assert_eq!(f.run(&["msetnx", "d", "1", "d", "2"]), Reply::Integer(1));
    assert_eq!(f.run(&["get", "d"]), bulk("2"));
}

#[test]
fn lcs_replies_and_option_errors() {
    let mut f = Fixture::new();
    f.run(&["mset", "a", "ohmytext", "b", "mynewtext"]);
    assert_eq!(f.run(&["lcs", "a", "b"]), bulk("mytext"));
    assert_eq!(f.run(&["lcs", "a", "b", "len"]), Reply::Integer(6));
    assert_eq!(f.run(&["lcs", "a", "missing"]), bulk(""));
    let range = |a: i64, b: i64| Reply::Array(vec![Reply::Integer(a), Reply::Integer(b)]);
    let expected = Reply::Map(vec![
        (
            bulk("matches"),
            Reply::Array(vec![Reply::Array(vec![
                range(4, 7),
                range(5, 8),
                Reply::Integer(4),
            ])]),
        ),
        (bulk("len"), Reply::Integer(6)),
    ]);
    assert_eq!(
        f.run(&["lcs", "a", "b", "idx", "minmatchlen", "4", "withmatchlen"]),
        expected
    );
    assert_eq!(
        f.run(&["lcs", "a", "b", "len", "idx"]),
        err("ERR If you want both the length and indexes, please just use IDX.")
    );
    assert_eq!(
        f.run(&["lcs", "a", "b", "minmatchlen"]),
        err("ERR syntax error")
    );
    assert_eq!(
        f.run(&["lcs", "a", "b", "minmatchlen", "x"]),
        err("ERR value is not an integer or out of range")
    );
}

#[test]
fn lcs_refuses_tables_beyond_the_cap() {
    let mut f = Fixture::new();
    let long = "a".repeat(5000);
    f.run(&["mset", "a", &long, "b", &long]);
    let reply = f.run(&["lcs", "a", "b", "len"]);
    assert!(
        matches!(&reply, Reply::Error(text) if text.starts_with(b"ERR Insufficient memory")),
        "{reply:?}"
    );
    f.proto_max_bulk_len = 1024;
    assert_eq!(
        f.run(&["lcs", "a", "b"]),
        err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    );
}
