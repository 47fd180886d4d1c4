//! Routing: where a parsed command runs.
//!
//! Keys map to hash slots and slots to shards ([`crate::slot::SlotMap`]). A
//! command whose keys all live on one shard runs there — on the home shard
//! with no cross-shard cost at all. Otherwise the command table's
//! [`Route`] says how it is spread: split per shard and reduced, gathered to
//! the home shard, or fanned out to every shard.

use bytes::Bytes;

use crate::commands::keys::{parse_scan_cursor, scan_cursor_shard};
use crate::commands::{
    arity_error, unknown_command_error, CommandSpec, Exec, MultiShard, Reduce, Route,
    ServerCommand, Table,
};
use crate::resp::Reply;
use crate::slot::SlotMap;

/// What the home shard will do with one parsed command.
#[derive(Clone, Debug)]
pub(crate) enum Plan {
    /// Reply at once, in order (unknown command, wrong arity).
    Reply(Reply),
    /// A protocol error: reply, then close the connection.
    ProtocolError(Reply),
    /// Run on the home shard.
    Here(&'static CommandSpec),
    /// Run on another shard, which owns every key.
    Remote(usize, &'static CommandSpec),
    /// Keys span shards; split per shard and reduce.
    Split(&'static CommandSpec, Reduce),
    /// Keys span shards; gather entries, run here, store back.
    Gather(&'static CommandSpec),
    /// Run on every shard and reduce.
    AllShards(&'static CommandSpec, Reduce),
    /// Connection or server command, run by the shard layer.
    Server(ServerCommand),
}

/// Decides where `argv` runs for a connection whose home is `home`.
pub(crate) fn plan(
    table: &Table,
    cache: &mut Option<&'static CommandSpec>,
    slots: &SlotMap,
    home: usize,
    argv: &[Bytes],
) -> Plan {
    let Some(spec) = argv
        .first()
        .and_then(|name| table.lookup_cached(name, cache))
    else {
        return Plan::Reply(unknown_command_error(argv));
    };
    if !spec.arity_ok(argv.len()) || !pairs_complete(spec, argv.len()) {
        return Plan::Reply(arity_error(spec.name));
    }
    let route = match spec.exec {
        Exec::Server(command) => return Plan::Server(command),
        Exec::Keyspace { route, .. } => route,
    };
    match route {
        Route::Local => Plan::Here(spec),
        Route::AllShards(_) if slots.shard_count() == 1 => Plan::Here(spec),
        Route::AllShards(reduce) => Plan::AllShards(spec, reduce),
        Route::ScanCursor => plan_scan(spec, slots, home, argv),
        Route::Keys(multi) => plan_keys(spec, multi, slots, home, argv),
    }
}

/// Key/value commands (step 2) need a value for every key.
fn pairs_complete(spec: &CommandSpec, argc: usize) -> bool {
    spec.keys.step != 2
        || argc < spec.keys.first as usize
        || (argc - spec.keys.first as usize) % 2 == 0
}

fn plan_keys(
    spec: &'static CommandSpec,
    multi: MultiShard,
    slots: &SlotMap,
    home: usize,
    argv: &[Bytes],
) -> Plan {
    let mut owner = None;
    for key in spec.keys_of(argv) {
        let shard = slots.shard_of_key(key);
        match owner {
            None => owner = Some(shard),
            Some(first) if first != shard => {
                return match multi {
                    MultiShard::Split(reduce) => Plan::Split(spec, reduce),
                    MultiShard::Gather => Plan::Gather(spec),
                }
            }
            Some(_) => {}
        }
    }
    match owner {
        Some(shard) if shard != home => Plan::Remote(shard, spec),
        _ => Plan::Here(spec),
    }
}

fn plan_scan(spec: &'static CommandSpec, slots: &SlotMap, home: usize, argv: &[Bytes]) -> Plan {
    let Some(Ok(cursor)) = argv.get(1).map(|c| parse_scan_cursor(c)) else {
        return Plan::Here(spec); // the handler reports the bad cursor
    };
    match scan_cursor_shard(cursor) {
        shard if shard >= slots.shard_count() => Plan::Reply(Reply::Array(vec![
            Reply::Bulk(Bytes::from_static(b"0")),
            Reply::Array(Vec::new()),
        ])),
        shard if shard == home => Plan::Here(spec),
        shard => Plan::Remote(shard, spec),
    }
}

/// A command split into one argv per owning shard.
#[derive(Debug, PartialEq)]
pub(crate) struct Split {
    /// (shard, argv) per part; each shard appears once.
    pub parts: Vec<(usize, Vec<Bytes>)>,
    /// For each key of the original argv, in order: (part, index within that part's keys).
    pub key_order: Vec<(usize, usize)>,
}

/// Splits a multi-key command's argv by owning shard, keeping key (or
/// key/value group) order within each part.
pub(crate) fn split(spec: &CommandSpec, slots: &SlotMap, argv: &[Bytes]) -> Split {
    let group = spec.keys.step.max(1) as usize;
    let mut parts: Vec<(usize, Vec<Bytes>)> = Vec::new();
    let mut keys_in_part: Vec<usize> = Vec::new();
    let mut key_order = Vec::new();
    for index in spec.keys.indexes(argv.len()) {
        let shard = slots.shard_of_key(&argv[index]);
        let part = match parts.iter().position(|(s, _)| *s == shard) {
            Some(part) => part,
            None => {
                parts.push((shard, vec![argv[0].clone()]));
                keys_in_part.push(0);
                parts.len() - 1
            }
        };
        let end = (index + group).min(argv.len());
        parts[part].1.extend_from_slice(&argv[index..end]);
        key_order.push((part, keys_in_part[part]));
        keys_in_part[part] += 1;
    }
    Split { parts, key_order }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<Bytes> {
        items
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn keys_with_one_hash_tag_stay_on_one_shard() {
        let table = Table::new();
        let slots = SlotMap::new(4);
        let home = slots.shard_of_key(b"{user}a");
        let plan = plan(
            &table,
            &mut None,
            &slots,
            home,
            &argv(&["MGET", "{user}a", "{user}b"]),
        );
        assert!(matches!(plan, Plan::Here(_)), "{plan:?}");
    }

    #[test]
    fn split_keeps_key_order_and_value_pairs() {
        let table = Table::new();
        let slots = SlotMap::new(2);
        // Find two keys on different shards.
        let (a, b) = (0..100)
            .map(|i| format!("k{i}"))
            .fold((None, None), |(a, b), k| {
                match slots.shard_of_key(k.as_bytes()) {
                    0 if a.is_none() => (Some(k), b),
                    1 if b.is_none() => (a, Some(k)),
                    _ => (a, b),
                }
            });
        let (a, b) = (a.unwrap(), b.unwrap());
        let spec = table.lookup(b"mset").unwrap();
        let parts = split(spec, &slots, &argv(&["MSET", &b, "1", &a, "2", &b, "3"]));
        assert_eq!(parts.parts.len(), 2);
        assert_eq!(parts.parts[0].1, argv(&["MSET", &b, "1", &b, "3"]));
        assert_eq!(parts.parts[1].1, argv(&["MSET", &a, "2"]));
        assert_eq!(parts.key_order, vec![(0, 0), (1, 0), (0, 1)]);
    }

    #[test]
    fn odd_mset_is_an_arity_error() {
        let table = Table::new();
        let slots = SlotMap::new(1);
        let plan = plan(
            &table,
            &mut None,
            &slots,
            0,
            &argv(&["mset", "a", "1", "b"]),
        );
        assert!(matches!(plan, Plan::Reply(Reply::Error(_))));
    }
}
