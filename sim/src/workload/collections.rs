//! Generators for lists, hashes, sets, sorted sets, HyperLogLog and SORT.
//!
//! Multi-key commands take their keys from one hash-tag group (one shard)
//! in the shared mix, and across shards only as [`Class::Gather`]
//! generators. Commands with random replies or effects (SPOP, SRANDMEMBER,
//! HRANDFIELD, ZRANDMEMBER) and the per-collection cursors (SSCAN, HSCAN,
//! ZSCAN) are left out: the serial model cannot replay them exactly.
//!
//! [`Class::Gather`]: super::Class::Gather

use bytes::Bytes;
use rand::Rng;

use super::{text, GenCtx, Generated, Generator};

/// `name key` followed by what `rest` appends.
fn keyed(
    c: &mut GenCtx<'_>,
    name: &'static str,
    rest: impl FnOnce(&mut GenCtx<'_>, &mut Vec<Bytes>),
) -> Generated {
    let mut argv = vec![c.name(name), c.key()];
    rest(c, &mut argv);
    Generated::traced(argv)
}

/// `name` over `count` keys of one hash-tag group, then what `rest` appends.
fn grouped(
    c: &mut GenCtx<'_>,
    name: &'static str,
    count: usize,
    rest: impl FnOnce(&mut GenCtx<'_>, &mut Vec<Bytes>),
) -> Generated {
    let mut argv = vec![c.name(name)];
    argv.extend(c.tag_keys(count));
    rest(c, &mut argv);
    Generated::traced(argv)
}

/// `name numkeys key...` over one hash-tag group, then what `rest` appends.
fn numkeys(
    c: &mut GenCtx<'_>,
    name: &'static str,
    rest: impl FnOnce(&mut GenCtx<'_>, &mut Vec<Bytes>),
) -> Generated {
    let count = c.rng.gen_range(1..=3usize);
    let mut argv = vec![c.name(name), Bytes::from(count.to_string())];
    argv.extend(c.tag_keys(count));
    rest(c, &mut argv);
    Generated::traced(argv)
}

fn side(c: &mut GenCtx<'_>) -> Bytes {
    text(if c.rng.gen_bool(0.5) { "LEFT" } else { "RIGHT" })
}

/// Lists, hashes, sets, sorted sets, HyperLogLog, SORT.
pub static GENERATORS: &[Generator] = &[
    // --- lists ---
    generator!("lpush", 20, Keyed, |c| keyed(c, "lpush", |c, a| a
        .extend(c.members(3)))),
    generator!("rpush", 20, Keyed, |c| keyed(c, "rpush", |c, a| a
        .extend(c.members(3)))),
    generator!("lpushx", 4, Keyed, |c| keyed(c, "lpushx", |c, a| a
        .push(c.member()))),
    generator!("rpushx", 4, Keyed, |c| keyed(c, "rpushx", |c, a| a
        .push(c.member()))),
    generator!("lpop", 8, Keyed, |c| keyed(c, "lpop", |c, a| {
        if c.rng.gen_bool(0.3) {
            a.push(c.count(3));
        }
    })),
    generator!("rpop", 8, Keyed, |c| keyed(c, "rpop", |c, a| {
        if c.rng.gen_bool(0.3) {
            a.push(c.count(3));
        }
    })),
    generator!("llen", 5, Keyed, |c| keyed(c, "llen", |_, _| {})),
    generator!("lrange", 10, Keyed, |c| keyed(c, "lrange", |c, a| a
        .extend([c.index(), c.index()]))),
    generator!("lindex", 5, Keyed, |c| keyed(c, "lindex", |c, a| a
        .push(c.index()))),
    generator!("lset", 4, Keyed, |c| keyed(c, "lset", |c, a| a
        .extend([c.index(), c.member()]))),
    generator!("linsert", 4, Keyed, |c| keyed(c, "linsert", |c, a| {
        let place = text(if c.rng.gen_bool(0.5) {
            "BEFORE"
        } else {
            "AFTER"
        });
        a.extend([place, c.member(), c.member()]);
    })),
    generator!("lrem", 4, Keyed, |c| keyed(c, "lrem", |c, a| a
        .extend([c.index(), c.member()]))),
    generator!("ltrim", 3, Keyed, |c| keyed(c, "ltrim", |c, a| a
        .extend([c.index(), c.index()]))),
    generator!("lpos", 4, Keyed, |c| keyed(c, "lpos", |c, a| {
        a.push(c.member());
        if c.rng.gen_bool(0.3) {
            a.extend([text("RANK"), c.index()]);
        }
        if c.rng.gen_bool(0.3) {
            a.extend([text("COUNT"), c.count(3)]);
        }
    })),
    generator!("lmove", 5, Keyed, |c| grouped(c, "lmove", 2, |c, a| a
        .extend([side(c), side(c)]))),
    generator!("rpoplpush", 3, Keyed, |c| grouped(
        c,
        "rpoplpush",
        2,
        |_, _| {}
    )),
    generator!("lmpop", 3, Keyed, |c| numkeys(c, "lmpop", |c, a| {
        a.push(side(c));
        if c.rng.gen_bool(0.5) {
            a.extend([text("COUNT"), c.count(3)]);
        }
    })),
    generator!("lmove", 5, Gather, |c| {
        let (source, destination) = (c.gather_key(), c.gather_key());
        Generated::traced(vec![c.name("lmove"), source, destination, side(c), side(c)])
    }),
    // --- hashes ---
    generator!("hset", 20, Keyed, |c| keyed(c, "hset", |c, a| {
        for _ in 0..c.rng.gen_range(1..=3) {
            a.extend([c.member(), c.value()]);
        }
    })),
    generator!("hsetnx", 4, Keyed, |c| keyed(c, "hsetnx", |c, a| a
        .extend([c.member(), c.value()]))),
    generator!("hmset", 3, Keyed, |c| keyed(c, "hmset", |c, a| a
        .extend([c.member(), c.value()]))),
    generator!("hget", 10, Keyed, |c| keyed(c, "hget", |c, a| a
        .push(c.member()))),
    generator!("hmget", 5, Keyed, |c| keyed(c, "hmget", |c, a| a
        .extend(c.members(3)))),
    generator!("hdel", 6, Keyed, |c| keyed(c, "hdel", |c, a| a
        .extend(c.members(2)))),
    generator!("hexists", 3, Keyed, |c| keyed(c, "hexists", |c, a| a
        .push(c.member()))),
    generator!("hlen", 3, Keyed, |c| keyed(c, "hlen", |_, _| {})),
    generator!("hstrlen", 2, Keyed, |c| keyed(c, "hstrlen", |c, a| a
        .push(c.member()))),
    generator!("hkeys", 3, Keyed, |c| keyed(c, "hkeys", |_, _| {})),
    generator!("hvals", 3, Keyed, |c| keyed(c, "hvals", |_, _| {})),
    generator!("hgetall", 5, Keyed, |c| keyed(c, "hgetall", |_, _| {})),
    generator!("hincrby", 5, Keyed, |c| keyed(c, "hincrby", |c, a| a
        .extend([c.member(), c.index()]))),
    generator!("hincrbyfloat", 3, Keyed, |c| {
        keyed(c, "hincrbyfloat", |c, a| {
            a.extend([c.member(), text("1.5")])
        })
    }),
    // --- sets ---
    generator!("sadd", 20, Keyed, |c| keyed(c, "sadd", |c, a| a
        .extend(c.members(3)))),
    generator!("srem", 6, Keyed, |c| keyed(c, "srem", |c, a| a
        .extend(c.members(2)))),
    generator!("sismember", 5, Keyed, |c| keyed(c, "sismember", |c, a| a
        .push(c.member()))),
    generator!("smismember", 3, Keyed, |c| keyed(
        c,
        "smismember",
        |c, a| a.extend(c.members(3))
    )),
    generator!("scard", 3, Keyed, |c| keyed(c, "scard", |_, _| {})),
    generator!("smembers", 5, Keyed, |c| keyed(c, "smembers", |_, _| {})),
    generator!("smove", 4, Keyed, |c| grouped(c, "smove", 2, |c, a| a
        .push(c.member()))),
    generator!("sinter", 3, Keyed, |c| grouped(c, "sinter", 2, |_, _| {})),
    generator!("sunion", 3, Keyed, |c| grouped(c, "sunion", 2, |_, _| {})),
    generator!("sdiff", 3, Keyed, |c| grouped(c, "sdiff", 2, |_, _| {})),
    generator!("sinterstore", 2, Keyed, |c| grouped(
        c,
        "sinterstore",
        3,
        |_, _| {}
    )),
    generator!("sunionstore", 2, Keyed, |c| grouped(
        c,
        "sunionstore",
        3,
        |_, _| {}
    )),
    generator!("sdiffstore", 2, Keyed, |c| grouped(
        c,
        "sdiffstore",
        3,
        |_, _| {}
    )),
    generator!("sintercard", 2, Keyed, |c| numkeys(
        c,
        "sintercard",
        |c, a| {
            if c.rng.gen_bool(0.5) {
                a.extend([text("LIMIT"), c.count(3)]);
            }
        }
    )),
    generator!("sunionstore", 5, Gather, |c| {
        let mut argv = vec![c.name("sunionstore"), c.gather_key()];
        argv.extend([c.gather_key(), c.gather_key()]);
        Generated::traced(argv)
    }),
    // --- sorted sets ---
    generator!("zadd", 20, Keyed, |c| keyed(c, "zadd", |c, a| {
        match c.rng.gen_range(0..8) {
            0 => a.push(text("NX")),
            1 => a.push(text("XX")),
            2 => a.push(text("GT")),
            _ => {}
        }
        if c.rng.gen_bool(0.2) {
            a.push(text("CH"));
        }
        for _ in 0..c.rng.gen_range(1..=3) {
            let score = if c.rng.gen_bool(0.9) {
                Bytes::from(c.rng.gen_range(-5i64..10).to_string())
            } else {
                c.score()
            };
            a.extend([score, c.member()]);
        }
    })),
    generator!("zincrby", 5, Keyed, |c| keyed(c, "zincrby", |c, a| a
        .extend([text("2"), c.member()]))),
    generator!("zrem", 5, Keyed, |c| keyed(c, "zrem", |c, a| a
        .extend(c.members(2)))),
    generator!("zcard", 3, Keyed, |c| keyed(c, "zcard", |_, _| {})),
    generator!("zscore", 5, Keyed, |c| keyed(c, "zscore", |c, a| a
        .push(c.member()))),
    generator!("zmscore", 3, Keyed, |c| keyed(c, "zmscore", |c, a| a
        .extend(c.members(3)))),
    generator!("zrank", 3, Keyed, |c| keyed(c, "zrank", |c, a| a
        .push(c.member()))),
    generator!("zrevrank", 2, Keyed, |c| keyed(c, "zrevrank", |c, a| a
        .push(c.member()))),
    generator!("zcount", 3, Keyed, |c| keyed(c, "zcount", |c, a| a
        .extend([c.score(), c.score()]))),
    generator!("zlexcount", 2, Keyed, |c| keyed(c, "zlexcount", |_, a| a
        .extend([text("[a"), text("(d")]))),
    generator!("zrange", 8, Keyed, |c| keyed(c, "zrange", |c, a| {
        if c.rng.gen_bool(0.3) {
            a.extend([c.score(), c.score(), text("BYSCORE")]);
        } else {
            a.extend([c.index(), c.index()]);
        }
        if c.rng.gen_bool(0.3) {
            a.push(text("REV"));
        }
        if c.rng.gen_bool(0.4) {
            a.push(text("WITHSCORES"));
        }
    })),
    generator!("zrangebyscore", 3, Keyed, |c| {
        keyed(c, "zrangebyscore", |c, a| a.extend([c.score(), c.score()]))
    }),
    generator!("zrevrangebyscore", 2, Keyed, |c| {
        keyed(c, "zrevrangebyscore", |c, a| {
            a.extend([c.score(), c.score()])
        })
    }),
    generator!("zrangebylex", 2, Keyed, |c| keyed(
        c,
        "zrangebylex",
        |_, a| a.extend([text("-"), text("[c")])
    )),
    generator!("zrevrange", 2, Keyed, |c| keyed(c, "zrevrange", |c, a| a
        .extend([c.index(), c.index()]))),
    generator!("zremrangebyrank", 2, Keyed, |c| {
        keyed(c, "zremrangebyrank", |c, a| {
            a.extend([c.index(), c.index()])
        })
    }),
    generator!("zremrangebyscore", 2, Keyed, |c| {
        keyed(c, "zremrangebyscore", |c, a| {
            a.extend([c.score(), c.score()])
        })
    }),
    generator!("zpopmin", 4, Keyed, |c| keyed(c, "zpopmin", |c, a| {
        if c.rng.gen_bool(0.3) {
            a.push(c.count(3));
        }
    })),
    generator!("zpopmax", 4, Keyed, |c| keyed(c, "zpopmax", |c, a| {
        if c.rng.gen_bool(0.3) {
            a.push(c.count(3));
        }
    })),
    generator!("zunion", 2, Keyed, |c| numkeys(c, "zunion", |c, a| {
        if c.rng.gen_bool(0.5) {
            a.push(text("WITHSCORES"));
        }
    })),
    generator!("zinter", 2, Keyed, |c| numkeys(c, "zinter", |_, _| {})),
    generator!("zdiff", 2, Keyed, |c| numkeys(c, "zdiff", |_, _| {})),
    generator!("zintercard", 2, Keyed, |c| numkeys(
        c,
        "zintercard",
        |_, _| {}
    )),
    generator!("zunionstore", 2, Keyed, |c| {
        let keys = c.tag_keys(3);
        let mut argv = vec![c.name("zunionstore"), keys[0].clone(), text("2")];
        argv.extend(keys[1..].iter().cloned());
        Generated::traced(argv)
    }),
    generator!("zrangestore", 2, Keyed, |c| grouped(
        c,
        "zrangestore",
        2,
        |c, a| a.extend([c.index(), c.index()])
    )),
    generator!("zmpop", 2, Keyed, |c| numkeys(c, "zmpop", |c, a| {
        a.push(text(if c.rng.gen_bool(0.5) { "MIN" } else { "MAX" }));
    })),
    // --- HyperLogLog ---
    generator!("pfadd", 10, Keyed, |c| keyed(c, "pfadd", |c, a| a
        .extend(c.members(4)))),
    generator!("pfcount", 5, Keyed, |c| grouped(c, "pfcount", 2, |_, _| {})),
    generator!("pfmerge", 3, Keyed, |c| grouped(c, "pfmerge", 3, |_, _| {})),
    generator!("pfcount", 5, Gather, |c| {
        Generated::traced(vec![c.name("pfcount"), c.gather_key(), c.gather_key()])
    }),
    generator!("pfmerge", 5, Gather, |c| {
        Generated::traced(vec![
            c.name("pfmerge"),
            c.gather_key(),
            c.gather_key(),
            c.gather_key(),
        ])
    }),
    // --- SORT ---
    generator!("sort", 4, Keyed, |c| keyed(c, "sort", |c, a| {
        if c.rng.gen_bool(0.5) {
            a.push(text("ALPHA"));
        }
        if c.rng.gen_bool(0.3) {
            a.extend([text("LIMIT"), text("0"), c.count(3)]);
        }
        if c.rng.gen_bool(0.3) {
            a.push(text("DESC"));
        }
    })),
    generator!("sort_ro", 2, Keyed, |c| keyed(c, "sort_ro", |_, a| a
        .push(text("ALPHA")))),
];
