//! Atomic operations: MULTI/EXEC/DISCARD/WATCH/UNWATCH, and every command
//! whose keys span shards.
//!
//! An atomic operation belongs to one connection. It first locks its keys
//! shard by shard in ascending index (see [`super::locks`]), checking the
//! connection's watched keys on each shard as that shard grants; then it
//! runs — the one multi-shard command, or EXEC's queued commands in order —
//! with every request tagged with its owner id so it passes its own locks;
//! then it releases every lock. A watched key that changed aborts EXEC (null
//! array) before anything runs. So does a disk error: when an operation
//! that writes has every lock, and some participating shard's AOF could not
//! be written as it granted its lock (or the home shard's cannot be now),
//! the whole operation is refused — as Redis's `processCommand` refuses a
//! write, or an EXEC that queued one, while writes are denied by a disk
//! error: `-MISCONF ...`, or for EXEC `-EXECABORT Transaction discarded
//! because of: MISCONF ...`, and nothing runs. Once admitted, its writes are
//! never refused part way (see `Shard::execute`).
//!
//! While a connection is in an atomic operation it starts nothing else, so
//! the operation's replies stay in command order; EXEC's replies are
//! collected into one array.
//!
//! Semantics follow redis.io/docs/interact/transactions: queue-time errors
//! (unknown command, wrong arity) make EXEC fail with EXECABORT; errors while
//! running do not stop the remaining commands; EXEC, DISCARD, RESET and
//! closing the connection forget every watch.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::connection::{Atomic, AtomicBody, Connection, MultiState, Queued, Then, WatchedKey};
use super::locks::{LockSet, TxnId};
use super::message::{ConnId, Message, Request, Response};
use super::plan::Plan;
use super::serve::command_lock_set;
use super::Shard;
use crate::commands::ServerCommand;
use crate::keyspace::parse_canonical_i64;
use crate::platform::Platform;
use crate::resp::Reply;

/// Queues `item` if the connection is inside MULTI. Returns the item back
/// when it must run now instead (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET,
/// protocol errors).
pub(super) fn queue_in_multi<P: Platform>(
    shard: &mut Shard<P>,
    conn: ConnId,
    item: Queued,
) -> Option<Queued> {
    use ServerCommand::{Discard, Exec, Multi, Quit, Reset, Shutdown, Watch};
    let reply = match &item.plan {
        Plan::Server(Exec | Discard | Multi | Watch | Quit | Reset) | Plan::ProtocolError(_) => {
            return Some(item)
        }
        Plan::Reply(reply) => Err(reply.clone()),
        Plan::Server(Shutdown) => Err(Reply::error("ERR Command not allowed inside a transaction")),
        _ => Ok(item),
    };
    let connection = shard.conns.get_mut(&conn)?;
    let multi = connection.multi.as_mut()?;
    match reply {
        Ok(item) => {
            multi.queued.push(item);
            shard.write(conn, &Reply::simple("QUEUED"));
        }
        Err(error) => {
            multi.failed = true;
            shard.write(conn, &error);
        }
    }
    None
}

/// `MULTI`
pub(super) fn multi<P: Platform>(shard: &mut Shard<P>, conn: ConnId) -> Reply {
    let Some(connection) = shard.conns.get_mut(&conn) else {
        return Reply::Null;
    };
    if connection.multi.is_some() {
        return Reply::error("ERR MULTI calls can not be nested");
    }
    connection.multi = Some(MultiState::default());
    Reply::ok()
}

/// `DISCARD`
pub(super) fn discard<P: Platform>(shard: &mut Shard<P>, conn: ConnId) -> Reply {
    let Some(connection) = shard.conns.get_mut(&conn) else {
        return Reply::Null;
    };
    if connection.multi.take().is_none() {
        return Reply::error("ERR DISCARD without MULTI");
    }
    unwatch_all(shard, conn);
    Reply::ok()
}

/// `UNWATCH`
pub(super) fn unwatch<P: Platform>(shard: &mut Shard<P>, conn: ConnId) -> Reply {
    unwatch_all(shard, conn);
    Reply::ok()
}

/// `RESET`'s share: leave MULTI and forget watches.
pub(super) fn reset<P: Platform>(shard: &mut Shard<P>, conn: ConnId) {
    if let Some(connection) = shard.conns.get_mut(&conn) {
        connection.multi = None;
    }
    unwatch_all(shard, conn);
}

/// `EXEC` — starts the atomic run of the queued commands (the reply comes
/// when it ends), or replies at once with an error.
pub(super) fn exec<P: Platform>(shard: &mut Shard<P>, conn: ConnId) -> Option<Reply> {
    let connection = shard.conns.get_mut(&conn)?;
    let Some(multi) = connection.multi.take() else {
        return Some(Reply::error("ERR EXEC without MULTI"));
    };
    if multi.failed {
        unwatch_all(shard, conn);
        return Some(Reply::error(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let db = connection.db;
    let watched = connection.watched.clone();
    let items: Vec<&Queued> = multi.queued.iter().collect();
    let locks = lock_plan(shard, &items, db, &watched);
    let body = AtomicBody::Exec {
        remaining: multi.queued.into(),
        replies: Vec::new(),
    };
    begin(shard, conn, locks, body);
    None
}

/// Runs a command whose keys span shards as an atomic operation.
pub(super) fn begin_command<P: Platform>(shard: &mut Shard<P>, conn: ConnId, item: Queued) {
    let Some(db) = shard.conns.get(&conn).map(|c| c.db) else {
        return;
    };
    let locks = lock_plan(shard, &[&item], db, &[]);
    begin(shard, conn, locks, AtomicBody::Command(Some(item)));
}

fn begin<P: Platform>(
    shard: &mut Shard<P>,
    conn: ConnId,
    locks: Vec<(usize, LockSet)>,
    body: AtomicBody,
) {
    let Some(connection) = shard.conns.get_mut(&conn) else {
        return;
    };
    let owner = TxnId {
        conn,
        serial: connection.next_txn,
    };
    connection.next_txn += 1;
    let table = &shard.table;
    let may_write = |item: &Queued| {
        table
            .lookup(&item.argv[0])
            .is_some_and(|spec| spec.flags & crate::commands::flags::WRITE != 0)
    };
    let writes = match &body {
        AtomicBody::Command(item) => item.as_ref().is_some_and(may_write),
        AtomicBody::Exec { remaining, .. } => remaining.iter().any(may_write),
    };
    connection.atomic = Some(Atomic {
        owner,
        locks,
        granted: 0,
        watch_failed: false,
        released_early: false,
        writes,
        disk_error: None,
        started: false,
        body,
    });
}

/// What each shard must lock for `items` run from database `db`, plus the
/// watched keys, in ascending shard order. SELECTs among the items change
/// the database of the ones after them.
fn lock_plan<P: Platform>(
    shard: &Shard<P>,
    items: &[&Queued],
    mut db: usize,
    watched: &[WatchedKey],
) -> Vec<(usize, LockSet)> {
    let mut sets: BTreeMap<usize, LockSet> = BTreeMap::new();
    for item in items {
        let spec = match &item.plan {
            Plan::Server(ServerCommand::Select) => {
                let index = item.argv.get(1).and_then(|arg| parse_canonical_i64(arg));
                if let Some(index) =
                    index.filter(|i| *i >= 0 && (*i as usize) < shard.keyspace.db_count())
                {
                    db = index as usize;
                }
                continue;
            }
            Plan::Here(spec)
            | Plan::Remote(_, spec)
            | Plan::Split(spec, _)
            | Plan::Gather(spec) => spec,
            Plan::AllShards(spec, _) => spec,
            Plan::Server(command) if command.locks_every_shard() => {
                for index in 0..shard.slots.shard_count() {
                    sets.entry(index).or_default().whole = true;
                }
                continue;
            }
            _ => continue,
        };
        let set = command_lock_set(spec, &item.argv, db);
        if set.whole {
            for index in 0..shard.slots.shard_count() {
                sets.entry(index).or_default().whole = true;
            }
        }
        for (key_db, key) in set.keys {
            sets.entry(shard.slots.shard_of_key(&key))
                .or_default()
                .keys
                .push((key_db, key));
        }
    }
    for watch in watched {
        sets.entry(watch.shard)
            .or_default()
            .keys
            .push((watch.db, watch.key.clone()));
    }
    let mut plan: Vec<(usize, LockSet)> = sets
        .into_iter()
        .filter(|(_, set)| !set.is_empty())
        .map(|(index, mut set)| {
            set.keys.sort();
            set.keys.dedup();
            (index, set)
        })
        .collect();
    if shard.faults.skip_lock && plan.len() > 1 {
        plan.pop(); // Planted bug: the highest shard is not locked.
    }
    plan
}

/// Advances the connection's atomic operation by one step: request the
/// next lock, or run the next command, or finish.
pub(super) fn step<P: Platform>(shard: &mut Shard<P>, conn: ConnId) {
    let release_early = shard.faults.release_early;
    let misconf_per_part = shard.faults.misconf_per_part;
    let local_disk_error = shard.aof_error();
    let Some(connection) = shard.conns.get_mut(&conn) else {
        return;
    };
    let Some(atomic) = connection.atomic.as_mut() else {
        return;
    };
    if atomic.watch_failed {
        return end(shard, conn);
    }
    if !atomic.all_granted() {
        let (target, set) = atomic.locks[atomic.granted].clone();
        let watched = match atomic.body {
            AtomicBody::Exec { .. } => connection
                .watched
                .iter()
                .filter(|watch| watch.shard == target)
                .map(|watch| (watch.db, watch.key.clone(), watch.version))
                .collect(),
            AtomicBody::Command(_) => Vec::new(),
        };
        shard.start_wait(
            conn,
            vec![(target, Request::Lock { set, watched })],
            Then::Locked,
        );
        return;
    }
    if !atomic.started {
        // Every lock is held: admit the operation, or refuse it whole.
        if atomic.disk_error.is_none() {
            atomic.disk_error = local_disk_error;
        }
        // Planted bug (`Faults::misconf_per_part`): never refused whole.
        if atomic.writes && atomic.disk_error.is_some() && !misconf_per_part {
            return end(shard, conn);
        }
        atomic.started = true;
    }
    if release_early && !atomic.released_early && atomic.locks.len() > 1 {
        // Planted bug: the lowest shard is released before the body runs.
        atomic.released_early = true;
        let (owner, first) = (atomic.owner, atomic.locks[0].0);
        release_on(shard, first, owner);
        return;
    }
    let next = match &mut atomic.body {
        AtomicBody::Command(item) => item.take(),
        AtomicBody::Exec { remaining, .. } => remaining.pop_front(),
    };
    match next {
        Some(item) => shard.run_plan(conn, item),
        None => end(shard, conn),
    }
}

/// A shard granted its lock (`Then::Locked`).
pub(super) fn lock_granted<P: Platform>(shard: &mut Shard<P>, conn: ConnId, parts: Vec<Response>) {
    let Some(atomic) = shard.conns.get_mut(&conn).and_then(|c| c.atomic.as_mut()) else {
        return;
    };
    for part in parts {
        let Response::Locked {
            owner,
            watch_ok,
            disk_error,
        } = part
        else {
            panic!("lock answered with {part:?}")
        };
        assert_eq!(owner, atomic.owner, "a lock granted to another owner");
        atomic.granted += 1;
        atomic.watch_failed |= !watch_ok;
        if atomic.disk_error.is_none() {
            atomic.disk_error = disk_error;
        }
    }
}

/// Ends the connection's atomic operation: releases its locks and, for
/// EXEC, writes the reply array (or a null array when a watch failed). An
/// operation refused for a disk error (it writes, and never started) gets
/// Redis's refusal instead.
fn end<P: Platform>(shard: &mut Shard<P>, conn: ConnId) {
    let Some(atomic) = shard.conns.get_mut(&conn).and_then(|c| c.atomic.take()) else {
        return;
    };
    let refused = match &atomic.disk_error {
        // As Redis: the disk check comes before EXEC looks at its watches.
        Some(error) if atomic.writes && !atomic.started => Some(super::durability::misconf(error)),
        _ => None,
    };
    if atomic.writes && !atomic.watch_failed && refused.is_none() {
        // Before any release: the commit must be logged (and, under
        // `always`, durable) before anyone can see the writes.
        shard.log_commit(atomic.owner);
    }
    let skip = usize::from(atomic.released_early);
    for (target, _) in atomic.locks.iter().take(atomic.granted).skip(skip) {
        release_on(shard, *target, atomic.owner);
    }
    match (atomic.body, refused) {
        (AtomicBody::Exec { replies, .. }, refused) => {
            let reply = match refused {
                // Redis's `execCommandAbort`: the transaction is discarded.
                Some(why) => Reply::error_string(format!(
                    "EXECABORT Transaction discarded because of: {why}"
                )),
                None if atomic.watch_failed => Reply::NullArray,
                None => Reply::Array(replies),
            };
            shard.write(conn, &reply);
            unwatch_all(shard, conn);
        }
        (AtomicBody::Command(_), Some(why)) => shard.write(conn, &Reply::error_string(why)),
        (AtomicBody::Command(_), None) => {}
    }
}

fn release_on<P: Platform>(shard: &mut Shard<P>, target: usize, owner: TxnId) {
    if target == shard.index {
        shard.release_locks(owner);
    } else {
        let epoch = shard.epoch;
        shard.send(target, Message::Release { owner, epoch });
    }
}

/// `WATCH key [key ...]` — registers the keys on their shards (the `+OK`
/// comes when every shard answered with the keys' versions).
pub(super) fn watch<P: Platform>(
    shard: &mut Shard<P>,
    conn: ConnId,
    argv: &[Bytes],
) -> Option<Reply> {
    let connection = shard.conns.get(&conn)?;
    if connection.multi.is_some() {
        return Some(Reply::error("ERR WATCH inside MULTI is not allowed"));
    }
    let db = connection.db;
    let mut by_shard: Vec<(usize, Vec<Bytes>)> = Vec::new();
    for key in &argv[1..] {
        let owner = shard.slots.shard_of_key(key);
        match by_shard.iter_mut().find(|(index, _)| *index == owner) {
            Some((_, keys)) => keys.push(key.clone()),
            None => by_shard.push((owner, vec![key.clone()])),
        }
    }
    let requests = by_shard
        .iter()
        .map(|(index, keys)| (*index, Request::Watch(keys.clone())))
        .collect();
    shard.start_wait(conn, requests, Then::Watched { db, keys: by_shard });
    None
}

/// Every shard answered a WATCH: remember the versions, reply `+OK`.
pub(super) fn watched<P: Platform>(
    shard: &mut Shard<P>,
    conn: ConnId,
    db: usize,
    keys: Vec<(usize, Vec<Bytes>)>,
    parts: Vec<Response>,
) {
    let Some(connection) = shard.conns.get_mut(&conn) else {
        return;
    };
    for ((index, keys), part) in keys.into_iter().zip(parts) {
        let Response::Versions(versions) = part else {
            panic!("watch answered with {part:?}")
        };
        for (key, version) in keys.into_iter().zip(versions) {
            connection.watched.push(WatchedKey {
                shard: index,
                db,
                key,
                version,
            });
        }
    }
    shard.write(conn, &Reply::ok());
}

/// Forgets every key the connection watches, on every shard.
fn unwatch_all<P: Platform>(shard: &mut Shard<P>, conn: ConnId) {
    let Some(connection) = shard.conns.get_mut(&conn) else {
        return;
    };
    let watched = std::mem::take(&mut connection.watched);
    send_unwatches(shard, watched);
}

fn send_unwatches<P: Platform>(shard: &mut Shard<P>, watched: Vec<WatchedKey>) {
    let mut groups: BTreeMap<(usize, usize), Vec<Bytes>> = BTreeMap::new();
    for watch in watched {
        groups
            .entry((watch.shard, watch.db))
            .or_default()
            .push(watch.key);
    }
    for ((target, db), keys) in groups {
        if target == shard.index {
            for key in keys {
                shard.keyspace.db(db).unwatch(&key);
            }
        } else {
            shard.send(target, Message::Unwatch { db, keys });
        }
    }
}

/// A closed connection gives up its locks (including lock requests still
/// in flight: FIFO delivery makes the release arrive after them) and its
/// watches.
pub(super) fn forget_connection<P: Platform>(shard: &mut Shard<P>, connection: Connection) {
    if let Some(atomic) = connection.atomic {
        for (target, _) in &atomic.locks {
            release_on(shard, *target, atomic.owner);
        }
    }
    send_unwatches(shard, connection.watched);
}
