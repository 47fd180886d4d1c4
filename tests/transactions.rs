//! MULTI/EXEC/WATCH and multi-key atomicity, black-box.
//!
//! * Semantics are compared reply-for-reply with Debian's redis-server
//!   (see tests/common/oracle.rs), with keys spread over both shards so the
//!   cross-shard locking path runs.
//! * Races use real clients (the `redis` crate) on parallel threads: the
//!   classic WATCH-based INCR loop must end with the exact count, and
//!   cross-shard MSET racing MGET must never show a mix of old and new.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // real sockets, threads and clocks

#[macro_use]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::oracle::*;
use common::TestServer;

fn cmd(
    pair: &mut Pair,
    client: usize,
    line: &str,
    others: &mut (common::RawClient, common::RawClient),
) {
    let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
    if client == 0 {
        pair.check(&words);
    } else {
        let ours = others.0.call(&words);
        let theirs = others.1.call(&words);
        assert_eq!(ours, theirs, "replies differ for other client's {line}");
    }
}

#[test]
fn multi_exec_queueing_and_errors_match_redis() {
    let mut pair = pair_or_skip!();
    let (a, b) = cross_shard_pair("tx");
    pair.script(&[
        "FLUSHALL",
        "EXEC",
        "DISCARD",
        "MULTI",
        "MULTI",
        &format!("SET {a} 1"),
        &format!("INCR {b}"),
        &format!("MGET {a} {b}"),
        &format!("SET {a} notanumber"),
        &format!("INCR {a}"),
        "PING",
        "EXEC",
        &format!("MGET {a} {b}"),
        "MULTI",
        &format!("SET {a} 2"),
        "NOSUCHCOMMAND x",
        &format!("GET {a} extra"),
        "EXEC",
        &format!("GET {a}"),
        "MULTI",
        &format!("SET {a} 3"),
        "DISCARD",
        &format!("GET {a}"),
        "MULTI",
        "EXEC",
        "MULTI",
        &format!("WATCH {a}"),
        "EXEC",
    ]);
}

#[test]
fn select_inside_multi_applies_to_later_commands_like_redis() {
    let mut pair = pair_or_skip!();
    let (a, b) = cross_shard_pair("sel");
    pair.script(&[
        "FLUSHALL",
        "MULTI",
        &format!("SET {a} db0"),
        "SELECT 3",
        &format!("SET {b} db3"),
        &format!("GET {a}"),
        "EXEC",
        &format!("GET {b}"),
        "SELECT 0",
        &format!("GET {a}"),
        &format!("GET {b}"),
    ]);
}

#[test]
fn watch_aborts_exec_exactly_when_redis_does() {
    let mut pair = pair_or_skip!();
    let mut others = pair.other_clients();
    let (a, b) = cross_shard_pair("w");
    let steps: &[(usize, String)] = &[
        (0, "FLUSHALL".into()),
        (0, format!("SET {a} 1")),
        // Untouched watch: EXEC runs.
        (0, format!("WATCH {a} {b}")),
        (0, "MULTI".into()),
        (0, format!("INCR {a}")),
        (0, "EXEC".into()),
        // Another client writes a watched key on another shard: EXEC aborts.
        (0, format!("WATCH {a} {b}")),
        (1, format!("SET {b} x")),
        (0, "MULTI".into()),
        (0, format!("INCR {a}")),
        (0, "EXEC".into()),
        (0, format!("GET {a}")),
        // The same client's own write before MULTI also counts.
        (0, format!("WATCH {a}")),
        (0, format!("SET {a} 10")),
        (0, "MULTI".into()),
        (0, format!("INCR {a}")),
        (0, "EXEC".into()),
        // UNWATCH forgets: EXEC runs.
        (0, format!("WATCH {a}")),
        (1, format!("SET {a} 20")),
        (0, "UNWATCH".into()),
        (0, "MULTI".into()),
        (0, format!("INCR {a}")),
        (0, "EXEC".into()),
        // FLUSHALL touches watched keys that exist.
        (0, format!("WATCH {a}")),
        (1, "FLUSHALL".into()),
        (0, "MULTI".into()),
        (0, format!("SET {a} 1")),
        (0, "EXEC".into()),
        // Watching a missing key that stays missing: EXEC runs.
        (0, format!("WATCH {b}")),
        (1, format!("DEL {b}")),
        (0, "MULTI".into()),
        (0, format!("SET {b} 5")),
        (0, "EXEC".into()),
        // A write that leaves the value equal still counts (versions, not values).
        (0, format!("WATCH {b}")),
        (1, format!("SET {b} 5")),
        (0, "MULTI".into()),
        (0, format!("GET {b}")),
        (0, "EXEC".into()),
        // DISCARD forgets watches.
        (0, format!("WATCH {b}")),
        (1, format!("SET {b} 6")),
        (0, "MULTI".into()),
        (0, "DISCARD".into()),
        (0, "MULTI".into()),
        (0, format!("GET {b}")),
        (0, "EXEC".into()),
    ];
    for (client, line) in steps {
        cmd(&mut pair, *client, line, &mut others);
    }
}

#[test]
fn watched_key_that_expires_aborts_exec_like_redis() {
    let mut pair = pair_or_skip!();
    let (a, _) = cross_shard_pair("exp");
    pair.script(&[
        "FLUSHALL",
        &format!("SET {a} 1 PX 50"),
        &format!("WATCH {a}"),
    ]);
    std::thread::sleep(std::time::Duration::from_millis(120));
    pair.script(&["MULTI", &format!("GET {a}"), "EXEC"]);
}

/// Many clients run the optimistic-locking loop (WATCH, GET, MULTI, SET,
/// EXEC, retry on nil) against one counter: no increment may be lost.
fn watch_incr_race(shards: usize, clients: usize, increments: usize, key: &'static str) {
    let server = TestServer::start(shards);
    let url = server.url();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let client = redis::Client::open(url).expect("client");
                let mut conn = client.get_connection().expect("connect");
                let mut aborted = 0u64;
                for _ in 0..increments {
                    loop {
                        redis::cmd("WATCH")
                            .arg(key)
                            .query::<()>(&mut conn)
                            .expect("watch");
                        let value: Option<i64> =
                            redis::cmd("GET").arg(key).query(&mut conn).expect("get");
                        let result: Option<(String,)> = redis::pipe()
                            .atomic()
                            .cmd("SET")
                            .arg(key)
                            .arg(value.unwrap_or(0) + 1)
                            .query(&mut conn)
                            .expect("exec");
                        if result.is_some() {
                            break;
                        }
                        aborted += 1;
                    }
                }
                aborted
            })
        })
        .collect();
    let aborted: u64 = threads
        .into_iter()
        .map(|t| t.join().expect("client thread"))
        .sum();
    let mut conn = server.client();
    let total: i64 = redis::cmd("GET").arg(key).query(&mut conn).expect("get");
    assert_eq!(
        total as usize,
        clients * increments,
        "lost increments ({aborted} EXECs aborted and retried)"
    );
}

#[test]
fn watch_incr_race_loses_no_increment_with_one_shard() {
    watch_incr_race(1, 8, 150, "counter");
}

#[test]
fn watch_incr_race_loses_no_increment_across_shards() {
    // Clients are spread round-robin over 4 shards, so most of them watch and
    // write a key another shard owns.
    watch_incr_race(4, 8, 150, "counter");
}

#[test]
fn cross_shard_mset_racing_mget_never_shows_a_mix() {
    let server = TestServer::start(2);
    let (a, b) = {
        let slots = corekv::slot::SlotMap::new(2);
        let find = |shard: usize| {
            (0..)
                .map(|i| format!("pair{i}"))
                .find(|k| slots.shard_of_key(k.as_bytes()) == shard)
                .expect("key")
        };
        (find(0), find(1))
    };
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|writer| {
            let (url, a, b, stop) = (server.url(), a.clone(), b.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut conn = redis::Client::open(url)
                    .expect("client")
                    .get_connection()
                    .expect("connect");
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) && round < 3000 {
                    let value = format!("w{writer}-{round}");
                    redis::cmd("MSET")
                        .arg(&a)
                        .arg(&value)
                        .arg(&b)
                        .arg(&value)
                        .query::<()>(&mut conn)
                        .expect("mset");
                    round += 1;
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (url, a, b) = (server.url(), a.clone(), b.clone());
            std::thread::spawn(move || {
                let mut conn = redis::Client::open(url)
                    .expect("client")
                    .get_connection()
                    .expect("connect");
                for _ in 0..3000 {
                    let (x, y): (Option<String>, Option<String>) = redis::cmd("MGET")
                        .arg(&a)
                        .arg(&b)
                        .query(&mut conn)
                        .expect("mget");
                    assert_eq!(x, y, "MGET saw half of a cross-shard MSET");
                }
            })
        })
        .collect();
    for reader in readers {
        reader.join().expect("reader");
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().expect("writer");
    }
}

#[test]
fn cross_shard_transfer_in_multi_keeps_the_sum() {
    // Clients move units between two accounts on different shards inside
    // MULTI/EXEC while others read both in one MULTI: every read sums to 1000.
    let server = TestServer::start(2);
    let slots = corekv::slot::SlotMap::new(2);
    let find = |shard: usize| {
        (0..)
            .map(|i| format!("acct{i}"))
            .find(|k| slots.shard_of_key(k.as_bytes()) == shard)
            .expect("key")
    };
    let (a, b) = (find(0), find(1));
    let mut setup = server.client();
    redis::cmd("MSET")
        .arg(&a)
        .arg(1000)
        .arg(&b)
        .arg(0)
        .query::<()>(&mut setup)
        .expect("mset");
    let movers: Vec<_> = (0..4)
        .map(|i| {
            let (url, a, b) = (server.url(), a.clone(), b.clone());
            std::thread::spawn(move || {
                let mut conn = redis::Client::open(url)
                    .expect("client")
                    .get_connection()
                    .expect("connect");
                for round in 0..500 {
                    let (from, to) = if (round + i) % 2 == 0 {
                        (&a, &b)
                    } else {
                        (&b, &a)
                    };
                    let _: (i64, i64) = redis::pipe()
                        .atomic()
                        .cmd("DECR")
                        .arg(from)
                        .cmd("INCR")
                        .arg(to)
                        .query(&mut conn)
                        .expect("move");
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (url, a, b) = (server.url(), a.clone(), b.clone());
            std::thread::spawn(move || {
                let mut conn = redis::Client::open(url)
                    .expect("client")
                    .get_connection()
                    .expect("connect");
                for _ in 0..1000 {
                    let (x, y): (i64, i64) = redis::pipe()
                        .atomic()
                        .cmd("GET")
                        .arg(&a)
                        .cmd("GET")
                        .arg(&b)
                        .query(&mut conn)
                        .expect("read");
                    assert_eq!(x + y, 1000, "a transaction observed half of another");
                }
            })
        })
        .collect();
    for thread in movers.into_iter().chain(readers) {
        thread.join().expect("thread");
    }
}

#[test]
fn gathered_command_does_not_invalidate_watches_on_keys_it_only_read() {
    // SUNIONSTORE across shards gathers its source to the home shard; storing
    // the unchanged source back would look like a write to its WATCHers.
    let mut pair = pair_or_skip!();
    let mut others = pair.other_clients();
    let (src, dst) = cross_shard_pair("gw");
    let steps: &[(usize, String)] = &[
        (0, "FLUSHALL".into()),
        (0, format!("SADD {src} a b")),
        (0, format!("WATCH {src}")),
        (1, format!("SUNIONSTORE {dst} {src}")),
        (0, "MULTI".into()),
        (0, format!("SCARD {src}")),
        (0, "EXEC".into()),
        (0, format!("WATCH {dst}")),
        (1, format!("SUNIONSTORE {dst} {src}")),
        (0, "MULTI".into()),
        (0, format!("SCARD {dst}")),
        (0, "EXEC".into()),
    ];
    for (client, line) in steps {
        cmd(&mut pair, *client, line, &mut others);
    }
}
