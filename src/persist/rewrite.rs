//! An entry as the commands that recreate it: the building block of an AOF
//! rewrite (Redis's `rewriteAppendOnlyFile`, `aof.c`).
//!
//! [`entry_commands`] turns one key's [`Entry`] into argv vectors — `SET`,
//! `RPUSH`, `HSET`, `SADD` or `ZADD`, then `PEXPIREAT` when the key has a
//! TTL — which, run in order through the ordinary command handlers against a
//! database where the key does not exist, rebuild the same entry. Collections
//! are split into commands of at most [`REWRITE_ITEMS_PER_COMMAND`] elements,
//! as Redis's `AOF_REWRITE_ITEMS_PER_CMD`, so no single command in a rewritten
//! log is larger than a client could have sent.
//!
//! What "the same entry" means: the same elements, element order where the
//! type has one (lists; a `listpack` hash's insertion order, which HSET in
//! iteration order reproduces), the same scores to the bit, and the same
//! expire time. The encoding is chosen afresh by the commands, exactly as
//! Redis does on replay: a `hashtable` hash or a `skiplist` sorted set that
//! has shrunk comes back in its small encoding, and a sorted set rebuilt as
//! a `listpack` stores a `-0` score as `0` (see [`crate::keyspace::zset`]).
//!
//! Pure: no I/O, no clock. The caller skips expired entries ([`Db::iter`]
//! does) — replaying `PEXPIREAT` with a past time would delete the key, as
//! Redis does.
//!
//! [`Db::iter`]: crate::keyspace::Db::iter

use bytes::Bytes;

use crate::keyspace::{Entry, Value};
use crate::resp::reply::format_double;

/// Most elements (list items, set members, hash field–value pairs, sorted
/// set score–member pairs) one rewritten command carries. Redis:
/// `AOF_REWRITE_ITEMS_PER_CMD` in `server.h`, 64.
pub const REWRITE_ITEMS_PER_COMMAND: usize = 64;

/// Appends to `out` the commands that recreate `entry` under `key` in a
/// database where `key` does not exist: one `SET` for a string; `RPUSH`,
/// `HSET`, `SADD` or `ZADD` commands of at most
/// [`REWRITE_ITEMS_PER_COMMAND`] elements each for a collection; then
/// `PEXPIREAT key <unix ms>` if the entry has a TTL.
///
/// Sorted set scores are written with [`format_double`] (Redis's `%.17g`,
/// `inf`, `-inf`, `-0`), which ZADD parses back to the same `f64` bits.
///
/// Panics if `entry` holds an empty collection: the keyspace never stores
/// one, and its commands could not be replayed (`RPUSH key` with no
/// element is an arity error).
pub fn entry_commands(key: &Bytes, entry: &Entry, out: &mut Vec<Vec<Bytes>>) {
    match &entry.value {
        Value::String(bytes) => {
            out.push(vec![Bytes::from_static(b"SET"), key.clone(), bytes.clone()])
        }
        Value::List(list) => {
            assert!(!list.is_empty(), "an empty list is never stored");
            push_chunked(out, b"RPUSH", key, 1, list.iter().cloned());
        }
        Value::Hash(hash) => {
            assert!(!hash.is_empty(), "an empty hash is never stored");
            let fields = hash.iter().flat_map(|(field, value)| {
                [Bytes::copy_from_slice(field), Bytes::copy_from_slice(value)]
            });
            push_chunked(out, b"HSET", key, 2, fields);
        }
        Value::Set(set) => {
            assert!(!set.is_empty(), "an empty set is never stored");
            push_chunked(out, b"SADD", key, 1, set.iter());
        }
        Value::ZSet(zset) => {
            assert!(!zset.is_empty(), "an empty sorted set is never stored");
            let pairs = zset
                .iter()
                .flat_map(|(member, score)| [score_text(score), member]);
            push_chunked(out, b"ZADD", key, 2, pairs);
        }
    }
    if let Some(expire_at_ms) = entry.expire_at_ms() {
        out.push(vec![
            Bytes::from_static(b"PEXPIREAT"),
            key.clone(),
            Bytes::from(expire_at_ms.to_string()),
        ]);
    }
}

/// Pushes `command key args...` commands carrying at most
/// [`REWRITE_ITEMS_PER_COMMAND`] elements each, where one element is
/// `args_per_item` consecutive arguments (2 for a hash's field and value or
/// a sorted set's score and member).
fn push_chunked(
    out: &mut Vec<Vec<Bytes>>,
    command: &'static [u8],
    key: &Bytes,
    args_per_item: usize,
    args: impl Iterator<Item = Bytes>,
) {
    let args_max = REWRITE_ITEMS_PER_COMMAND * args_per_item;
    let start = || {
        let mut argv = Vec::with_capacity(2 + args_max);
        argv.push(Bytes::from_static(command));
        argv.push(key.clone());
        argv
    };
    let mut argv = start();
    for arg in args {
        if argv.len() == 2 + args_max {
            out.push(std::mem::replace(&mut argv, start()));
        }
        argv.push(arg);
    }
    assert!(argv.len() > 2, "a collection with elements gives arguments");
    assert_eq!((argv.len() - 2) % args_per_item, 0, "whole items only");
    out.push(argv);
}

/// A score as ZADD reads it back exactly: [`format_double`]'s text.
fn score_text(score: f64) -> Bytes {
    let mut text = Vec::new();
    format_double(score, &mut text);
    Bytes::from(text)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::commands::{run, Ctx, Exec, Table};
    use crate::keyspace::hash::Hash;
    use crate::keyspace::list::{End, List};
    use crate::keyspace::set::Set;
    use crate::keyspace::zset::ZSet;
    use crate::keyspace::Keyspace;
    use crate::resp::Reply;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Wall-clock time the replayed commands run at (Unix ms).
    const NOW_MS: u64 = 1_700_000_000_000;

    /// Runs `commands` through the real handlers on a fresh one-database
    /// keyspace, asserting none of them fails.
    fn replay(commands: &[Vec<Bytes>]) -> Keyspace {
        let table = Table::new();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut keyspace = Keyspace::new(1, &mut rng);
        for argv in commands {
            let spec = table
                .lookup(&argv[0])
                .expect("rewrite emits known commands");
            let Exec::Keyspace { handler, .. } = spec.exec else {
                panic!("{:?} is not a keyspace command", argv[0]);
            };
            let mut ctx = Ctx {
                keyspace: &mut keyspace,
                db_index: 0,
                now_ms: NOW_MS,
                now_us: NOW_MS * 1000,
                rng: &mut rng,
                shard_index: 0,
                shard_count: 1,
                proto_max_bulk_len: 512 * 1024 * 1024,
                loading: false,
            };
            let reply = run(handler, &mut ctx, argv.clone());
            assert!(!matches!(reply, Reply::Error(_)), "{argv:?} → {reply:?}");
        }
        keyspace
    }

    /// Rewrites `entry`, checks the shape of the commands, replays them and
    /// asserts the rebuilt entry equals the original.
    fn assert_recreates(key: &[u8], entry: &Entry) {
        let key = Bytes::copy_from_slice(key);
        let mut commands = Vec::new();
        entry_commands(&key, entry, &mut commands);
        let (items, args_per_item) = match &entry.value {
            Value::String(_) => (1, 1),
            Value::List(list) => (list.len(), 1),
            Value::Hash(hash) => (hash.len(), 2),
            Value::Set(set) => (set.len(), 1),
            Value::ZSet(zset) => (zset.len(), 2),
        };
        let ttl_commands = usize::from(entry.expire_at_ms().is_some());
        let value_commands = items.div_ceil(REWRITE_ITEMS_PER_COMMAND);
        assert_eq!(commands.len(), value_commands + ttl_commands);
        for argv in &commands[..value_commands] {
            assert_eq!(argv[1], key);
            assert!(argv.len() <= 2 + REWRITE_ITEMS_PER_COMMAND * args_per_item);
        }
        let mut keyspace = replay(&commands);
        let rebuilt = keyspace
            .db(0)
            .get(&key, NOW_MS)
            .expect("the commands create the key")
            .clone();
        assert_eq!(rebuilt.expire_at_ms(), entry.expire_at_ms(), "TTL");
        assert_eq!(
            rebuilt.value.canonical(),
            entry.value.canonical(),
            "content of {key:?}"
        );
        if rebuilt.value.encoding() == entry.value.encoding() {
            // Same encoding: the types' own equality also holds (for a
            // listpack hash it checks the field order clients see).
            assert_eq!(rebuilt.value, entry.value);
        }
    }

    pub(crate) fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(1)
    }

    /// `count` distinct binary elements: NUL, CR, LF and 0xFF included.
    pub(crate) fn elements(count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|index| {
                let mut element = vec![0, b'\r', b'\n', 0xFF];
                element.extend_from_slice(&(index as u32).to_le_bytes());
                element
            })
            .collect()
    }

    pub(crate) fn list_of(count: usize) -> Value {
        let mut list = List::new();
        for element in elements(count) {
            list.push(End::Tail, Bytes::from(element));
        }
        Value::List(Box::new(list))
    }

    pub(crate) fn hash_of(count: usize, value_bytes: usize) -> Value {
        let mut hash = Hash::new();
        for (index, field) in elements(count).into_iter().enumerate() {
            let value = vec![index as u8; value_bytes];
            hash.insert(&field, &value, &mut rng());
        }
        Value::Hash(Box::new(hash))
    }

    pub(crate) fn set_of(members: &[Vec<u8>]) -> Value {
        let mut set = Set::new();
        for member in members {
            set.insert(member, &mut rng());
        }
        Value::Set(Box::new(set))
    }

    pub(crate) fn zset_of(pairs: &[(Vec<u8>, f64)]) -> Value {
        let mut zset = ZSet::new();
        for (member, score) in pairs {
            zset.set_score(member, *score, &mut rng());
        }
        Value::ZSet(Box::new(zset))
    }

    /// The collection sizes around the 64-per-command split.
    const SIZES: [usize; 6] = [1, 2, 63, 64, 65, 200];

    #[test]
    fn strings_round_trip() {
        for value in [&b""[..], b"v", b"\x00\r\n\xff", b"12345", &[b'x'; 1000]] {
            let entry = Entry::new(Value::String(Bytes::copy_from_slice(value)), None);
            assert_recreates(b"\x00binary\xffkey", &entry);
        }
    }

    #[test]
    fn lists_round_trip_across_the_split() {
        for count in SIZES {
            assert_recreates(b"list", &Entry::new(list_of(count), None));
        }
    }

    #[test]
    fn hashes_round_trip_in_both_encodings() {
        for count in SIZES.into_iter().chain([513, 600]) {
            assert_recreates(b"small", &Entry::new(hash_of(count, 3), None));
            assert_recreates(b"wide", &Entry::new(hash_of(count, 65), None));
        }
    }

    #[test]
    fn a_shrunken_hashtable_hash_comes_back_with_its_pairs() {
        let Value::Hash(mut hash) = hash_of(600, 3) else {
            unreachable!()
        };
        for field in elements(600).iter().skip(3) {
            hash.remove(field);
        }
        assert_eq!(hash.encoding(), "hashtable");
        assert_recreates(b"h", &Entry::new(Value::Hash(hash), None));
    }

    #[test]
    fn sets_round_trip_in_both_encodings() {
        for count in SIZES.into_iter().chain([512, 513]) {
            let integers: Vec<Vec<u8>> = (0..count as i64)
                .map(|i| ((i - 100) * 1_000_003).to_string().into_bytes())
                .collect();
            let value = set_of(&integers);
            assert_eq!(
                value.encoding(),
                if count <= 512 { "intset" } else { "hashtable" }
            );
            assert_recreates(b"ints", &Entry::new(value, None));
            assert_recreates(b"binary", &Entry::new(set_of(&elements(count)), None));
        }
    }

    #[test]
    fn sorted_sets_round_trip_across_the_split() {
        for count in SIZES.into_iter().chain([128, 129]) {
            let pairs: Vec<(Vec<u8>, f64)> = elements(count)
                .into_iter()
                .enumerate()
                .map(|(index, member)| (member, index as f64 * 0.1 - 3.0))
                .collect();
            assert_recreates(b"z", &Entry::new(zset_of(&pairs), None));
        }
    }

    /// Scores ZADD must read back to the same bits.
    const AWKWARD_SCORES: [f64; 12] = [
        f64::NEG_INFINITY,
        f64::INFINITY,
        -0.0,
        0.0,
        0.1,
        1e300,
        -1e-300,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        9_007_199_254_740_993.0,
        -123_456_789.987_654_33,
    ];

    #[test]
    fn awkward_scores_round_trip_to_the_bit() {
        // Members longer than 64 bytes make both sets skiplists from their
        // first member, and a skiplist keeps the sign of -0.
        let pairs: Vec<(Vec<u8>, f64)> = AWKWARD_SCORES
            .iter()
            .enumerate()
            .map(|(index, &score)| (vec![index as u8; 70], score))
            .collect();
        let entry = Entry::new(zset_of(&pairs), None);
        let key = Bytes::from_static(b"z");
        let mut commands = Vec::new();
        entry_commands(&key, &entry, &mut commands);
        let mut keyspace = replay(&commands);
        let Some(Value::ZSet(rebuilt)) = keyspace.db(0).get(b"z", NOW_MS).map(|e| &e.value) else {
            panic!("a sorted set")
        };
        assert_eq!(rebuilt.encoding(), "skiplist");
        for (member, score) in &pairs {
            let back = rebuilt.score(member).expect("member present");
            assert_eq!(back.to_bits(), score.to_bits(), "score {score:e}");
        }
    }

    #[test]
    fn scores_are_written_as_replies_write_them() {
        let text = |score| score_text(score).to_vec();
        assert_eq!(text(f64::NEG_INFINITY), b"-inf");
        assert_eq!(text(f64::INFINITY), b"inf");
        assert_eq!(text(-0.0), b"-0");
        assert_eq!(text(0.1), b"0.10000000000000001");
    }

    #[test]
    fn ttl_becomes_pexpireat_after_the_value() {
        let expire_at_ms = NOW_MS + 86_400_000;
        for value in [
            Value::String(Bytes::from_static(b"v")),
            list_of(65),
            hash_of(3, 3),
            set_of(&elements(2)),
            zset_of(&[(b"m".to_vec(), 1.5)]),
        ] {
            let entry = Entry::new(value, Some(expire_at_ms));
            let mut commands = Vec::new();
            entry_commands(&Bytes::from_static(b"k"), &entry, &mut commands);
            let last = commands.last().expect("commands");
            assert_eq!(last[0], "PEXPIREAT");
            assert_eq!(last[2], expire_at_ms.to_string());
            assert_recreates(b"k", &entry);
        }
    }

    /// A random value of any type: up to 150 binary elements (so both
    /// sides of the split and of the small encodings are reached).
    pub(crate) fn any_value() -> impl Strategy<Value = Value> {
        let element = || prop::collection::vec(any::<u8>(), 0..80);
        let score = prop_oneof![
            any::<f64>().prop_filter("no NaN", |s| !s.is_nan()),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            (-1000i32..1000).prop_map(f64::from),
        ];
        prop_oneof![
            element().prop_map(|bytes| Value::String(Bytes::from(bytes))),
            prop::collection::vec(element(), 1..150).prop_map(|items| {
                let mut list = List::new();
                items
                    .into_iter()
                    .for_each(|item| list.push(End::Tail, Bytes::from(item)));
                Value::List(Box::new(list))
            }),
            prop::collection::vec((element(), element()), 1..150).prop_map(|pairs| {
                let mut hash = Hash::new();
                for (field, value) in pairs {
                    hash.insert(&field, &value, &mut rng());
                }
                Value::Hash(Box::new(hash))
            }),
            prop::collection::vec(element(), 1..150).prop_map(|members| set_of(&members)),
            prop::collection::vec(
                (0i64..1000).prop_map(|i| i.to_string().into_bytes()),
                1..150
            )
            .prop_map(|members| set_of(&members)),
            prop::collection::vec((element(), score), 1..150).prop_map(|pairs| zset_of(&pairs)),
        ]
    }

    proptest! {
        #[test]
        fn random_entries_round_trip(
            key in prop::collection::vec(any::<u8>(), 0..20),
            value in any_value(),
            ttl_ms in prop::option::of(1u64..1_000_000_000_000),
        ) {
            let entry = Entry::new(value, ttl_ms.map(|ttl_ms| NOW_MS + ttl_ms));
            assert_recreates(&key, &entry);
        }
    }
}
