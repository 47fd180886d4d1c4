//! Black-box tests of a running server over real TCP: pipelining and reply
//! order across shards, many clients, expiry, whole-keyspace commands,
//! databases, misbehaving clients, server and connection commands, and the
//! `redis` crate as a real client.
//!
//! Every server here runs in this process on an ephemeral port
//! (`common::TestServer`). Tests never sleep to synchronise: they wait by
//! polling the server with a generous deadline (`common::poll_until`), and
//! they assert no timings.

// Black-box tests stand outside the engine: they read clocks, spawn threads
// and open sockets, which clippy.toml bans only for the core.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use corekv::resp::Reply;
use corekv::slot::SlotMap;
use redis::Commands;

use common::*;

/// Asserts that `keys` land on every one of `shards` shards, so a test
/// really exercises cross-shard routing.
fn assert_spans_all_shards<'a>(keys: impl IntoIterator<Item = &'a str>, shards: usize) {
    let slots = SlotMap::new(shards);
    let used: HashSet<usize> = keys
        .into_iter()
        .map(|k| slots.shard_of_key(k.as_bytes()))
        .collect();
    assert_eq!(used.len(), shards, "test keys must cover every shard");
}

fn nil() -> Reply {
    Reply::Null
}

// ---------------------------------------------------------------------------
// Pipelining and reply order
// ---------------------------------------------------------------------------

/// 10 000 commands: per key, SET, GET, INCR and an MGET spanning the key, its
/// predecessor and a key not set yet, plus an EXISTS over two keys. Each
/// reply is checked against the value expected at its position.
fn ordered_pipeline(prefix: &str, keys_count: usize) -> (Vec<Vec<u8>>, Vec<Reply>) {
    let mut commands = Vec::new();
    let mut expected = Vec::new();
    for i in 0..keys_count {
        let key = format!("{prefix}{i}");
        let previous = format!("{prefix}{}", i.wrapping_sub(1));
        let future = format!("{prefix}{}", i + 7);
        commands.push(words(&format!("SET {key} {i}")));
        expected.push(ok());
        commands.push(words(&format!("GET {key}")));
        expected.push(bulk(&i.to_string()));
        commands.push(words(&format!("INCR {key}")));
        expected.push(int(i as i64 + 1));
        commands.push(words(&format!("MGET {key} {previous} {future}")));
        let previous_value = if i == 0 { nil() } else { bulk(&i.to_string()) };
        expected.push(array(vec![
            bulk(&(i + 1).to_string()),
            previous_value,
            nil(),
        ]));
        commands.push(words(&format!("EXISTS {key} {future}")));
        expected.push(int(1));
    }
    (commands, expected)
}

fn check_ordered_pipeline(shards: usize) {
    let server = TestServer::start(shards);
    let keys: Vec<String> = (0..2000).map(|i| format!("k{i}")).collect();
    assert_spans_all_shards(keys.iter().map(String::as_str), shards);
    let (commands, expected) = ordered_pipeline("k", keys.len());
    assert_eq!(commands.len(), 10_000);
    let replies = server.raw().pipeline(&commands);
    for (position, (reply, want)) in replies.iter().zip(&expected).enumerate() {
        assert_eq!(reply, want, "reply {position} of the pipeline");
    }
}

#[test]
fn pipeline_of_10000_commands_over_4_shards_replies_complete_and_in_order() {
    check_ordered_pipeline(4);
}

#[test]
fn pipeline_of_10000_commands_over_2_shards_replies_complete_and_in_order() {
    check_ordered_pipeline(2);
}

#[test]
fn concurrent_pipelining_clients_each_get_their_own_replies_in_order() {
    let server = TestServer::start(4);
    let port = server.port();
    let clients: Vec<_> = (0..8)
        .map(|client| {
            std::thread::spawn(move || {
                let prefix = format!("c{client}:");
                let (commands, expected) = ordered_pipeline(&prefix, 400);
                let replies = RawClient::connect(port).pipeline(&commands);
                for (position, (reply, want)) in replies.iter().zip(&expected).enumerate() {
                    assert_eq!(reply, want, "client {client}, reply {position}");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client thread succeeded");
    }
    assert_eq!(server.raw().call_words("DBSIZE"), int(8 * 400));
}

// ---------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------

#[test]
fn key_set_with_px_reads_as_nil_once_expired() {
    let server = TestServer::start(2);
    let mut client = server.raw();
    assert_eq!(client.call_words("SET short v PX 100"), ok());
    assert_eq!(client.call_words("SET long v"), ok());
    assert_eq!(client.call_words("GET short"), bulk("v"));
    // Sleeping is the point here (the key must outlive its TTL), not synchronisation.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(client.call_words("GET short"), nil());
    assert_eq!(client.call_words("EXISTS short"), int(0));
    assert_eq!(client.call_words("GET long"), bulk("v"));
}

#[test]
fn expired_keys_are_removed_actively_without_being_accessed() {
    let server = TestServer::start(3);
    let mut client = server.raw();
    let keys: Vec<String> = (0..60).map(|i| format!("volatile{i}")).collect();
    assert_spans_all_shards(keys.iter().map(String::as_str), 3);
    for key in &keys {
        assert_eq!(client.call_words(&format!("SET {key} v PX 100")), ok());
    }
    assert_eq!(client.call_words("SET persistent v"), ok());
    // DBSIZE counts keys whether or not their TTL passed; only the active
    // expiry cycle can bring it down.
    poll_until("active expiry removed every volatile key", || {
        client.call_words("DBSIZE") == int(1)
    });
    assert_eq!(client.call_words("GET persistent"), bulk("v"));
}

// ---------------------------------------------------------------------------
// Whole-keyspace commands and databases
// ---------------------------------------------------------------------------

fn fill(client: &mut RawClient, prefix: &str, count: usize) -> Vec<String> {
    let keys: Vec<String> = (0..count).map(|i| format!("{prefix}{i}")).collect();
    let commands: Vec<Vec<u8>> = keys.iter().map(|k| words(&format!("SET {k} x"))).collect();
    assert!(client.pipeline(&commands).iter().all(|r| *r == ok()));
    keys
}

/// Runs a SCAN to completion with `options`; returns every key it returned,
/// in order, duplicates included.
fn full_scan(client: &mut RawClient, options: &str) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    for _ in 0..100_000 {
        let reply = client.call_words(&format!("SCAN {cursor} {options}"));
        let Reply::Array(parts) = reply else {
            panic!("SCAN replied {reply:?}")
        };
        let [next, Reply::Array(keys)] = parts.as_slice() else {
            panic!("SCAN replied {parts:?}")
        };
        seen.extend(keys.iter().map(reply_text));
        cursor = reply_text(next);
        if cursor == "0" {
            return seen;
        }
    }
    panic!("SCAN did not finish");
}

fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys
}

#[test]
fn scan_visits_every_key_exactly_once_over_three_shards() {
    let server = TestServer::start(3);
    let mut client = server.raw();
    let keys = fill(&mut client, "scan:", 1200);
    assert_spans_all_shards(keys.iter().map(String::as_str), 3);
    let seen = full_scan(&mut client, "COUNT 7");
    assert_eq!(seen.len(), keys.len(), "no key returned twice");
    assert_eq!(sorted(seen), sorted(keys));
}

#[test]
fn scan_match_and_type_filter_on_every_shard() {
    let server = TestServer::start(3);
    let mut client = server.raw();
    let keys = fill(&mut client, "scan:", 1000);
    fill(&mut client, "other:", 300);
    let tens: Vec<String> = keys.into_iter().filter(|k| k.ends_with('0')).collect();
    assert_spans_all_shards(tens.iter().map(String::as_str), 3);
    let matched = full_scan(&mut client, "MATCH scan:*0 COUNT 7");
    assert_eq!(matched.len(), tens.len(), "no key returned twice");
    assert_eq!(sorted(matched), sorted(tens.clone()));
    let typed = full_scan(&mut client, "MATCH scan:*0 COUNT 7 TYPE string");
    assert_eq!(sorted(typed), sorted(tens));
    assert_eq!(
        full_scan(&mut client, "COUNT 7 TYPE hash"),
        Vec::<String>::new()
    );
}

#[test]
fn keys_and_dbsize_count_every_shard() {
    let server = TestServer::start(3);
    let mut client = server.raw();
    let keys = fill(&mut client, "k:", 1000);
    assert_eq!(client.call_words("DBSIZE"), int(1000));
    let Reply::Array(all) = client.call_words("KEYS *") else {
        panic!("KEYS replies an array")
    };
    assert_eq!(sorted(all.iter().map(reply_text).collect()), sorted(keys));
    let Reply::Array(some) = client.call_words("KEYS k:99*") else {
        panic!("KEYS replies an array")
    };
    let want = [
        "k:99", "k:990", "k:991", "k:992", "k:993", "k:994", "k:995", "k:996", "k:997", "k:998",
        "k:999",
    ];
    assert_eq!(
        sorted(some.iter().map(reply_text).collect()),
        sorted(want.iter().map(|k| k.to_string()).collect())
    );
    assert_eq!(client.call_words("KEYS nomatch*"), array(vec![]));
}

#[test]
fn randomkey_returns_an_existing_key_and_nil_when_empty() {
    let server = TestServer::start(3);
    let mut client = server.raw();
    assert_eq!(client.call_words("RANDOMKEY"), nil());
    let keys: HashSet<String> = fill(&mut client, "r:", 50).into_iter().collect();
    for _ in 0..20 {
        let key = reply_text(&client.call_words("RANDOMKEY"));
        assert!(
            keys.contains(&key),
            "RANDOMKEY gave {key}, which was never set"
        );
    }
}

#[test]
fn flushdb_empties_only_the_selected_db_and_flushall_empties_every_db() {
    let server = TestServer::start(3);
    let mut client = server.raw();
    fill(&mut client, "zero:", 100);
    assert_eq!(client.call_words("SELECT 1"), ok());
    fill(&mut client, "one:", 100);
    assert_eq!(client.call_words("FLUSHDB"), ok());
    assert_eq!(client.call_words("DBSIZE"), int(0));
    assert_eq!(client.call_words("SELECT 0"), ok());
    assert_eq!(client.call_words("DBSIZE"), int(100));
    assert_eq!(client.call_words("SELECT 2"), ok());
    fill(&mut client, "two:", 100);
    assert_eq!(client.call_words("FLUSHALL"), ok());
    for db in 0..3 {
        assert_eq!(client.call_words(&format!("SELECT {db}")), ok());
        assert_eq!(
            client.call_words("DBSIZE"),
            int(0),
            "db {db} after FLUSHALL"
        );
    }
}

#[test]
fn select_isolates_databases_also_for_keys_on_remote_shards() {
    let server = TestServer::start(3);
    let mut writer = server.raw();
    assert_eq!(writer.call_words("SELECT 1"), ok());
    let keys = fill(&mut writer, "db1:", 30);
    assert_spans_all_shards(keys.iter().map(String::as_str), 3);
    // A fresh connection may live on any shard: most keys are remote to it.
    let mut reader = server.raw();
    for key in &keys {
        assert_eq!(
            reader.call_words(&format!("GET {key}")),
            nil(),
            "{key} from db 0"
        );
    }
    let mget = format!("MGET {}", keys.join(" "));
    assert_eq!(reader.call_words(&mget), array(vec![nil(); keys.len()]));
    assert_eq!(reader.call_words("DBSIZE"), int(0));
    assert_eq!(reader.call_words("KEYS *"), array(vec![]));
    assert_eq!(reader.call_words("SELECT 1"), ok());
    assert_eq!(reader.call_words(&mget), array(vec![bulk("x"); keys.len()]));
    assert_eq!(reader.call_words("DBSIZE"), int(30));
    assert_eq!(
        reader.call_words("SELECT 16"),
        error("ERR DB index is out of range")
    );
}

// ---------------------------------------------------------------------------
// Misbehaving clients
// ---------------------------------------------------------------------------

fn connected_clients(client: &mut RawClient) -> u64 {
    client
        .info_field("clients", "connected_clients")
        .parse()
        .expect("a number")
}

#[test]
fn client_closing_mid_pipeline_leaves_the_server_healthy() {
    let server = TestServer::start(4);
    let mut observer = server.raw();
    assert_eq!(observer.call_words("SET survivor yes"), ok());
    let baseline = connected_clients(&mut observer);
    for round in 0..5 {
        let mut leaver = server.raw();
        poll_until("the new client is counted", || {
            connected_clients(&mut observer) == baseline + 1
        });
        let commands: Vec<Vec<u8>> = (0..1000)
            .map(|i| words(&format!("SET gone{round}:{i} {i}")))
            .collect();
        leaver.send(&commands.concat());
        drop(leaver);
    }
    poll_until("connected_clients returns to its baseline", || {
        connected_clients(&mut observer) == baseline
    });
    assert_eq!(observer.call_words("PING"), simple("PONG"));
    assert_eq!(observer.call_words("GET survivor"), bulk("yes"));
    let (commands, expected) = ordered_pipeline("after:", 200);
    assert_eq!(server.raw().pipeline(&commands), expected);
}

/// A key for each of `shards` shards (`big0` lives on shard 0, ...).
fn one_key_per_shard(prefix: &str, shards: usize) -> Vec<String> {
    let slots = SlotMap::new(shards);
    (0..shards)
        .map(|shard| {
            (0..)
                .map(|i| format!("{prefix}{i}"))
                .find(|key| slots.shard_of_key(key.as_bytes()) == shard)
                .expect("some key lands on every shard")
        })
        .collect()
}

#[test]
fn slow_readers_are_paused_while_other_clients_are_served() {
    const GETS_PER_KEY: usize = 64;
    const VALUE_BYTES: usize = 1 << 20;
    /// What four paused clients may hold: each its output up to the pause
    /// threshold and a reply beyond it, far below what they asked for.
    const RSS_GROWTH_MAX: u64 = 48 << 20;
    // A child process, so that its RSS is the server's alone.
    let server = ServerProcess::start(&["--threads", "2"]);
    let mut other = server.raw();
    let value = vec![b'v'; VALUE_BYTES];
    let keys = one_key_per_shard("big", 2);
    for key in &keys {
        assert_eq!(other.call(&[b"SET", key.as_bytes(), &value]), ok());
    }
    let rss_before = other.rss_bytes();
    // Slow clients GET a block of one key, then a block of the other. Homes
    // alternate between the shards, so with orders A, A, B, B every
    // combination occurs: a first block served locally, and a first block of
    // consecutive commands forwarded to the other shard.
    let blocks = |first: &str, second: &str| -> Vec<Vec<u8>> {
        [first, second]
            .iter()
            .flat_map(|key| (0..GETS_PER_KEY).map(move |_| words(&format!("GET {key}"))))
            .collect()
    };
    let (a, b) = (&keys[0], &keys[1]);
    let mut slow_readers = Vec::new();
    for (first, second) in [(a, b), (a, b), (b, a), (b, a)] {
        let mut slow = server.raw();
        slow.send(&blocks(first, second).concat());
        slow_readers.push(slow);
    }
    // The slow clients read nothing; everyone else is still served.
    for i in 0..200 {
        assert_eq!(other.call_words(&format!("SET busy{i} {i}")), ok());
        assert_eq!(
            other.call_words(&format!("GET busy{i}")),
            bulk(&i.to_string())
        );
    }
    let growth = other.rss_bytes().saturating_sub(rss_before);
    assert!(
        growth < RSS_GROWTH_MAX,
        "RSS grew by {growth} bytes for clients that read nothing ({} bytes of replies pending)",
        slow_readers.len() * 2 * GETS_PER_KEY * VALUE_BYTES
    );
    for slow in &mut slow_readers {
        for position in 0..2 * GETS_PER_KEY {
            assert_eq!(slow.read_reply(), bulk_bytes(&value), "GET {position}");
        }
        assert_eq!(slow.call_words("PING"), simple("PONG"));
    }
}

// ---------------------------------------------------------------------------
// Connection and server commands
// ---------------------------------------------------------------------------

#[test]
fn client_id_setname_getname_info_and_list() {
    let server = TestServer::start(2);
    let mut first = server.raw();
    let mut second = server.raw();
    let Reply::Integer(first_id) = first.call_words("CLIENT ID") else {
        panic!("CLIENT ID replies an integer")
    };
    let Reply::Integer(second_id) = second.call_words("CLIENT ID") else {
        panic!("CLIENT ID replies an integer")
    };
    assert_ne!(first_id, second_id);
    assert_eq!(first.call_words("CLIENT GETNAME"), nil());
    assert_eq!(first.call_words("CLIENT SETNAME alice"), ok());
    assert_eq!(first.call_words("CLIENT GETNAME"), bulk("alice"));
    assert_eq!(
        first.call(&[b"CLIENT", b"SETNAME", b"has space"]),
        error("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    let info = reply_text(&first.call_words("CLIENT INFO"));
    assert!(info.starts_with(&format!("id={first_id} ")), "{info}");
    assert!(info.contains(" name=alice "), "{info}");
    assert!(info.ends_with('\n'), "{info}");
    let list = reply_text(&second.call_words("CLIENT LIST"));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(list.contains(&format!("id={first_id} ")) && list.contains(" name=alice "));
    assert!(list.contains(&format!("id={second_id} ")));
    assert_eq!(
        first.call_words("CLIENT NOSUCH"),
        error("ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.")
    );
}

fn map_field<'a>(reply: &'a Reply, name: &str) -> &'a Reply {
    let Reply::Map(pairs) = reply else {
        panic!("expected a map, got {reply:?}")
    };
    pairs
        .iter()
        .find(|(key, _)| *key == bulk(name))
        .map(|(_, value)| value)
        .unwrap_or_else(|| panic!("no {name} in {reply:?}"))
}

#[test]
fn hello_3_switches_the_connection_to_resp3() {
    let server = TestServer::start(2);
    let mut client = server.raw();
    let Reply::Integer(id) = client.call_words("CLIENT ID") else {
        panic!("CLIENT ID replies an integer")
    };
    let hello = client.call_words("HELLO 3");
    assert_eq!(map_field(&hello, "server"), &bulk("redis"));
    assert_eq!(map_field(&hello, "proto"), &int(3));
    assert_eq!(map_field(&hello, "id"), &int(id));
    assert_eq!(map_field(&hello, "mode"), &bulk("standalone"));
    assert_eq!(map_field(&hello, "role"), &bulk("master"));
    // RESP3 shapes from now on: `_` for nil, `%` maps.
    assert_eq!(client.call_words("GET missing"), Reply::Null);
    let config = client.call_words("CONFIG GET hz");
    assert_eq!(config, Reply::Map(vec![(bulk("hz"), bulk("10"))]));
    let hello2 = client.call_words("HELLO 2");
    assert_eq!(
        map_field(&Reply::Map(flat_pairs(&hello2)), "proto"),
        &int(2),
        "HELLO 2 answers as a flat RESP2 array"
    );
}

/// A RESP2 flattened map (`[k1, v1, k2, v2]`) as pairs.
fn flat_pairs(reply: &Reply) -> Vec<(Reply, Reply)> {
    let Reply::Array(items) = reply else {
        panic!("expected a flat array, got {reply:?}")
    };
    items
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect()
}

#[test]
fn hello_with_unsupported_version_is_a_noproto_error() {
    let server = TestServer::start(1);
    let mut client = server.raw();
    assert_eq!(
        client.call_words("HELLO 4"),
        error("NOPROTO unsupported protocol version")
    );
    assert_eq!(
        client.call_words("HELLO 1"),
        error("NOPROTO unsupported protocol version")
    );
    assert_eq!(
        client.call_words("HELLO three"),
        error("ERR Protocol version is not an integer or out of range")
    );
    // The connection still speaks RESP2: maps arrive as flat arrays.
    assert_eq!(
        client.call_words("CONFIG GET hz"),
        array(vec![bulk("hz"), bulk("10")])
    );
}

#[test]
fn command_count_info_docs_and_list_agree() {
    let server = TestServer::start(1);
    let mut client = server.raw();
    let Reply::Integer(count) = client.call_words("COMMAND COUNT") else {
        panic!("COMMAND COUNT replies an integer")
    };
    let Reply::Array(names) = client.call_words("COMMAND LIST") else {
        panic!("COMMAND LIST replies an array")
    };
    assert_eq!(names.len() as i64, count);
    let names: HashSet<String> = names.iter().map(reply_text).collect();
    for name in [
        "get", "set", "mget", "ping", "command", "info", "config", "client",
    ] {
        assert!(names.contains(name), "COMMAND LIST lacks {name}");
    }
    let Reply::Array(infos) = client.call_words("COMMAND INFO get nosuch") else {
        panic!("COMMAND INFO replies an array")
    };
    let Reply::Array(get) = &infos[0] else {
        panic!("COMMAND INFO get: {infos:?}")
    };
    assert_eq!(get[0], bulk("get"));
    assert_eq!(get[1], int(2));
    assert_eq!(&get[3..6], &[int(1), int(1), int(1)]);
    assert_eq!(infos[1], Reply::NullArray);
    let docs = flat_pairs(&client.call_words("COMMAND DOCS get"));
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].0, bulk("get"));
    let fields = Reply::Map(flat_pairs(&docs[0].1));
    assert_eq!(map_field(&fields, "group"), &bulk("string"));
    assert_eq!(map_field(&fields, "since"), &bulk("1.0.0"));
}

#[test]
fn info_sections_use_the_redis_format() {
    let server = TestServer::start(2);
    let mut client = server.raw();
    fill(&mut client, "i:", 10);
    let all = reply_text(&client.call_words("INFO"));
    for header in ["# Server", "# Clients", "# Memory", "# Stats", "# Keyspace"] {
        assert!(
            all.contains(&format!("{header}\r\n")),
            "INFO lacks {header}"
        );
    }
    for line in all
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(line.contains(':'), "INFO line without name:value: {line:?}");
    }
    let server_section = reply_text(&client.call_words("INFO server"));
    assert!(
        server_section.starts_with("# Server\r\n"),
        "{server_section}"
    );
    assert!(!server_section.contains("# Clients"));
    assert_eq!(
        client.info_field("server", "tcp_port"),
        server.port().to_string()
    );
    assert_eq!(client.info_field("server", "redis_version"), "7.0.15");
    assert_eq!(client.info_field("clients", "connected_clients"), "1");
    assert!(client.rss_bytes() > 0);
    let used: u64 = client.info_field("memory", "used_memory").parse().unwrap();
    assert!(used > 0);
    let processed: u64 = client
        .info_field("stats", "total_commands_processed")
        .parse()
        .unwrap();
    assert!(processed >= 10);
    assert_eq!(
        client.info_field("keyspace", "db0"),
        "keys=10,expires=0,avg_ttl=0"
    );
}

#[test]
fn config_get_glob_set_and_refusals_are_exact() {
    let server = TestServer::start(2);
    let mut client = server.raw();
    let pairs = flat_pairs(&client.call_words("CONFIG GET *max*"));
    let names: HashSet<String> = pairs.iter().map(|(name, _)| reply_text(name)).collect();
    for name in [
        "maxclients",
        "proto-max-bulk-len",
        "maxmemory",
        "maxmemory-policy",
    ] {
        assert!(
            names.contains(name),
            "CONFIG GET *max* lacks {name}: {names:?}"
        );
    }
    assert!(names.iter().all(|n| n.contains("max")), "{names:?}");
    assert_eq!(
        client.call_words("CONFIG GET port"),
        array(vec![bulk("port"), bulk(&server.port().to_string())])
    );
    assert_eq!(client.call_words("CONFIG SET hz 20"), ok());
    assert_eq!(
        client.call_words("CONFIG GET hz"),
        array(vec![bulk("hz"), bulk("20")])
    );
    // Every shard took the new value, whichever one a connection lives on.
    for _ in 0..4 {
        assert_eq!(
            server.raw().call_words("CONFIG GET hz"),
            array(vec![bulk("hz"), bulk("20")])
        );
    }
    assert_eq!(
        client.call_words("CONFIG SET port 1"),
        error("ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config")
    );
    assert_eq!(
        client.call_words("CONFIG SET nosuch 1"),
        error("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
    );
    assert_eq!(
        client.call_words("CONFIG SET hz"),
        error("ERR wrong number of arguments for 'config|set' command")
    );
    assert_eq!(client.call_words("CONFIG GET nosuch*"), array(vec![]));
}

#[test]
fn time_echo_and_ping_reply_as_redis_does() {
    let server = TestServer::start(1);
    let mut client = server.raw();
    let Reply::Array(time) = client.call_words("TIME") else {
        panic!("TIME replies an array")
    };
    let seconds: u64 = reply_text(&time[0]).parse().expect("seconds");
    let micros: u64 = reply_text(&time[1]).parse().expect("microseconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(seconds.abs_diff(now) < 3600, "TIME is the wall clock");
    assert!(micros < 1_000_000);
    assert_eq!(client.call_words("ECHO hello"), bulk("hello"));
    assert_eq!(client.call(&[b"ECHO", b""]), bulk(""));
    assert_eq!(client.call_words("PING"), simple("PONG"));
    assert_eq!(client.call_words("PING hi"), bulk("hi"));
    assert_eq!(
        client.call_words("PING a b"),
        error("ERR wrong number of arguments for 'ping' command")
    );
    assert_eq!(
        client.call_words("ECHO"),
        error("ERR wrong number of arguments for 'echo' command")
    );
}

#[test]
fn quit_replies_ok_then_closes_after_earlier_replies() {
    let server = TestServer::start(2);
    let mut client = server.raw();
    client.send(
        &[
            words("SET q 1"),
            words("GET q"),
            words("QUIT"),
            words("PING"),
        ]
        .concat(),
    );
    assert_eq!(client.read_reply(), ok());
    assert_eq!(client.read_reply(), bulk("1"));
    assert_eq!(client.read_reply(), ok());
    assert!(client.is_closed(), "nothing after QUIT's +OK");
    assert_eq!(server.raw().call_words("PING"), simple("PONG"));
}

#[test]
fn shutdown_stops_the_server() {
    let config = corekv::config::Config {
        port: 0,
        threads: 2,
        ..Default::default()
    };
    let handle = corekv::platform::runtime::start(config).expect("server starts");
    let port = handle.port();
    let mut client = RawClient::connect(port);
    assert_eq!(client.call_words("PING"), simple("PONG"));
    client.command(&[b"SHUTDOWN"]);
    assert!(
        client.is_closed(),
        "SHUTDOWN closes the connection without a reply"
    );
    let (stopped_tx, stopped_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        handle.join_until_stopped();
        let _ = stopped_tx.send(());
    });
    stopped_rx
        .recv_timeout(POLL_DEADLINE)
        .expect("every shard thread exits after SHUTDOWN");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens after SHUTDOWN"
    );
}

// ---------------------------------------------------------------------------
// The `redis` crate as a client
// ---------------------------------------------------------------------------

#[test]
fn redis_crate_reads_and_writes_strings() {
    let server = TestServer::start(2);
    let mut con = server.client();
    let _: () = con.set("greeting", "hello").unwrap();
    let value: String = con.get("greeting").unwrap();
    assert_eq!(value, "hello");
    let missing: Option<String> = con.get("missing").unwrap();
    assert_eq!(missing, None);
    let binary: Vec<u8> = vec![0, 13, 10, 255];
    let _: () = con.set(&binary[..], &binary[..]).unwrap();
    let read: Vec<u8> = con.get(&binary[..]).unwrap();
    assert_eq!(read, binary);
    let deleted: i64 = con.del(&["greeting", "missing"]).unwrap();
    assert_eq!(deleted, 1);
}

#[test]
fn redis_crate_pipeline_replies_in_order() {
    let server = TestServer::start(4);
    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.set(format!("p{i}"), i).ignore();
        pipe.get(format!("p{i}"));
    }
    let values: Vec<i64> = pipe.query(&mut con).unwrap();
    assert_eq!(values, (0..500).collect::<Vec<i64>>());
    let (a, b, size): (String, Option<String>, i64) = redis::pipe()
        .get("p7")
        .get("nope")
        .cmd("DBSIZE")
        .query(&mut con)
        .unwrap();
    assert_eq!((a.as_str(), b, size), ("7", None, 500));
}

#[test]
fn redis_crate_mget_spans_shards() {
    let server = TestServer::start(4);
    let mut con = server.client();
    let keys: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
    assert_spans_all_shards(keys.iter().map(String::as_str), 4);
    let pairs: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), format!("v-{k}"))).collect();
    let _: () = con.mset(&pairs).unwrap();
    let mut asked = keys.clone();
    asked.insert(5, "absent".to_string());
    let values: Vec<Option<String>> = con.mget(&asked).unwrap();
    let want: Vec<Option<String>> = asked
        .iter()
        .map(|k| (k != "absent").then(|| format!("v-{k}")))
        .collect();
    assert_eq!(values, want);
}

#[test]
fn redis_crate_url_database_selects_that_db() {
    let server = TestServer::start(3);
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/5", server.port())).unwrap();
    let mut db5 = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .unwrap();
    let _: () = db5.set("in5", "yes").unwrap();
    let value: String = db5.get("in5").unwrap();
    assert_eq!(value, "yes");
    let mut db0 = server.client();
    let absent: Option<String> = db0.get("in5").unwrap();
    assert_eq!(absent, None);
    let mut raw = server.raw();
    assert_eq!(raw.call_words("SELECT 5"), ok());
    assert_eq!(raw.call_words("GET in5"), bulk("yes"));
}

#[test]
fn maxclients_refuses_connections_beyond_the_limit_with_redis_error() {
    let server = TestServer::start_with(2, |config| config.maxclients = 3);
    let mut clients: Vec<common::RawClient> = (0..3).map(|_| server.raw()).collect();
    for client in &mut clients {
        assert_eq!(client.call(&[b"PING"]), common::simple("PONG"));
    }
    let mut refused = server.raw();
    assert_eq!(
        refused.read_reply(),
        common::error("ERR max number of clients reached")
    );
    assert!(refused.is_closed());
    // Closing one frees a slot.
    drop(clients.pop());
    common::poll_until("a closed client frees its slot", || {
        server.raw().call(&[b"PING"]) == common::simple("PONG")
    });
}
