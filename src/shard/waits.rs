//! Cross-shard waits: a command split over shards or gathered from them,
//! the wait a connection holds until every part answered, and how the
//! answers complete it (in the connection's command order).

use bytes::Bytes;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::connection::{Then, Waiting};
use super::message::{ConnId, Forwarded, Message, Origin, Request, Response, Ticket};
use super::{atomic, plan, serve, server, Shard};
use crate::commands::{CommandSpec, Reduce};
use crate::keyspace::{Entry, Keyspace};
use crate::platform::Platform;
use crate::resp::Reply;

impl<P: Platform> Shard<P> {
    pub(super) fn start_split(
        &mut self,
        conn: ConnId,
        origin: Origin,
        spec: &'static CommandSpec,
        reduce: Reduce,
        argv: Vec<Bytes>,
    ) {
        let split = plan::split(spec, &self.slots, &argv);
        let requests = split
            .parts
            .into_iter()
            .map(|(shard, argv)| {
                (
                    shard,
                    Request::Execute(vec![Forwarded { origin, spec, argv }]),
                )
            })
            .collect();
        self.start_wait(
            conn,
            requests,
            Then::Reduce {
                reduce,
                key_order: split.key_order,
            },
        );
    }

    pub(super) fn start_gather(
        &mut self,
        conn: ConnId,
        origin: Origin,
        spec: &'static CommandSpec,
        argv: Vec<Bytes>,
    ) {
        let mut keys_per_shard: Vec<(usize, Vec<Bytes>)> = Vec::new();
        for key in spec.keys_of(&argv) {
            let shard = self.slots.shard_of_key(key);
            match keys_per_shard.iter_mut().find(|(s, _)| *s == shard) {
                Some((_, keys)) if keys.contains(key) => {}
                Some((_, keys)) => keys.push(key.clone()),
                None => keys_per_shard.push((shard, vec![key.clone()])),
            }
        }
        let keys_per_part = keys_per_shard
            .iter()
            .map(|(_, keys)| keys.clone())
            .collect();
        let requests = keys_per_shard
            .into_iter()
            .map(|(shard, keys)| (shard, Request::Fetch(keys)))
            .collect();
        self.start_wait(
            conn,
            requests,
            Then::Gathered {
                origin,
                spec,
                argv,
                keys_per_part,
            },
        );
    }

    /// Starts a wait on `requests` (one part each). Parts for this shard are
    /// served at once; the rest are sent. When the last part answers, `then`
    /// runs.
    pub(super) fn start_wait(&mut self, conn: ConnId, requests: Vec<(usize, Request)>, then: Then) {
        let Some(connection) = self.conns.get_mut(&conn) else {
            return;
        };
        assert!(
            connection.waiting.is_none(),
            "a connection waits on one thing at a time"
        );
        let wait = connection.next_wait;
        connection.next_wait += 1;
        let db = connection.db;
        let owner = connection.atomic.as_ref().map(|atomic| atomic.owner);
        connection.waiting = Some(Waiting {
            wait,
            parts: (0..requests.len()).map(|_| None).collect(),
            parts_left: requests.len(),
            then,
        });
        for (part, (shard, request)) in requests.into_iter().enumerate() {
            let ticket = Ticket { conn, wait, part };
            if shard == self.index {
                let waiter = serve::Waiter::Local(ticket);
                if let Some(response) = self.accept_request(waiter, owner, db, request) {
                    self.complete_part(ticket, response);
                }
            } else {
                let from = self.index;
                let message = Message::Request {
                    from,
                    ticket,
                    db,
                    owner,
                    request,
                    epoch: self.epoch,
                };
                self.send(shard, message);
            }
        }
    }

    /// Records one part's answer; finishes the wait when it was the last.
    pub(super) fn complete_part(&mut self, ticket: Ticket, response: Response) {
        let Some(connection) = self.conns.get_mut(&ticket.conn) else {
            return;
        };
        let Some(waiting) = connection.waiting.as_mut() else {
            panic!(
                "response for connection {} which waits on nothing",
                ticket.conn
            );
        };
        assert_eq!(
            waiting.wait, ticket.wait,
            "response for a wait that is not current"
        );
        let slot = &mut waiting.parts[ticket.part];
        assert!(slot.is_none(), "part answered twice");
        *slot = Some(response);
        waiting.parts_left -= 1;
        if waiting.parts_left == 0 {
            let Some(waiting) = connection.waiting.take() else {
                return;
            };
            let parts = waiting
                .parts
                .into_iter()
                .map(|p| p.expect("every part answered"))
                .collect();
            self.finish_wait(ticket.conn, waiting.then, parts);
        }
    }

    pub(super) fn finish_wait(&mut self, conn: ConnId, then: Then, parts: Vec<Response>) {
        match then {
            Then::Batch => {
                for reply in parts.into_iter().flat_map(replies_of) {
                    self.write(conn, &reply);
                }
            }
            Then::Reduce { reduce, key_order } => {
                let replies = parts
                    .into_iter()
                    .map(|p| replies_of(p).into_iter().next().unwrap_or(Reply::Null));
                let reply = reduce_replies(reduce, replies.collect(), &key_order, &mut self.rng);
                self.write(conn, &reply);
            }
            Then::Gathered {
                origin,
                spec,
                argv,
                keys_per_part,
            } => self.finish_gather(conn, origin, spec, argv, keys_per_part, parts),
            Then::Stored { reply } => self.write(conn, &reply),
            Then::Server(then) => server::finish(self, conn, then, parts),
            Then::Locked => atomic::lock_granted(self, conn, parts),
            Then::Watched { db, keys } => atomic::watched(self, conn, db, keys, parts),
        }
    }

    /// Runs a gathered command over a scratch keyspace holding the fetched
    /// entries, then stores every key it may have written back to its owner.
    pub(super) fn finish_gather(
        &mut self,
        conn: ConnId,
        origin: Origin,
        spec: &'static CommandSpec,
        argv: Vec<Bytes>,
        keys_per_part: Vec<Vec<Bytes>>,
        parts: Vec<Response>,
    ) {
        let Some(db) = self.conns.get(&conn).map(|c| c.db) else {
            return;
        };
        let now_ms = self.clock.1 / 1000;
        let (mut scratch, versions) = self.scratch_keyspace(db, &keys_per_part, parts, now_ms);
        // The handler runs over the scratch keyspace exactly as it would over
        // the real one, so gathered commands need no code of their own.
        std::mem::swap(&mut self.keyspace, &mut scratch);
        self.in_scratch = true;
        let reply = self.execute(None, origin, db, spec, argv);
        self.in_scratch = false;
        std::mem::swap(&mut self.keyspace, &mut scratch);
        let mut requests = Vec::new();
        for (keys, versions) in keys_per_part.into_iter().zip(versions) {
            let shard = self.slots.shard_of_key(&keys[0]);
            let scratch_db = scratch.db(db);
            let mut changed: Vec<(Bytes, Option<Entry>)> = Vec::new();
            for (key, (version, fetched)) in keys.into_iter().zip(versions) {
                let entry = scratch_db.get(&key, now_ms).cloned();
                // A key fetched alive but gone now expired in between (or was
                // deleted): its owner must drop it too, as the serial order did.
                let vanished = fetched && entry.is_none();
                if vanished || scratch_db.watch_is_dirty(&key, version, now_ms) {
                    changed.push((key, entry));
                }
            }
            if !changed.is_empty() {
                requests.push((shard, Request::Store(changed)));
            }
        }
        if requests.is_empty() {
            self.write(conn, &reply);
            return;
        }
        self.start_wait(conn, requests, Then::Stored { reply });
    }

    /// A scratch keyspace holding the fetched entries, each key watched so
    /// that afterwards only the keys the handler changed are stored back (an
    /// unchanged source must not look written to its own WATCHers). Returns,
    /// per part and key, the watch version and whether the key was fetched
    /// alive.
    pub(super) fn scratch_keyspace(
        &mut self,
        db: usize,
        keys_per_part: &[Vec<Bytes>],
        parts: Vec<Response>,
        now_ms: u64,
    ) -> (Keyspace, Vec<Vec<(u64, bool)>>) {
        let mut scratch = Keyspace::new(self.keyspace.db_count(), &mut self.rng);
        let mut versions = Vec::with_capacity(keys_per_part.len());
        for (keys, part) in keys_per_part.iter().zip(parts) {
            let Response::Entries(entries) = part else {
                panic!("fetch answered with {part:?}")
            };
            let mut part_versions = Vec::with_capacity(keys.len());
            for (key, entry) in keys.iter().zip(entries) {
                let fetched = entry.is_some();
                if let Some(entry) = entry {
                    scratch.db(db).insert_entry(key, entry);
                }
                part_versions.push((scratch.db(db).watch(key, now_ms), fetched));
            }
            versions.push(part_versions);
        }
        (scratch, versions)
    }
}

fn replies_of(response: Response) -> Vec<Reply> {
    match response {
        Response::Replies(replies) => replies,
        other => panic!("expected replies, got {other:?}"),
    }
}

/// Combines per-shard replies into the client's reply. The first error any
/// part returned wins.
fn reduce_replies(
    reduce: Reduce,
    parts: Vec<Reply>,
    key_order: &[(usize, usize)],
    rng: &mut ChaCha8Rng,
) -> Reply {
    if let Some(error) = parts.iter().find(|p| p.is_error()) {
        return error.clone();
    }
    match reduce {
        Reduce::SumIntegers => Reply::Integer(
            parts
                .iter()
                .map(|p| if let Reply::Integer(n) = p { *n } else { 0 })
                .sum(),
        ),
        Reduce::AllOk => Reply::ok(),
        Reduce::ConcatArrays => Reply::Array(parts.into_iter().flat_map(array_items).collect()),
        Reduce::MergeInKeyOrder => {
            let arrays: Vec<Vec<Reply>> = parts.into_iter().map(array_items).collect();
            let merged = key_order.iter().map(|&(part, index)| {
                arrays
                    .get(part)
                    .and_then(|a| a.get(index))
                    .cloned()
                    .unwrap_or(Reply::Null)
            });
            Reply::Array(merged.collect())
        }
        Reduce::RandomNonNull => {
            let candidates: Vec<Reply> = parts.into_iter().filter(|p| *p != Reply::Null).collect();
            if candidates.is_empty() {
                Reply::Null
            } else {
                candidates[rng.gen_range(0..candidates.len())].clone()
            }
        }
    }
}

fn array_items(reply: Reply) -> Vec<Reply> {
    match reply {
        Reply::Array(items) => items,
        _ => Vec::new(),
    }
}
