//! The workload: what simulated clients send.
//!
//! Commands come from a table of [`Generator`]s, one per command (or per
//! shape of one). A generator names the command it produces; generators
//! whose command the server's table does not (yet) declare are skipped, so
//! generators for whole families can be written ahead of them and join the
//! mix the moment the family lands. Per seed, each generator is switched on
//! or off and weighted from the swarm stream, so seeds differ in mix as well
//! as in faults.
//!
//! Keys come from a small universe drawn per seed: plain keys (`k0`, `k1`,
//! ... spread over every shard), hash-tag groups (`{t0}a`, `{t0}b`, ...
//! which share a slot, so multi-key commands over one group stay on one
//! shard), and keys private to one client (`c3.a`, ...) used only by
//! gathered commands (see [`Class::Gather`]).

use bytes::Bytes;
use corekv::commands::Table;
use corekv::resp::Reply;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::swarm::Swarm;

/// What the client model expects as the reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// The command runs keyspace handlers: the reply is whatever the traced
    /// executions say (one reply, or the reduction of the parts).
    Trace,
    /// The command runs no handler and replies exactly this (SELECT, QUIT).
    Exact(Reply),
    /// The command runs no handler and replies with an error (arity, unknown).
    Error,
}

/// What the command changes in the connection's own state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing.
    None,
    /// Selects this database (a SELECT that succeeds).
    Select(usize),
    /// Closes the connection after the reply (QUIT).
    Quit,
}

/// One generated command.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The command's arguments, name first.
    pub argv: Vec<Bytes>,
    /// The reply the client model expects.
    pub expect: Expect,
    /// Its effect on the connection.
    pub effect: Effect,
}

impl Generated {
    fn traced(argv: Vec<Bytes>) -> Generated {
        Generated {
            argv,
            expect: Expect::Trace,
            effect: Effect::None,
        }
    }
}

/// How a generator's commands interact with the rest of the workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Key commands on the shared key space (single-key, same-shard and
    /// split cross-shard multi-key commands) and keyless commands.
    Keyed,
    /// Whole-keyspace commands that run on every shard (DBSIZE, KEYS, SCAN,
    /// FLUSHDB, ...).
    FanOut,
    /// Gathered commands (RENAME, COPY, MSETNX, LCS): across shards they
    /// fetch entries, run at the home shard and store back, which is
    /// serializable only if no other command touches their keys in between
    /// (cross-shard atomicity is the transactions issue). They therefore
    /// use keys private to the client, and are off unless asked for; when
    /// on, fan-out commands are off, since FLUSHDB or KEYS would observe
    /// their keys between fetch and store.
    Gather,
    /// Connection commands (SELECT, PING, ...).
    Connection,
    /// Malformed commands (unknown name, wrong arity).
    Invalid,
}

/// Produces one kind of command.
#[derive(Clone, Copy, Debug)]
pub struct Generator {
    /// The command it produces (lowercase); skipped if the server lacks it.
    pub command: &'static str,
    /// Relative frequency before the per-seed swarm weighting.
    pub weight: u32,
    /// How it interacts with the rest of the workload.
    pub class: Class,
    /// Builds one command.
    pub generate: fn(&mut GenCtx<'_>) -> Generated,
}

/// The keys a seed's workload uses.
#[derive(Clone, Debug)]
pub struct KeyUniverse {
    plain: Vec<Bytes>,
    tagged: Vec<Vec<Bytes>>,
}

impl KeyUniverse {
    /// Draws the key universe of one seed.
    pub fn new(swarm: &Swarm) -> KeyUniverse {
        let plain = (0..swarm.plain_keys)
            .map(|i| Bytes::from(format!("k{i}")))
            .collect();
        let members = [b'a', b'b', b'c', b'd', b'e', b'f'];
        let tagged = (0..swarm.tag_groups)
            .map(|group| {
                members[..swarm.tag_group_size]
                    .iter()
                    .map(|m| Bytes::from(format!("{{t{group}}}{}", char::from(*m))))
                    .collect()
            })
            .collect();
        KeyUniverse { plain, tagged }
    }
}

/// What a generator may draw on.
pub struct GenCtx<'a> {
    /// The client's workload stream.
    pub rng: &'a mut ChaCha8Rng,
    /// The seed's key universe.
    pub keys: &'a KeyUniverse,
    /// The seed's parameters.
    pub swarm: &'a Swarm,
    /// Databases the server has (for out-of-range SELECTs).
    pub databases: usize,
    /// The client's index (for its private keys).
    pub client: usize,
    /// The cursor of the client's last SCAN reply ("0" to start over).
    pub scan_cursor: &'a Bytes,
}

impl GenCtx<'_> {
    /// A command name in a random ASCII case now and then (names are
    /// case-insensitive).
    pub fn name(&mut self, name: &'static str) -> Bytes {
        match self.rng.gen_range(0..16) {
            0 => Bytes::from(name.to_ascii_uppercase()),
            1 => Bytes::from(
                name.char_indices()
                    .map(|(i, c)| {
                        if i % 2 == 0 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect::<String>(),
            ),
            _ => Bytes::from_static(name.as_bytes()),
        }
    }

    /// One key of the shared key space.
    pub fn key(&mut self) -> Bytes {
        if self.keys.tagged.is_empty() || self.rng.gen_bool(0.7) {
            self.keys.plain[self.rng.gen_range(0..self.keys.plain.len())].clone()
        } else {
            let group = &self.keys.tagged[self.rng.gen_range(0..self.keys.tagged.len())];
            group[self.rng.gen_range(0..group.len())].clone()
        }
    }

    /// `count` keys for a multi-key command: either from one hash-tag group
    /// (one shard) or anywhere (usually several shards). May repeat keys.
    pub fn keys(&mut self, count: usize) -> Vec<Bytes> {
        if !self.keys.tagged.is_empty() && self.rng.gen_bool(0.35) {
            let group = &self.keys.tagged[self.rng.gen_range(0..self.keys.tagged.len())];
            (0..count)
                .map(|_| group[self.rng.gen_range(0..group.len())].clone())
                .collect()
        } else {
            (0..count).map(|_| self.key()).collect()
        }
    }

    /// A key only this client uses (gathered commands).
    pub fn private_key(&mut self) -> Bytes {
        let member = self.rng.gen_range(0..6u8);
        Bytes::from(format!("c{}.{}", self.client, char::from(b'a' + member)))
    }

    /// A value: short text, an integer, or now and then binary bytes.
    pub fn value(&mut self) -> Bytes {
        match self.rng.gen_range(0..10) {
            0..=4 => Bytes::from(format!("v{}", self.rng.gen_range(0..1000))),
            5..=7 => Bytes::from(self.rng.gen_range(-100i64..100).to_string()),
            8 => Bytes::new(),
            _ => {
                let len = self.rng.gen_range(1..40);
                Bytes::from((0..len).map(|_| self.rng.gen::<u8>()).collect::<Vec<u8>>())
            }
        }
    }

    /// A TTL in ms, from 1 to the seed's maximum.
    pub fn ttl_ms(&mut self) -> u64 {
        self.rng.gen_range(1..=self.swarm.ttl_ms_max)
    }

    /// A glob pattern for KEYS / SCAN MATCH.
    pub fn pattern(&mut self) -> Bytes {
        const PATTERNS: &[&str] = &[
            "*", "*", "k*", "{t0}*", "*a", "k?", "[kc]*", "*{*", "nomatch",
        ];
        Bytes::from_static(PATTERNS[self.rng.gen_range(0..PATTERNS.len())].as_bytes())
    }

    fn text(&self, text: &'static str) -> Bytes {
        Bytes::from_static(text.as_bytes())
    }
}

/// The generators of a seed, weighted, ready to pick from.
#[derive(Clone, Debug)]
pub struct Workload {
    generators: Vec<Generator>,
    cumulative: Vec<u64>,
}

impl Workload {
    /// Chooses and weights the generators for one seed: only those whose
    /// command `table` declares, by class as `gather` says, each kept with
    /// probability 0.8 and weighted 1–4× (GET and SET are always kept).
    pub fn new(table: &Table, rng: &mut ChaCha8Rng, gather: bool) -> Workload {
        let mut generators = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for generator in GENERATORS {
            let wanted = match generator.class {
                Class::FanOut => !gather,
                Class::Gather => gather,
                _ => true,
            };
            // Draw for every generator, kept or not, so that the draws do not
            // depend on which commands the server has yet.
            let keep = rng.gen_bool(0.8)
                || (generator.class == Class::Keyed && matches!(generator.command, "get" | "set"));
            let factor = rng.gen_range(1..=4u64);
            if !wanted || !keep || table.lookup(generator.command.as_bytes()).is_none() {
                continue;
            }
            total += u64::from(generator.weight) * factor;
            generators.push(*generator);
            cumulative.push(total);
        }
        assert!(total > 0, "no command generator applies");
        Workload {
            generators,
            cumulative,
        }
    }

    /// Generates one command.
    pub fn generate(&self, ctx: &mut GenCtx<'_>) -> Generated {
        let total = *self.cumulative.last().unwrap_or(&1);
        let draw = ctx.rng.gen_range(0..total);
        let index = self.cumulative.partition_point(|&c| c <= draw);
        (self.generators[index].generate)(ctx)
    }

    /// Names of the commands in this seed's mix.
    pub fn commands(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.generators.iter().map(|g| g.command)
    }
}

/// The QUIT a client may end with.
pub fn quit() -> Generated {
    Generated {
        argv: vec![Bytes::from_static(b"QUIT")],
        expect: Expect::Exact(Reply::ok()),
        effect: Effect::Quit,
    }
}

macro_rules! generator {
    ($command:literal, $weight:expr, $class:ident, $body:expr) => {
        Generator {
            command: $command,
            weight: $weight,
            class: Class::$class,
            generate: $body,
        }
    };
}

/// Every generator. Weights are relative (about 1000 in total for the
/// string and generic families).
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
            1 => argv.extend([c.text("PX"), Bytes::from(c.ttl_ms().to_string())]),
            _ => argv.push(c.text("PERSIST")),
        }
        Generated::traced(argv)
    }),
    // --- generic ---
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
            argv.push(c.text(option));
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
            c.text("0")
        };
        let mut argv = vec![c.name("scan"), cursor];
        if c.rng.gen_bool(0.3) {
            argv.extend([c.text("MATCH"), c.pattern()]);
        }
        if c.rng.gen_bool(0.5) {
            argv.extend([
                c.text("COUNT"),
                Bytes::from(c.rng.gen_range(1..=20u32).to_string()),
            ]);
        }
        if c.rng.gen_bool(0.1) {
            argv.extend([c.text("TYPE"), c.text("string")]);
        }
        Generated::traced(argv)
    }),
    generator!("randomkey", 5, FanOut, |c| Generated::traced(vec![
        c.name("randomkey")
    ])),
    generator!("flushdb", 3, FanOut, |c| Generated::traced(vec![
        c.name("flushdb")
    ])),
    generator!("flushall", 1, FanOut, |c| Generated::traced(vec![
        c.name("flushall")
    ])),
    // --- gathered (private keys; off by default) ---
    generator!("rename", 20, Gather, |c| {
        Generated::traced(vec![c.name("rename"), c.private_key(), c.private_key()])
    }),
    generator!("copy", 20, Gather, |c| {
        let mut argv = vec![c.name("copy"), c.private_key(), c.private_key()];
        if c.rng.gen_bool(0.5) {
            argv.push(c.text("REPLACE"));
        }
        Generated::traced(argv)
    }),
    generator!("msetnx", 20, Gather, |c| {
        let mut argv = vec![c.name("msetnx")];
        for _ in 0..c.rng.gen_range(1..=3) {
            argv.push(c.private_key());
            argv.push(c.value());
        }
        Generated::traced(argv)
    }),
    generator!("set", 30, Gather, |c| {
        Generated::traced(vec![c.name("set"), c.private_key(), c.value()])
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
    generator!("echo", 5, Connection, |c| {
        Generated::traced(vec![c.name("echo"), c.value()])
    }),
    // --- malformed ---
    generator!("get", 5, Invalid, |c| {
        let argv = match c.rng.gen_range(0..3) {
            0 => vec![c.text("nosuchcommand"), c.key()],
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
        0 => argv.push(c.text("NX")),
        1 => argv.push(c.text("XX")),
        _ => {}
    }
    if c.rng.gen_bool(0.1) {
        argv.push(c.text("GET"));
    }
    match c.rng.gen_range(0..10) {
        0..=2 => argv.extend([c.text("PX"), Bytes::from(c.ttl_ms().to_string())]),
        3 => argv.extend([c.text("EX"), c.text("1")]),
        4 => argv.push(c.text("KEEPTTL")),
        _ => {}
    }
    Generated::traced(argv)
}
