//! Transaction blocks: MULTI/EXEC over keys of several shards (and of one
//! hash-tag group), the optimistic check-and-set loop under WATCH, DISCARD,
//! queue-time errors (EXECABORT), SELECT inside MULTI, and watched keys that
//! expire.
//!
//! A client pipelines a whole block at once, blindly: WATCH, the read, MULTI,
//! the writes and EXEC go out together, and EXEC aborts (null array) when a
//! competing writer got in between — which the simulator's WATCH model then
//! has to agree with. Blocks whose EXEC may abort never SELECT inside, so the
//! client always knows its database afterwards; a block that does SELECT
//! inside is followed by a plain SELECT of the database it ends in, since
//! on a failing disk its EXEC may be refused whole (`-EXECABORT ...
//! MISCONF`), its SELECTs included.

use bytes::Bytes;
use corekv::resp::Reply;
use rand::Rng;

use super::{text, Effect, Expect, GenCtx, Generated};

/// Longest run of queued commands in one block.
const QUEUED_MAX: usize = 5;

/// One transaction block, in the order it is sent.
pub fn block(ctx: &mut GenCtx<'_>) -> Vec<Generated> {
    let mut out = Vec::new();
    match ctx.rng.gen_range(0..10) {
        0..=2 => {
            // Plain MULTI/EXEC, SELECT inside now and then (cannot abort).
            out.push(multi());
            let count = ctx.rng.gen_range(1..=QUEUED_MAX);
            let mut selected = None;
            for _ in 0..count {
                if ctx.swarm.databases_used > 1 && ctx.rng.gen_bool(0.15) {
                    let db = ctx.rng.gen_range(0..ctx.swarm.databases_used);
                    selected = Some(db);
                    out.push(Generated {
                        argv: vec![ctx.name("select"), Bytes::from(db.to_string())],
                        expect: Expect::Queued(Box::new(Expect::Exact(Reply::ok()))),
                        effect: Effect::Select(db),
                    });
                } else {
                    out.push(queued(ctx));
                }
            }
            out.push(exec(false));
            if let Some(db) = selected {
                out.push(Generated {
                    argv: vec![text("SELECT"), Bytes::from(db.to_string())],
                    expect: Expect::Exact(Reply::ok()),
                    effect: Effect::Select(db),
                });
            }
        }
        3..=5 => {
            // WATCH k; GET k; MULTI; SET k v (or INCR k); ...; EXEC.
            let keys = watch_keys(ctx);
            out.push(watch(ctx, &keys));
            out.push(Generated::traced(vec![ctx.name("get"), keys[0].clone()]));
            out.push(multi());
            let write = if ctx.rng.gen_bool(0.5) {
                vec![ctx.name("set"), keys[0].clone(), ctx.value()]
            } else {
                vec![ctx.name("incr"), keys[0].clone()]
            };
            out.push(queued_argv(write));
            for _ in 0..ctx.rng.gen_range(0..=2) {
                out.push(queued(ctx));
            }
            out.push(exec(false));
        }
        6 => {
            // A watched key with a short TTL: it may expire before EXEC.
            let key = ctx.key();
            let ttl_ms = ctx.rng.gen_range(1..=20u64).to_string();
            out.push(Generated::traced(vec![
                ctx.name("set"),
                key.clone(),
                ctx.value(),
                text("PX"),
                Bytes::from(ttl_ms),
            ]));
            out.push(watch(ctx, std::slice::from_ref(&key)));
            out.push(multi());
            out.push(queued_argv(vec![ctx.name("set"), key, ctx.value()]));
            out.push(exec(false));
        }
        7 => {
            // DISCARD: nothing queued runs; watches are forgotten.
            if ctx.rng.gen_bool(0.5) {
                let keys = watch_keys(ctx);
                out.push(watch(ctx, &keys));
            }
            out.push(multi());
            for _ in 0..ctx.rng.gen_range(0..=3) {
                out.push(queued(ctx));
            }
            out.push(Generated {
                argv: vec![ctx.name("discard")],
                expect: Expect::Discard,
                effect: Effect::None,
            });
        }
        8 => {
            // A queue-time error: EXEC answers EXECABORT and runs nothing.
            out.push(multi());
            for _ in 0..ctx.rng.gen_range(0..=2) {
                out.push(queued(ctx));
            }
            let refused = if ctx.rng.gen_bool(0.5) {
                vec![text("NOSUCHCOMMAND"), ctx.key()]
            } else {
                vec![ctx.name("get")]
            };
            out.push(Generated {
                argv: refused,
                expect: Expect::Error,
                effect: Effect::None,
            });
            for _ in 0..ctx.rng.gen_range(0..=2) {
                out.push(queued(ctx));
            }
            out.push(exec(true));
        }
        _ => {
            // Cross-shard multi-key writes inside MULTI, on competing keys.
            out.push(multi());
            for _ in 0..ctx.rng.gen_range(1..=3) {
                let count = ctx.rng.gen_range(2..=3);
                let keys = ctx.keys(count);
                let argv = match ctx.rng.gen_range(0..3) {
                    0 => {
                        let mut argv = vec![ctx.name("mset")];
                        for key in keys {
                            argv.push(key);
                            argv.push(ctx.value());
                        }
                        argv
                    }
                    1 => [vec![ctx.name("del")], keys].concat(),
                    _ => [vec![ctx.name("mget")], keys].concat(),
                };
                out.push(queued_argv(argv));
            }
            out.push(exec(false));
        }
    }
    out
}

fn multi() -> Generated {
    Generated {
        argv: vec![text("MULTI")],
        expect: Expect::Exact(Reply::ok()),
        effect: Effect::Multi,
    }
}

fn exec(aborted: bool) -> Generated {
    Generated {
        argv: vec![text("EXEC")],
        expect: Expect::Exec { aborted },
        effect: Effect::None,
    }
}

fn watch(ctx: &mut GenCtx<'_>, keys: &[Bytes]) -> Generated {
    let mut argv = vec![ctx.name("watch")];
    argv.extend(keys.iter().cloned());
    Generated {
        argv,
        expect: Expect::Exact(Reply::ok()),
        effect: Effect::Watch,
    }
}

/// One or two keys to watch (the first is the one written).
fn watch_keys(ctx: &mut GenCtx<'_>) -> Vec<Bytes> {
    let count = if ctx.rng.gen_bool(0.3) { 2 } else { 1 };
    ctx.keys(count)
}

fn queued_argv(argv: Vec<Bytes>) -> Generated {
    Generated {
        argv,
        expect: Expect::Queued(Box::new(Expect::Trace)),
        effect: Effect::None,
    }
}

/// A command of the seed's mix that can be queued: one that runs keyspace
/// handlers, changes nothing about the connection, and has one predictable
/// reply (not RANDOMKEY).
fn queued(ctx: &mut GenCtx<'_>) -> Generated {
    for _ in 0..8 {
        let workload = ctx.workload;
        let generated = workload.generate(ctx);
        let random = generated.argv[0].eq_ignore_ascii_case(b"randomkey");
        if generated.expect == Expect::Trace && generated.effect == Effect::None && !random {
            return queued_argv(generated.argv);
        }
    }
    queued_argv(vec![ctx.name("get"), ctx.key()])
}
