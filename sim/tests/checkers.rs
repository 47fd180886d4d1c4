//! The simulator's own tests: a modest sweep passes, runs are deterministic,
//! and every checker catches the bug planted for it within a bounded number
//! of seeds (a checker that cannot fail is a defect).

use corekv::shard::Faults;
use corekv_sim::workload::GatherMode;
use corekv_sim::{
    run_seed, run_seed_twice, AofMode, Failure, Outcome, Property, SimConfig, TraceMode, TxnMode,
};

/// Seeds a planted bug must be caught within.
const SEEDS_TO_CATCH_MAX: u64 = 50;

/// A small run without transaction blocks (they have tests of their own
/// below; with them, some seeds hit the engine's lock-grant hang pinned by
/// `transaction_sweep_passes`).
fn small(shards: usize, clients: usize, ops: u64) -> SimConfig {
    SimConfig {
        shards,
        clients,
        ops,
        txn: TxnMode::Off,
        ..SimConfig::default()
    }
}

fn assert_passes(config: &SimConfig, seeds: impl IntoIterator<Item = u64>) -> u64 {
    let mut commands = 0;
    for seed in seeds {
        let outcome = run_seed(config, seed, TraceMode::Off);
        if let Some(failure) = &outcome.failure {
            let rerun = run_seed(config, seed, TraceMode::Ring(30));
            panic!(
                "seed {seed} failed under {config:?}: {failure}\n{}",
                rerun.excerpt.join("\n")
            );
        }
        commands += outcome.stats.commands;
        assert!(
            outcome.stats.commands >= config.ops,
            "seed {seed}: every client spends its budget"
        );
    }
    commands
}

#[test]
fn modest_sweep_passes() {
    let commands = assert_passes(&small(4, 4, 500), 0..200);
    assert!(commands >= 200 * 500);
}

#[test]
fn sweeps_pass_for_one_two_and_many_shards() {
    assert_passes(&small(1, 3, 150), 0..40);
    assert_passes(&small(2, 2, 150), 0..40);
    assert_passes(&small(7, 9, 150), 0..40);
}

#[test]
fn sweep_with_gathered_commands_passes() {
    let config = SimConfig {
        gather: GatherMode::Private,
        ..small(3, 4, 150)
    };
    assert_passes(&config, 0..40);
}

/// Gathered cross-shard commands on the shared keys, with every other
/// command around them. Found failing by this simulator (`--gather shared`):
/// SCAN takes no lock, so it lists a key a gathered RENAME has already moved
/// (the store-back to the key's shard has not arrived); and `COPY k k DB n`
/// on one shard writes key `k` of database `n` while an atomic operation of
/// another connection holds that key's lock, so the operation stores back a
/// stale fetch. Both now take whole-shard locks (shard/serve.rs).
#[test]
fn shared_gathered_commands_are_serializable() {
    let config = SimConfig {
        gather: GatherMode::Shared,
        txn: TxnMode::Off,
        ..SimConfig::default()
    };
    assert_passes(&config, 0..500);
}

#[test]
fn same_seed_gives_same_trace() {
    let config = small(4, 4, 300);
    for seed in 0..10 {
        let first = run_seed(&config, seed, TraceMode::Off);
        let second = run_seed(&config, seed, TraceMode::Off);
        assert_eq!(first.hash, second.hash, "seed {seed}");
        assert_eq!(first.stats, second.stats, "seed {seed}");
        assert!(run_seed_twice(&config, seed).failure.is_none());
    }
    let hashes: std::collections::BTreeSet<u64> = (0..10)
        .map(|seed| run_seed(&config, seed, TraceMode::Off).hash)
        .collect();
    assert_eq!(hashes.len(), 10, "different seeds give different traces");
}

#[test]
fn tracing_does_not_change_the_run() {
    let config = small(3, 3, 200);
    for seed in 0..5 {
        let quiet = run_seed(&config, seed, TraceMode::Off);
        let traced = run_seed(&config, seed, TraceMode::Ring(10));
        assert_eq!(quiet.hash, traced.hash);
        assert!(!traced.excerpt.is_empty());
    }
}

/// Sweeps seeds with `faults` planted until one fails; that failure.
fn first_failure(faults: Faults) -> (u64, Outcome, SimConfig) {
    let config = SimConfig {
        faults,
        ..small(4, 4, 400)
    };
    for seed in 0..SEEDS_TO_CATCH_MAX {
        let outcome = run_seed(&config, seed, TraceMode::Off);
        if outcome.failure.is_some() {
            return (seed, outcome, config);
        }
    }
    panic!("{faults:?} went unnoticed for {SEEDS_TO_CATCH_MAX} seeds");
}

fn assert_caught(faults: Faults, properties: &[Property]) {
    let (seed, outcome, config) = first_failure(faults);
    let failure = outcome.failure.clone().expect("a failure");
    assert!(
        properties.contains(&failure.property),
        "{faults:?} caught by seed {seed}, but as {failure}"
    );
    // A failing seed replays to the same failure, at the same event.
    let again = run_seed(&config, seed, TraceMode::Off);
    assert_eq!(again.failure, outcome.failure);
    assert_eq!(again.hash, outcome.hash);
    // And its excerpt ends at the failure.
    let excerpt = run_seed(&config, seed, TraceMode::Ring(20)).excerpt;
    assert!(
        excerpt.last().is_some_and(|line| line.contains("FAILURE")),
        "{excerpt:?}"
    );
}

#[test]
fn planted_local_skips_wait_breaks_reply_order() {
    assert_caught(
        Faults {
            local_skips_wait: true,
            ..Faults::default()
        },
        &[Property::ReplyOrder, Property::ProgramOrder],
    );
}

#[test]
fn planted_drop_forwarded_loses_a_reply() {
    assert_caught(
        Faults {
            drop_forwarded: true,
            ..Faults::default()
        },
        &[Property::ReplyOrder],
    );
}

#[test]
fn planted_remote_ignores_db_breaks_serial_equivalence() {
    assert_caught(
        Faults {
            remote_ignores_db: true,
            ..Faults::default()
        },
        &[Property::SerialEquivalence],
    );
}

// ----- P3: transactions and multi-shard commands -----

/// Seeds a planted P3 bug must be caught within (transaction-heavy runs).
const TXN_SEEDS_TO_CATCH_MAX: u64 = 100;

fn txn_config(faults: Faults) -> SimConfig {
    SimConfig {
        faults,
        txn: TxnMode::Heavy,
        ..small(4, 4, 400)
    }
}

/// Sweeps transaction-heavy seeds with `faults` planted until one fails as
/// one of `properties`; returns that seed. (Other failures may come first:
/// a planted lock bug can also hang a connection.)
fn caught_as(faults: Faults, properties: &[Property]) -> u64 {
    caught_within(&txn_config(faults), properties, TXN_SEEDS_TO_CATCH_MAX).0
}

/// Sweeps seeds `0..seeds_max` under `config` until one fails as one of
/// `properties`; that seed and its failure (checked to replay).
fn caught_within(config: &SimConfig, properties: &[Property], seeds_max: u64) -> (u64, Failure) {
    for seed in 0..seeds_max {
        let outcome = run_seed(config, seed, TraceMode::Off);
        let Some(failure) = outcome.failure else {
            continue;
        };
        if properties.contains(&failure.property) {
            let again = run_seed(config, seed, TraceMode::Off);
            assert_eq!(
                again.failure.as_ref(),
                Some(&failure),
                "seed {seed} replays"
            );
            return (seed, failure);
        }
    }
    panic!(
        "{:?} went uncaught as {properties:?} for {seeds_max} seeds",
        config.faults
    );
}

#[test]
fn planted_skip_lock_breaks_isolation() {
    caught_as(
        Faults {
            skip_lock: true,
            ..Faults::default()
        },
        &[
            Property::Isolation,
            Property::SerialEquivalence,
            Property::Watch,
        ],
    );
}

#[test]
fn planted_release_early_breaks_isolation() {
    caught_as(
        Faults {
            release_early: true,
            ..Faults::default()
        },
        &[Property::Isolation, Property::SerialEquivalence],
    );
}

/// Seeds the engine's old disconnect must be caught within. Only a fifth of
/// seeds draw a high disconnect rate, and a drop must fall inside an EXEC
/// with part of it not yet sent, so few seeds catch it: measured in this
/// configuration, the first is seed 31 and 23 of seeds 0..2000 do (about
/// one in 90). The bound leaves room for a workload change that moves the
/// catching seeds (then a miss is about 1% likely); the whole sweep takes
/// about 4 s in the test profile, the usual case (31 seeds) a third of one.
const DISCONNECT_SEEDS_TO_CATCH_MAX: u64 = 400;

/// A client dropping its connection mid-EXEC must not leave half a
/// transaction: with the engine's old disconnect planted (release the locks
/// at once, abandon the rest of the operation) the dropped connection's
/// unit is left incomplete, which P3 reports — as a foreign command running
/// between its executions, or as a unit never finished by the end.
#[test]
fn planted_abandon_on_disconnect_leaves_half_a_transaction() {
    let config = SimConfig {
        faults: Faults {
            abandon_on_disconnect: true,
            ..Faults::default()
        },
        txn: TxnMode::Heavy,
        ..small(4, 4, 1000)
    };
    let (seed, failure) = caught_within(
        &config,
        &[Property::Isolation],
        DISCONNECT_SEEDS_TO_CATCH_MAX,
    );
    assert!(
        failure.message.contains("dropped the connection"),
        "seed {seed}: {failure}"
    );
}

#[test]
fn planted_validate_watch_early_breaks_watch() {
    caught_as(
        Faults {
            validate_watch_early: true,
            ..Faults::default()
        },
        &[Property::Watch],
    );
}

/// A small transaction-heavy sweep passes (these seeds miss the
/// lock-grant hang of `transaction_sweep_passes`).
#[test]
fn transaction_blocks_pass() {
    let config = SimConfig {
        txn: TxnMode::Heavy,
        ..small(4, 4, 300)
    };
    assert_passes(&config, 0..40);
}

/// A transaction-heavy sweep at full size (it found the keyless-command
/// deadlock of sim/regressions.txt seeds 20 and 106).
#[test]
fn transaction_sweep_passes() {
    let config = SimConfig {
        txn: TxnMode::Heavy,
        ..SimConfig::default()
    };
    assert_passes(&config, 0..300);
}

// ----- P4: durability across crashes -----

/// Seeds a planted durability bug must be caught within. Each needs a
/// crash to fall in a narrow window (after a failed fsync a client has
/// read from, or while a transaction's commit is still undurable, or in
/// the middle of a write), so only some seeds catch one: measured at 4
/// shards, 4 clients, 1000 ops, `appendfsync always`, the first catching
/// seeds are 19 (reply-before-fsync: 17 of seeds 0..400, so a miss within
/// the bound is about 1e-7 likely), 8 (recover-partial-txn,
/// transaction-heavy: 79 of 0..400) and 3 (skip-torn-trim: 53 of 0..400).
/// The bound leaves room for workload changes that move them.
const DURABILITY_SEEDS_TO_CATCH_MAX: u64 = 400;

/// A persisting configuration: `appendfsync always`, where every
/// acknowledged write must survive.
fn always(faults: Faults, txn: TxnMode) -> SimConfig {
    SimConfig {
        faults,
        txn,
        aof: AofMode::Always,
        ..small(4, 4, 1000)
    }
}

/// Replies let out before the fsync that covers them: when the fsync
/// fails and the server crashes before a retry succeeds, a write the
/// client saw acknowledged is gone (or, for a multi-shard operation, one
/// part survives without the other).
#[test]
fn planted_reply_before_fsync_loses_an_acknowledged_write() {
    let config = always(
        Faults {
            reply_before_fsync: true,
            ..Faults::default()
        },
        TxnMode::Off,
    );
    caught_within(
        &config,
        &[Property::Durability],
        DURABILITY_SEEDS_TO_CATCH_MAX,
    );
}

/// Recovery replaying an atomic operation whose commit never reached the
/// disk: a crash mid-transaction brings half of it back.
#[test]
fn planted_recover_partial_txn_brings_back_half_a_transaction() {
    let config = always(
        Faults {
            recover_partial_txn: true,
            ..Faults::default()
        },
        TxnMode::Heavy,
    );
    caught_within(
        &config,
        &[Property::Durability],
        DURABILITY_SEEDS_TO_CATCH_MAX,
    );
}

/// Recovery replaying a torn last record as far as it goes: a crash in
/// the middle of a write brings back a value no client ever wrote (or a
/// record recovery cannot run).
#[test]
fn planted_skip_torn_trim_replays_a_torn_record() {
    let config = always(
        Faults {
            skip_torn_trim: true,
            ..Faults::default()
        },
        TxnMode::Off,
    );
    caught_within(
        &config,
        &[Property::Durability],
        DURABILITY_SEEDS_TO_CATCH_MAX,
    );
}

/// EXEC and multi-shard writes on a failing disk are refused whole, as Redis
/// refuses an EXEC that queued a write while writes are denied by a disk
/// error (`-EXECABORT Transaction discarded because of: MISCONF ...`): the
/// engine once ran them, refusing only the parts on the failing shard while
/// the others applied — half a transaction, which P3 reports since. The
/// sweep must also meet refusals, or the check never ran.
#[test]
fn a_disk_error_refuses_exec_whole() {
    let config = always(Faults::default(), TxnMode::Heavy);
    assert_passes(&config, 0..100);
    let refused: u64 = (0..100)
        .map(|seed| run_seed(&config, seed, TraceMode::Off).stats.refused_whole)
        .sum();
    assert!(
        refused > 0,
        "no EXEC or multi-shard write was refused whole"
    );
}

/// The engine's old disk-error handling, planted: each write part on a
/// failing shard refused, the other parts applied. Measured at 4 shards, 4
/// clients, 1000 ops, `always`, transaction-heavy: the first catching seed
/// is 30 (and 3 of seeds 0..300 with transactions off).
#[test]
fn planted_misconf_per_part_applies_half_a_transaction() {
    let config = always(
        Faults {
            misconf_per_part: true,
            ..Faults::default()
        },
        TxnMode::Heavy,
    );
    caught_within(
        &config,
        &[Property::Isolation],
        DURABILITY_SEEDS_TO_CATCH_MAX,
    );
}

/// `everysec` with the wall clock set back, often and by up to 3 s.
fn everysec_clock_back(faults: Faults) -> SimConfig {
    SimConfig {
        faults,
        aof: AofMode::EverySec,
        clock_back: true,
        ..small(4, 4, 1000)
    }
}

/// Epochs once followed the wall clock: set back, it froze them — and the
/// recovery cut with them — until it caught up, so a crash in between lost
/// writes acknowledged more than a second before it. Planted, measured at
/// 4 shards, 4 clients, 1000 ops: the first catching seed is 23 (12 of
/// seeds 0..500).
#[test]
fn planted_wall_clock_epochs_lose_writes_after_a_clock_step_back() {
    let config = everysec_clock_back(Faults {
        wall_clock_epochs: true,
        ..Faults::default()
    });
    caught_within(
        &config,
        &[Property::Durability],
        DURABILITY_SEEDS_TO_CATCH_MAX,
    );
}

/// Epochs follow the monotonic clock (and start above the epochs the files
/// hold), so `everysec` keeps its promise with the wall clock set back —
/// also across restarts, where a wall clock behind the logs' epochs made a
/// reused increment's epochs go back and the next cut drop older records.
#[test]
fn everysec_keeps_its_promise_when_the_wall_clock_steps_back() {
    let config = everysec_clock_back(Faults::default());
    assert_passes(&config, 0..100);
    let (mut steps_back, mut checked) = (0, 0);
    for seed in 0..100 {
        let stats = run_seed(&config, seed, TraceMode::Off).stats;
        steps_back += stats.clock_steps_back;
        checked += stats.durability_checks;
    }
    assert!(
        steps_back >= 100,
        "only {steps_back} steps back in 100 seeds"
    );
    assert!(checked >= 50, "P4 checked only {checked} recoveries");
}

/// Every fsync policy passes a sweep with crashes, disk faults and
/// recoveries, and the sweep really crashed and checked P4 (a checker that
/// never runs cannot fail).
#[test]
fn persistence_sweeps_pass_under_every_policy() {
    for aof in [AofMode::Always, AofMode::EverySec, AofMode::No] {
        let config = SimConfig {
            aof,
            txn: TxnMode::Swarm,
            ..small(4, 4, 500)
        };
        assert_passes(&config, 0..60);
        let (mut crashes, mut checked) = (0, 0);
        for seed in 0..60 {
            let stats = run_seed(&config, seed, TraceMode::Off).stats;
            crashes += stats.crashes;
            checked += stats.durability_checks;
        }
        assert!(crashes >= 30, "{aof:?}: only {crashes} crashes in 60 seeds");
        assert!(
            checked * 10 >= crashes * 9,
            "{aof:?}: P4 checked only {checked} of {crashes} recoveries"
        );
    }
}

/// Crashes, torn writes and recoveries replay exactly: a persisting seed
/// run twice gives the same trace.
#[test]
fn crashes_and_recoveries_are_deterministic() {
    let config = SimConfig {
        aof: AofMode::Always,
        ..small(4, 4, 400)
    };
    for seed in 0..10 {
        let outcome = run_seed_twice(&config, seed);
        assert!(
            outcome.failure.is_none(),
            "seed {seed}: {:?}",
            outcome.failure
        );
    }
}

/// Persisting seeds sending BGREWRITEAOF and BGSAVE among disk faults and
/// crashes, under every fsync policy (the seeds that once failed are in
/// sim/regressions.txt).
#[test]
fn rewrites_among_crashes_pass() {
    for aof in [AofMode::Always, AofMode::EverySec, AofMode::No] {
        let config = SimConfig {
            aof,
            rewrites: true,
            ..SimConfig::default()
        };
        assert_passes(&config, 0..300);
    }
}
