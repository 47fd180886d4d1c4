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
//! gathered commands (see [`GatherMode`]).
//!
//! ## Adding a command family
//!
//! Add one [`Generator`] per command (or per shape) to a family's table
//! (listed in [`FAMILIES`]); it is
//! picked up as soon as the command is in the server's table. The serial
//! model replays it through the same handler, so nothing else is needed —
//! unless the reply legitimately differs between one unsharded keyspace and
//! the shards: replies whose order is unspecified (SMEMBERS, HGETALL) go in
//! `model::UNORDERED`; commands with random *effects* (SPOP) cannot be
//! replayed and stay out of the workload; commands with random replies
//! (SRANDMEMBER) need a membership check like RANDOMKEY's in `model`.

use bytes::Bytes;
use corekv::commands::Table;
use corekv::resp::{Protocol, Reply};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::swarm::Swarm;

/// Declares a [`Generator`]: command name, weight, class, body.
macro_rules! generator {
    ($command:literal, $weight:expr, $class:ident, $body:expr) => {
        $crate::workload::Generator {
            command: $command,
            weight: $weight,
            class: $crate::workload::Class::$class,
            generate: $body,
        }
    };
}

mod collections;
mod strings;
pub mod txn;

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
    /// The command runs no handler and succeeds with a reply whose content
    /// the model does not predict (HELLO's server map).
    Success,
    /// Inside MULTI: the reply is `+QUEUED`; the command runs at EXEC, and
    /// its element of EXEC's array is what `Expect` says.
    Queued(Box<Expect>),
    /// EXEC: an array of the queued commands' replies, or a null array when
    /// a watched key changed (the WATCH model decides), or — `aborted`, a
    /// queued command was refused — `EXECABORT`, with nothing run.
    Exec {
        /// A queued command was refused at queue time.
        aborted: bool,
    },
    /// DISCARD: `+OK`, and nothing queued ever runs.
    Discard,
    /// The command runs no handler; any reply will do (BGREWRITEAOF, which
    /// fails on a failing disk: P4 checks what it did).
    Any,
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
    /// Switches the connection's protocol (HELLO 2 / HELLO 3).
    Protocol(Protocol),
    /// Back to database 0 and RESP2 (RESET).
    Reset,
    /// Opens a MULTI block (closed by an [`Expect::Exec`] or
    /// [`Expect::Discard`] command).
    Multi,
    /// Watches its keys (WATCH).
    Watch,
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
    /// Gathered commands (RENAME, COPY, MSETNX, BITOP, LCS) across shards:
    /// they fetch entries, run at the home shard and store back. The same
    /// commands within one hash-tag group run on one shard and are
    /// [`Class::Keyed`]. Off unless [`GatherMode`] asks for them.
    Gather,
    /// Connection commands (SELECT, PING, ...).
    Connection,
    /// Malformed commands (unknown name, wrong arity).
    Invalid,
}

/// Whether the workload sends gathered commands across shards.
///
/// A gathered command is traced once, when it runs at its home shard, but
/// its results reach the other shards later (store-back). It is
/// serializable at its trace point only if nothing observes its keys in
/// between: keyed commands wait on its key locks, but whole-keyspace
/// commands (KEYS, SCAN, DBSIZE, FLUSHDB, ...) take no key locks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GatherMode {
    /// Gather-capable commands only within one hash-tag group (one shard).
    #[default]
    Off,
    /// Also across shards, on keys private to each client, with
    /// whole-keyspace commands left out: serializable by construction.
    Private,
    /// Also across shards, on the shared keys, with whole-keyspace commands
    /// in: holds only if whole-keyspace commands are isolated from atomic
    /// multi-shard commands.
    Shared,
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
    /// How gathered commands pick keys.
    pub gather: GatherMode,
    /// The seed's generators (transaction blocks draw queued commands from them).
    pub workload: &'a Workload,
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

    /// `count` keys of one hash-tag group: one shard, so even commands
    /// that would gather across shards run atomically in one place.
    pub fn tag_keys(&mut self, count: usize) -> Vec<Bytes> {
        let group = &self.keys.tagged[self.rng.gen_range(0..self.keys.tagged.len())];
        (0..count)
            .map(|_| group[self.rng.gen_range(0..group.len())].clone())
            .collect()
    }

    /// A key for a gathered command: private to this client, or shared in
    /// [`GatherMode::Shared`].
    pub fn gather_key(&mut self) -> Bytes {
        if self.gather == GatherMode::Shared {
            return self.key();
        }
        let member = self.rng.gen_range(0..6u8);
        Bytes::from(format!("c{}.{}", self.client, char::from(b'a' + member)))
    }

    /// A value: short text, an integer, or now and then binary bytes.
    pub fn value(&mut self) -> Bytes {
        if self.swarm.value_bytes_max > 40 && self.rng.gen_bool(0.4) {
            let len = self.rng.gen_range(41..=self.swarm.value_bytes_max);
            return Bytes::from(vec![b'x'; len]);
        }
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

    /// A member (or field, or element) of a collection: a few letters and
    /// small integers, so sets also take their integer encoding.
    pub fn member(&mut self) -> Bytes {
        const MEMBERS: &[&str] = &["a", "b", "c", "d", "e", "1", "2", "30"];
        text(MEMBERS[self.rng.gen_range(0..MEMBERS.len())])
    }

    /// From 1 to `max` members (repeats possible).
    pub fn members(&mut self, max: usize) -> Vec<Bytes> {
        let count = self.rng.gen_range(1..=max);
        (0..count).map(|_| self.member()).collect()
    }

    /// A sorted-set score (or range bound).
    pub fn score(&mut self) -> Bytes {
        const SCORES: &[&str] = &["0", "1", "2", "2.5", "-3", "10", "+inf", "-inf", "(1"];
        text(SCORES[self.rng.gen_range(0..SCORES.len())])
    }

    /// A list index or range bound, negative ones counting from the end.
    pub fn index(&mut self) -> Bytes {
        Bytes::from(self.rng.gen_range(-4i64..5).to_string())
    }

    /// A small count (COUNT, LIMIT, numkeys-style arguments).
    pub fn count(&mut self, max: u32) -> Bytes {
        Bytes::from(self.rng.gen_range(1..=max).to_string())
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
}

/// A static argument.
pub(crate) fn text(text: &'static str) -> Bytes {
    Bytes::from_static(text.as_bytes())
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
    pub fn new(table: &Table, rng: &mut ChaCha8Rng, gather: GatherMode) -> Workload {
        let mut generators = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for generator in FAMILIES.iter().flat_map(|family| family.iter()) {
            let wanted = match generator.class {
                Class::FanOut => gather != GatherMode::Private,
                Class::Gather => gather != GatherMode::Off,
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

/// Every family's generators. Weights are relative (the string and generic
/// families sum to about 1000).
pub static FAMILIES: &[&[Generator]] = &[strings::GENERATORS, collections::GENERATORS];

/// `BGREWRITEAOF` (or, one time in three, `BGSAVE`, half of those `BGSAVE
/// SCHEDULE`, which compete with it for the shards' one background job):
/// every shard's state written at
/// one serial point while the shards keep serving (sent only by persisting
/// seeds, at a rate of their own).
pub fn background_job(rng: &mut impl Rng) -> Generated {
    let argv: &[&'static [u8]] = if !rng.gen_ratio(1, 3) {
        &[b"BGREWRITEAOF"]
    } else if rng.gen_bool(0.5) {
        &[b"BGSAVE", b"SCHEDULE"]
    } else {
        &[b"BGSAVE"]
    };
    Generated {
        argv: argv.iter().map(|word| Bytes::from_static(word)).collect(),
        expect: Expect::Any,
        effect: Effect::None,
    }
}
