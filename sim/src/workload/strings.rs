//! Generators for strings, bitmaps, generic key commands, whole-keyspace
//! commands, connection commands and malformed commands.

use bytes::Bytes;
use corekv::resp::{Protocol, Reply};
use rand::Rng;

use super::{text, Effect, Expect, GenCtx, Generated, Generator};

/// Strings, bitmaps, generic keys, whole-keyspace and connection commands.
pub static GENERATORS: &[Generator] = &[
    // --- strings ---
    generator!("get", 120, Keyed, |c| {
        Generated::traced(vec![c.name("get"), c.key()])
    }),
    generator!("set", 120, Keyed, gen_set),
    generator!("mget", 50, Keyed, |c| {
        let n = c.rng.gen_range(1..=5);
        let mut argv = vec![c.name("mget")];
        argv.extend(c.keys(n));
        Generated::traced(argv)
    }),
    generator!("mset", 40, Keyed, |c| {
        let n = c.rng.gen_range(1..=4);
        let mut argv = vec![c.name("mset")];
        for key in c.keys(n) {
            argv.push(key);
            argv.push(c.value());
        }
        Generated::traced(argv)
    }),
    generator!("incr", 25, Keyed, |c| Generated::traced(vec![
        c.name("incr"),
        c.key()
    ])),
    generator!("decr", 10, Keyed, |c| Generated::traced(vec![
        c.name("decr"),
        c.key()
    ])),
    generator!("incrby", 15, Keyed, |c| {
        let by = c.rng.gen_range(-1000i64..1000).to_string();
        Generated::traced(vec![c.name("incrby"), c.key(), Bytes::from(by)])
    }),
    generator!("decrby", 10, Keyed, |c| {
        let by = c.rng.gen_range(-1000i64..1000).to_string();
        Generated::traced(vec![c.name("decrby"), c.key(), Bytes::from(by)])
    }),
    generator!("append", 20, Keyed, |c| {
        Generated::traced(vec![c.name("append"), c.key(), c.value()])
    }),
    generator!("strlen", 10, Keyed, |c| {
        Generated::traced(vec![c.name("strlen"), c.key()])
    }),
    generator!("getdel", 10, Keyed, |c| {
        Generated::traced(vec![c.name("getdel"), c.key()])
    }),
    generator!("getset", 10, Keyed, |c| {
        Generated::traced(vec![c.name("getset"), c.key(), c.value()])
    }),
    generator!("setnx", 10, Keyed, |c| {
        Generated::traced(vec![c.name("setnx"), c.key(), c.value()])
    }),
    generator!("psetex", 10, Keyed, |c| {
        let ttl = Bytes::from(c.ttl_ms().to_string());
        Generated::traced(vec![c.name("psetex"), c.key(), ttl, c.value()])
    }),
    generator!("getrange", 10, Keyed, |c| {
        let start = Bytes::from(c.rng.gen_range(-5i64..5).to_string());
        let end = Bytes::from(c.rng.gen_range(-5i64..10).to_string());
        Generated::traced(vec![c.name("getrange"), c.key(), start, end])
    }),
    generator!("setrange", 10, Keyed, |c| {
        let offset = Bytes::from(c.rng.gen_range(0..20u32).to_string());
        Generated::traced(vec![c.name("setrange"), c.key(), offset, c.value()])
    }),
    generator!("getex", 10, Keyed, |c| {
        let mut argv = vec![c.name("getex"), c.key()];
        match c.rng.gen_range(0..3) {
            0 => {}
            1 => argv.extend([text("PX"), Bytes::from(c.ttl_ms().to_string())]),
            _ => argv.push(text("PERSIST")),
        }
        Generated::traced(argv)
    }),
    generator!("incrbyfloat", 5, Keyed, |c| {
        const AMOUNTS: &[&str] = &["1.5", "-0.25", "10", "3.0e2", "0.1"];
        let amount = AMOUNTS[c.rng.gen_range(0..AMOUNTS.len())];
        Generated::traced(vec![c.name("incrbyfloat"), c.key(), text(amount)])
    }),
    generator!("setex", 5, Keyed, |c| {
        let seconds = Bytes::from(c.rng.gen_range(1..=2u32).to_string());
        Generated::traced(vec![c.name("setex"), c.key(), seconds, c.value()])
    }),
    generator!("substr", 3, Keyed, |c| {
        let end = Bytes::from(c.rng.gen_range(-3i64..8).to_string());
        Generated::traced(vec![c.name("substr"), c.key(), text("0"), end])
    }),
    generator!("msetnx", 10, Keyed, |c| {
        let n = c.rng.gen_range(1..=3);
        let mut argv = vec![c.name("msetnx")];
        for key in c.tag_keys(n) {
            argv.push(key);
            argv.push(c.value());
        }
        Generated::traced(argv)
    }),
    generator!("lcs", 5, Keyed, |c| {
        let keys = c.tag_keys(2);
        let mut argv = vec![c.name("lcs"), keys[0].clone(), keys[1].clone()];
        match c.rng.gen_range(0..3) {
            0 => argv.push(text("LEN")),
            1 => argv.extend([text("IDX"), text("WITHMATCHLEN")]),
            _ => {}
        }
        Generated::traced(argv)
    }),
    // --- bitmaps ---
    generator!("setbit", 10, Keyed, |c| {
        let offset = Bytes::from(c.rng.gen_range(0..64u32).to_string());
        let bit = text(if c.rng.gen_bool(0.5) { "1" } else { "0" });
        Generated::traced(vec![c.name("setbit"), c.key(), offset, bit])
    }),
    generator!("getbit", 5, Keyed, |c| {
        let offset = Bytes::from(c.rng.gen_range(0..64u32).to_string());
        Generated::traced(vec![c.name("getbit"), c.key(), offset])
    }),
    generator!("bitcount", 5, Keyed, |c| {
        let mut argv = vec![c.name("bitcount"), c.key()];
        if c.rng.gen_bool(0.5) {
            argv.push(Bytes::from(c.rng.gen_range(-4i64..4).to_string()));
            argv.push(Bytes::from(c.rng.gen_range(-4i64..8).to_string()));
            if c.rng.gen_bool(0.3) {
                argv.push(text(if c.rng.gen_bool(0.5) { "BIT" } else { "BYTE" }));
            }
        }
        Generated::traced(argv)
    }),
    generator!("bitpos", 3, Keyed, |c| {
        let bit = text(if c.rng.gen_bool(0.5) { "1" } else { "0" });
        let mut argv = vec![c.name("bitpos"), c.key(), bit];
        if c.rng.gen_bool(0.5) {
            argv.push(Bytes::from(c.rng.gen_range(-2i64..4).to_string()));
        }
        Generated::traced(argv)
    }),
    generator!("bitfield", 5, Keyed, |c| {
        let mut argv = vec![c.name("bitfield"), c.key()];
        if c.rng.gen_bool(0.3) {
            const MODES: &[&str] = &["WRAP", "SAT", "FAIL"];
            let mode = MODES[c.rng.gen_range(0..MODES.len())];
            argv.extend([text("OVERFLOW"), text(mode)]);
        }
        match c.rng.gen_range(0..3) {
            0 => argv.extend([text("GET"), text("u8"), text("0")]),
            1 => argv.extend([text("SET"), text("i5"), text("#1"), text("-3")]),
            _ => argv.extend([text("INCRBY"), text("u4"), text("2"), text("7")]),
        }
        Generated::traced(argv)
    }),
    generator!("bitfield_ro", 2, Keyed, |c| {
        Generated::traced(vec![
            c.name("bitfield_ro"),
            c.key(),
            text("GET"),
            text("i8"),
            text("4"),
        ])
    }),
    generator!("bitop", 10, Gather, |c| {
        let mut argv = vec![c.name("bitop"), text("OR"), c.gather_key()];
        argv.extend([c.gather_key(), c.gather_key()]);
        Generated::traced(argv)
    }),
    generator!("lcs", 10, Gather, |c| {
        Generated::traced(vec![c.name("lcs"), c.gather_key(), c.gather_key()])
    }),
    generator!("bitop", 5, Keyed, |c| {
        let keys = c.tag_keys(3);
        const OPERATIONS: &[&str] = &["AND", "OR", "XOR", "NOT"];
        let operation = OPERATIONS[c.rng.gen_range(0..OPERATIONS.len())];
        let sources = if operation == "NOT" { 1 } else { 2 };
        let mut argv = vec![c.name("bitop"), text(operation)];
        argv.extend(keys.into_iter().take(1 + sources));
        Generated::traced(argv)
    }),
    // --- generic ---
    generator!("rename", 8, Keyed, |c| {
        let keys = c.tag_keys(2);
        Generated::traced(vec![c.name("rename"), keys[0].clone(), keys[1].clone()])
    }),
    generator!("renamenx", 4, Keyed, |c| {
        let keys = c.tag_keys(2);
        Generated::traced(vec![c.name("renamenx"), keys[0].clone(), keys[1].clone()])
    }),
    generator!("copy", 6, Keyed, |c| {
        let keys = c.tag_keys(2);
        let mut argv = vec![c.name("copy"), keys[0].clone(), keys[1].clone()];
        if c.rng.gen_bool(0.3) {
            argv.extend([
                text("DB"),
                Bytes::from(c.rng.gen_range(0..c.swarm.databases_used).to_string()),
            ]);
        }
        if c.rng.gen_bool(0.5) {
            argv.push(text("REPLACE"));
        }
        Generated::traced(argv)
    }),
    generator!("object", 3, Keyed, |c| {
        Generated::traced(vec![c.name("object"), text("ENCODING"), c.key()])
    }),
    generator!("expireat", 3, Keyed, |c| {
        let at = c.swarm.unix_epoch_us / 1_000_000 + c.rng.gen_range(0..3);
        Generated::traced(vec![
            c.name("expireat"),
            c.key(),
            Bytes::from(at.to_string()),
        ])
    }),
    generator!("expiretime", 3, Keyed, |c| {
        Generated::traced(vec![c.name("expiretime"), c.key()])
    }),
    generator!("del", 40, Keyed, |c| {
        let n = c.rng.gen_range(1..=4);
        let mut argv = vec![c.name("del")];
        argv.extend(c.keys(n));
        Generated::traced(argv)
    }),
    generator!("unlink", 10, Keyed, |c| {
        let n = c.rng.gen_range(1..=4);
        let mut argv = vec![c.name("unlink")];
        argv.extend(c.keys(n));
        Generated::traced(argv)
    }),
    generator!("exists", 40, Keyed, |c| {
        let n = c.rng.gen_range(1..=4);
        let mut argv = vec![c.name("exists")];
        argv.extend(c.keys(n));
        Generated::traced(argv)
    }),
    generator!("touch", 5, Keyed, |c| {
        let n = c.rng.gen_range(1..=4);
        let mut argv = vec![c.name("touch")];
        argv.extend(c.keys(n));
        Generated::traced(argv)
    }),
    generator!("type", 10, Keyed, |c| Generated::traced(vec![
        c.name("type"),
        c.key()
    ])),
    generator!("pexpire", 30, Keyed, |c| {
        let ttl = Bytes::from(c.ttl_ms().to_string());
        let mut argv = vec![c.name("pexpire"), c.key(), ttl];
        if c.rng.gen_bool(0.2) {
            const OPTIONS: &[&str] = &["NX", "XX", "GT", "LT"];
            let option = OPTIONS[c.rng.gen_range(0..OPTIONS.len())];
            argv.push(text(option));
        }
        Generated::traced(argv)
    }),
    generator!("expire", 10, Keyed, |c| {
        let seconds = Bytes::from(c.rng.gen_range(1..=2u32).to_string());
        Generated::traced(vec![c.name("expire"), c.key(), seconds])
    }),
    generator!("pexpireat", 5, Keyed, |c| {
        // Mostly near the present; 1 is long past (deletes the key).
        let at = if c.rng.gen_bool(0.2) {
            1
        } else {
            c.swarm.unix_epoch_us / 1000 + c.rng.gen_range(0..3_000)
        };
        Generated::traced(vec![
            c.name("pexpireat"),
            c.key(),
            Bytes::from(at.to_string()),
        ])
    }),
    generator!("pttl", 15, Keyed, |c| Generated::traced(vec![
        c.name("pttl"),
        c.key()
    ])),
    generator!("ttl", 10, Keyed, |c| Generated::traced(vec![
        c.name("ttl"),
        c.key()
    ])),
    generator!("pexpiretime", 5, Keyed, |c| {
        Generated::traced(vec![c.name("pexpiretime"), c.key()])
    }),
    generator!("persist", 10, Keyed, |c| {
        Generated::traced(vec![c.name("persist"), c.key()])
    }),
    // --- whole keyspace ---
    generator!("dbsize", 10, FanOut, |c| Generated::traced(vec![
        c.name("dbsize")
    ])),
    generator!("keys", 8, FanOut, |c| {
        Generated::traced(vec![c.name("keys"), c.pattern()])
    }),
    generator!("scan", 15, FanOut, |c| {
        let cursor = if c.rng.gen_bool(0.8) {
            c.scan_cursor.clone()
        } else {
            text("0")
        };
        let mut argv = vec![c.name("scan"), cursor];
        if c.rng.gen_bool(0.3) {
            argv.extend([text("MATCH"), c.pattern()]);
        }
        if c.rng.gen_bool(0.5) {
            argv.extend([
                text("COUNT"),
                Bytes::from(c.rng.gen_range(1..=20u32).to_string()),
            ]);
        }
        if c.rng.gen_bool(0.1) {
            argv.extend([text("TYPE"), text("string")]);
        }
        Generated::traced(argv)
    }),
    generator!("randomkey", 5, FanOut, |c| Generated::traced(vec![
        c.name("randomkey")
    ])),
    generator!("flushdb", 3, FanOut, |c| Generated::traced(vec![
        c.name("flushdb")
    ])),
    generator!("swapdb", 3, FanOut, |c| {
        let a = c.rng.gen_range(0..c.swarm.databases_used + 1);
        let b = c.rng.gen_range(0..c.swarm.databases_used);
        Generated::traced(vec![
            c.name("swapdb"),
            Bytes::from(a.to_string()),
            Bytes::from(b.to_string()),
        ])
    }),
    generator!("flushall", 1, FanOut, |c| Generated::traced(vec![
        c.name("flushall")
    ])),
    // --- gathered (private keys; off by default) ---
    generator!("rename", 20, Gather, |c| {
        Generated::traced(vec![c.name("rename"), c.gather_key(), c.gather_key()])
    }),
    generator!("copy", 20, Gather, |c| {
        let mut argv = vec![c.name("copy"), c.gather_key(), c.gather_key()];
        if c.rng.gen_bool(0.5) {
            argv.push(text("REPLACE"));
        }
        Generated::traced(argv)
    }),
    generator!("msetnx", 20, Gather, |c| {
        let mut argv = vec![c.name("msetnx")];
        for _ in 0..c.rng.gen_range(1..=3) {
            argv.push(c.gather_key());
            argv.push(c.value());
        }
        Generated::traced(argv)
    }),
    generator!("set", 30, Gather, |c| {
        Generated::traced(vec![c.name("set"), c.gather_key(), c.value()])
    }),
    // --- connection ---
    generator!("select", 20, Connection, |c| {
        if c.rng.gen_bool(0.05) {
            return Generated {
                argv: vec![c.name("select"), Bytes::from(c.databases.to_string())],
                expect: Expect::Exact(Reply::error("ERR DB index is out of range")),
                effect: Effect::None,
            };
        }
        let db = c.rng.gen_range(0..c.swarm.databases_used);
        Generated {
            argv: vec![c.name("select"), Bytes::from(db.to_string())],
            expect: Expect::Exact(Reply::ok()),
            effect: Effect::Select(db),
        }
    }),
    generator!("ping", 5, Connection, |c| {
        let mut argv = vec![c.name("ping")];
        if c.rng.gen_bool(0.5) {
            argv.push(c.value());
        }
        Generated::traced(argv)
    }),
    generator!("hello", 4, Connection, |c| {
        let protocol = if c.rng.gen_bool(0.5) {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        let version = if protocol == Protocol::Resp3 {
            "3"
        } else {
            "2"
        };
        Generated {
            argv: vec![c.name("hello"), text(version)],
            expect: Expect::Success,
            effect: Effect::Protocol(protocol),
        }
    }),
    generator!("reset", 2, Connection, |c| Generated {
        argv: vec![c.name("reset")],
        expect: Expect::Exact(Reply::simple("RESET")),
        effect: Effect::Reset,
    }),
    generator!("echo", 5, Connection, |c| {
        Generated::traced(vec![c.name("echo"), c.value()])
    }),
    // --- malformed ---
    generator!("get", 5, Invalid, |c| {
        let argv = match c.rng.gen_range(0..3) {
            0 => vec![text("nosuchcommand"), c.key()],
            1 => vec![c.name("get")],
            _ => vec![c.name("mset"), c.key()],
        };
        Generated {
            argv,
            expect: Expect::Error,
            effect: Effect::None,
        }
    }),
];

/// `SET key value [NX|XX] [GET] [PX ms|EX s|KEEPTTL]`, options drawn independently.
fn gen_set(c: &mut GenCtx<'_>) -> Generated {
    let mut argv = vec![c.name("set"), c.key(), c.value()];
    match c.rng.gen_range(0..8) {
        0 => argv.push(text("NX")),
        1 => argv.push(text("XX")),
        _ => {}
    }
    if c.rng.gen_bool(0.1) {
        argv.push(text("GET"));
    }
    match c.rng.gen_range(0..10) {
        0..=2 => argv.extend([text("PX"), Bytes::from(c.ttl_ms().to_string())]),
        3 => argv.extend([text("EX"), text("1")]),
        4 => argv.push(text("KEEPTTL")),
        _ => {}
    }
    Generated::traced(argv)
}
