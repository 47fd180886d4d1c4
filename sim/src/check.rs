//! Properties, failures, and what a client should have been sent.
//!
//! A command's expected reply is derived from the executions the shards
//! traced for it: the one part's reply, or the reduction of the parts the
//! way the command table says they reduce (sum, all-OK, concatenation,
//! merge in key order, one random non-null part). The client then checks
//! the bytes it received against the encoding of that reply in its
//! connection's protocol, so reply *i* is proven to answer command *i* (P1)
//! with the value the serial model agreed to (P2).

use std::fmt;

use bytes::Bytes;
use corekv::commands::{CommandSpec, Exec, MultiShard, Reduce, Route};
use corekv::resp::Reply;
use corekv::slot::SlotMap;

use crate::trace::{show_argv, show_reply};

/// A property the simulator checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Property {
    /// P1: reply *i* answers command *i*; one reply per command, no extras.
    ReplyOrder,
    /// P2: replaying the executions serially gives the recorded replies.
    SerialEquivalence,
    /// P2: executions respect each connection's program order.
    ProgramOrder,
    /// P2: executions respect virtual real time (not before sent, not after replied).
    RealTime,
    /// P3: no command observes a multi-shard command or EXEC half done.
    Isolation,
    /// P3: EXEC returns a null array exactly when a watched key changed.
    Watch,
    /// P4: after a crash, recovery gives the serial state after a prefix
    /// of the writes that keeps every acknowledged one, with no hole and no
    /// half transaction.
    Durability,
    /// P5: the same seed gives the same trace.
    Determinism,
    /// P6: no shard panics.
    NoPanic,
    /// P6: buffers and queues stay within their bounds.
    Bounded,
    /// The run made progress and ended (no livelock).
    Liveness,
}

impl Property {
    /// Short name, as printed and as `--expect` would name it.
    pub fn name(self) -> &'static str {
        match self {
            Property::ReplyOrder => "P1 reply order",
            Property::SerialEquivalence => "P2 serial equivalence",
            Property::ProgramOrder => "P2 program order",
            Property::RealTime => "P2 real-time order",
            Property::Isolation => "P3 isolation",
            Property::Watch => "P3 watch",
            Property::Durability => "P4 durability",
            Property::Determinism => "P5 determinism",
            Property::NoPanic => "P6 no panic",
            Property::Bounded => "P6 bounded memory",
            Property::Liveness => "liveness",
        }
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A property found broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Which property.
    pub property: Property,
    /// What exactly went wrong.
    pub message: String,
    /// Index of the event during which it was found (for trace excerpts).
    pub event: u64,
    /// Virtual time when it was found (µs).
    pub time_us: u64,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} violated at event {} (t={}µs): {}",
            self.property, self.event, self.time_us, self.message
        )
    }
}

/// One shard's part of a command's execution, as the client model keeps it.
#[derive(Clone, Debug)]
pub struct Part {
    /// The executing shard.
    pub shard: usize,
    /// What the part replied.
    pub reply: Reply,
}

/// The reply a client must have received.
#[derive(Debug, PartialEq)]
pub enum ExpectedReply {
    /// Exactly this.
    Exact(Reply),
    /// Any one of these (RANDOMKEY picks a random shard's answer).
    OneOf(Vec<Reply>),
}

/// How many executions a command spreads into on `slots`: one per owning
/// shard for split commands, one per shard for whole-keyspace commands,
/// otherwise one.
pub fn expected_parts(spec: &CommandSpec, slots: &SlotMap, argv: &[Bytes]) -> usize {
    let Exec::Keyspace { route, .. } = spec.exec else {
        return 0;
    };
    match route {
        Route::AllShards(_) => slots.shard_count(),
        Route::Keys(MultiShard::Split(_)) => part_shards(spec, slots, argv).len().max(1),
        _ => 1,
    }
}

/// The distinct shards owning `argv`'s keys, in order of first appearance
/// (the order in which a split command's parts are reduced).
fn part_shards(spec: &CommandSpec, slots: &SlotMap, argv: &[Bytes]) -> Vec<usize> {
    let mut shards = Vec::new();
    for key in spec.keys_of(argv) {
        let shard = slots.shard_of_key(key);
        if !shards.contains(&shard) {
            shards.push(shard);
        }
    }
    shards
}

/// The reply the client must see for `argv`, given the parts executed.
pub fn expected_reply(
    spec: &CommandSpec,
    slots: &SlotMap,
    argv: &[Bytes],
    executions: &[Part],
) -> Result<ExpectedReply, String> {
    let wanted = expected_parts(spec, slots, argv);
    if executions.len() != wanted {
        return Err(format!(
            "{} was answered after {} of its {wanted} parts executed",
            show_argv(argv),
            executions.len()
        ));
    }
    if let [only] = executions {
        return Ok(ExpectedReply::Exact(only.reply.clone()));
    }
    let Exec::Keyspace { route, .. } = spec.exec else {
        return Err(format!("{} is no keyspace command", show_argv(argv)));
    };
    let (order, reduce) = match route {
        Route::AllShards(reduce) => ((0..slots.shard_count()).collect(), reduce),
        Route::Keys(MultiShard::Split(reduce)) => (part_shards(spec, slots, argv), reduce),
        _ => return Err(format!("{} ran as several parts", show_argv(argv))),
    };
    let mut parts = Vec::with_capacity(order.len());
    for shard in &order {
        match executions.iter().find(|e| e.shard == *shard) {
            Some(execution) => parts.push(&execution.reply),
            None => return Err(format!("{} has no part on shard {shard}", show_argv(argv))),
        }
    }
    if let Some(error) = parts.iter().find(|p| p.is_error()) {
        return Ok(ExpectedReply::Exact((*error).clone()));
    }
    Ok(reduce_parts(reduce, &parts, spec, slots, argv))
}

fn reduce_parts(
    reduce: Reduce,
    parts: &[&Reply],
    spec: &CommandSpec,
    slots: &SlotMap,
    argv: &[Bytes],
) -> ExpectedReply {
    let items = |reply: &Reply| match reply {
        Reply::Array(items) => items.clone(),
        _ => Vec::new(),
    };
    ExpectedReply::Exact(match reduce {
        Reduce::SumIntegers => Reply::Integer(
            parts
                .iter()
                .map(|p| if let Reply::Integer(n) = p { *n } else { 0 })
                .sum(),
        ),
        Reduce::AllOk => Reply::ok(),
        Reduce::ConcatArrays => Reply::Array(parts.iter().flat_map(|p| items(p)).collect()),
        Reduce::MergeInKeyOrder => {
            let shards = part_shards(spec, slots, argv);
            let arrays: Vec<Vec<Reply>> = parts.iter().map(|p| items(p)).collect();
            let mut next_in_part = vec![0usize; shards.len()];
            let merged = spec.keys_of(argv).map(|key| {
                let shard = slots.shard_of_key(key);
                let part = shards.iter().position(|s| *s == shard).unwrap_or(0);
                let index = next_in_part[part];
                next_in_part[part] += 1;
                arrays[part].get(index).cloned().unwrap_or(Reply::Null)
            });
            Reply::Array(merged.collect())
        }
        Reduce::RandomNonNull => {
            let candidates: Vec<Reply> = parts
                .iter()
                .filter(|p| ***p != Reply::Null)
                .map(|p| (*p).clone())
                .collect();
            if candidates.is_empty() {
                Reply::Null
            } else {
                return ExpectedReply::OneOf(candidates);
            }
        }
    })
}

/// Describes an expected reply for failure messages.
pub fn show_expected(expected: &ExpectedReply) -> String {
    match expected {
        ExpectedReply::Exact(reply) => show_reply(reply),
        ExpectedReply::OneOf(replies) => format!(
            "one of {}",
            replies
                .iter()
                .map(show_reply)
                .collect::<Vec<_>>()
                .join(" | ")
        ),
    }
}
