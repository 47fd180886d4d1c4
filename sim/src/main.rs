//! `corekv-sim`: sweeps seeds through the deterministic simulator, replays
//! one seed with its trace, or replays the regression file.
//!
//! ```text
//! corekv-sim --seeds 0..10000 --shards 4 --clients 8 --ops 2000
//! corekv-sim --seed 1234 --trace
//! corekv-sim --fault drop-forwarded --seeds 0..50
//! corekv-sim --regressions sim/regressions.txt
//! ```
//!
//! Exits non-zero if any seed fails.

// The sweep binary measures wall-clock rates and reads and appends the
// regression file: the OS calls the engine must never make are its job.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use corekv::shard::Faults;
use corekv_sim::regressions;
use corekv_sim::workload::GatherMode;
use corekv_sim::{
    excerpt, run_seed, run_seed_twice, AofMode, Outcome, SimConfig, TraceMode, TxnMode,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How gathered commands run across shards (see `GatherMode`).
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Gather {
    /// On client-private keys, whole-keyspace commands left out.
    Private,
    /// On the shared keys, whole-keyspace commands in.
    Shared,
}

/// A bug to plant in every shard.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Fault {
    /// Home-shard commands overtake a pending forwarded one (breaks P1).
    LocalSkipsWait,
    /// The last command of each forwarded batch is lost (breaks P1).
    DropForwarded,
    /// Forwarded commands run in database 0 (breaks P2).
    RemoteIgnoresDb,
    /// The highest shard of a multi-shard operation is not locked (breaks P3).
    SkipLock,
    /// Watched keys are checked when a lock request arrives, not when it is
    /// granted (breaks P3 WATCH).
    ValidateWatchEarly,
    /// The lowest shard's lock is released before the operation runs
    /// (breaks P3).
    ReleaseEarly,
    /// A client's disconnect abandons its atomic operation halfway, as the
    /// engine once did, instead of finishing it detached (breaks P3).
    AbandonOnDisconnect,
    /// Under `appendfsync always`, replies and messages go out before the
    /// fsync covering them (breaks P4).
    ReplyBeforeFsync,
    /// Epochs follow the wall clock, which a step back freezes (breaks P4
    /// under `everysec`).
    WallClockEpochs,
    /// On a disk error, EXEC and multi-shard commands are refused part by
    /// part, not whole: the other parts apply (breaks P3).
    MisconfPerPart,
    /// Recovery replays atomic operations that never committed (breaks P4).
    RecoverPartialTxn,
    /// Recovery replays a torn last record instead of trimming it (breaks
    /// P4).
    SkipTornTrim,
}

/// Persistence of the simulated server.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Aof {
    /// Drawn per seed: off, always, everysec or no (the default).
    Swarm,
    /// `appendonly no`: no disk, no crashes.
    Off,
    /// `appendfsync always`.
    Always,
    /// `appendfsync everysec`.
    Everysec,
    /// `appendfsync no`.
    No,
}

/// How often clients send transaction blocks.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Txn {
    /// In a fraction of seeds (the default).
    Swarm,
    /// Never.
    Off,
    /// In every seed, often.
    Heavy,
}

#[derive(Debug, Parser)]
#[command(
    name = "corekv-sim",
    about = "Deterministic simulation of corekv",
    version
)]
struct Cli {
    /// Seeds to sweep, as START..END (END excluded).
    #[arg(long, value_parser = parse_range, default_value = "0..100")]
    seeds: Range<u64>,
    /// Run this one seed (instead of --seeds).
    #[arg(long)]
    seed: Option<u64>,
    /// Print the whole trace of the seed (with --seed).
    #[arg(long, requires = "seed")]
    trace: bool,
    /// Shards of the simulated server.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    shards: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    clients: u64,
    /// Commands per seed, over all clients.
    #[arg(long, default_value_t = 2000)]
    ops: u64,
    /// Plant a bug, to see a checker fail.
    #[arg(long, value_enum)]
    fault: Option<Fault>,
    /// Send gathered commands (RENAME, COPY, MSETNX, BITOP, LCS) across
    /// shards: on keys private to each client, without whole-keyspace
    /// commands (`private`), or on the shared keys with them (`shared`).
    #[arg(long, value_enum)]
    gather: Option<Gather>,
    /// Transaction blocks (MULTI/EXEC, WATCH loops, DISCARD, EXECABORT):
    /// in a fraction of seeds (`swarm`), never, or in every seed (`heavy`).
    #[arg(long, value_enum, default_value = "swarm")]
    txn: Txn,
    /// Persistence: an AOF on a simulated disk with faults, crashes and
    /// recoveries checked for P4, under a policy drawn per seed (`swarm`)
    /// or fixed; `off` keeps the server in memory.
    #[arg(long, value_enum, default_value = "swarm")]
    aof: Aof,
    /// Persisting seeds also send BGREWRITEAOF and BGSAVE, at a rate drawn
    /// per seed (off by default so that recorded seeds keep their
    /// schedules; CI's sweep turns it on).
    #[arg(long)]
    rewrites: bool,
    /// Every seed steps its wall clock back, often and by up to 3 s (by
    /// default a seed draws whether its clock steps, ahead or back).
    #[arg(long)]
    clock_back: bool,
    /// Replay the seeds listed in this file (before any sweep).
    #[arg(long)]
    regressions: Option<PathBuf>,
    /// Append seeds failing the sweep to the regression file
    /// (--regressions, or sim/regressions.txt).
    #[arg(long)]
    record_failures: bool,
    /// Also run every N-th seed twice to check determinism (0: never).
    #[arg(long, default_value_t = 10)]
    determinism_every: u64,
    /// Run every seed twice to check determinism (as --determinism-every 1).
    #[arg(long)]
    determinism: bool,
    /// Stop the sweep after this many failing seeds.
    #[arg(long, default_value_t = 10)]
    max_failures: usize,
}

fn parse_range(text: &str) -> Result<Range<u64>, String> {
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| format!("expected START..END, got {text}"))?;
    let start = start.parse().map_err(|_| format!("bad start in {text}"))?;
    let end = end.parse().map_err(|_| format!("bad end in {text}"))?;
    if start >= end {
        return Err(format!("empty range {text}"));
    }
    Ok(start..end)
}

fn fault_name(fault: Fault) -> &'static str {
    match fault {
        Fault::LocalSkipsWait => "local-skips-wait",
        Fault::DropForwarded => "drop-forwarded",
        Fault::RemoteIgnoresDb => "remote-ignores-db",
        Fault::SkipLock => "skip-lock",
        Fault::ValidateWatchEarly => "validate-watch-early",
        Fault::ReleaseEarly => "release-early",
        Fault::AbandonOnDisconnect => "abandon-on-disconnect",
        Fault::ReplyBeforeFsync => "reply-before-fsync",
        Fault::WallClockEpochs => "wall-clock-epochs",
        Fault::MisconfPerPart => "misconf-per-part",
        Fault::RecoverPartialTxn => "recover-partial-txn",
        Fault::SkipTornTrim => "skip-torn-trim",
    }
}

impl Cli {
    fn config(&self) -> SimConfig {
        let faults = match self.fault {
            None => Faults::default(),
            Some(Fault::LocalSkipsWait) => Faults {
                local_skips_wait: true,
                ..Faults::default()
            },
            Some(Fault::DropForwarded) => Faults {
                drop_forwarded: true,
                ..Faults::default()
            },
            Some(Fault::RemoteIgnoresDb) => Faults {
                remote_ignores_db: true,
                ..Faults::default()
            },
            Some(Fault::SkipLock) => Faults {
                skip_lock: true,
                ..Faults::default()
            },
            Some(Fault::ValidateWatchEarly) => Faults {
                validate_watch_early: true,
                ..Faults::default()
            },
            Some(Fault::ReleaseEarly) => Faults {
                release_early: true,
                ..Faults::default()
            },
            Some(Fault::AbandonOnDisconnect) => Faults {
                abandon_on_disconnect: true,
                ..Faults::default()
            },
            Some(Fault::ReplyBeforeFsync) => Faults {
                reply_before_fsync: true,
                ..Faults::default()
            },
            Some(Fault::WallClockEpochs) => Faults {
                wall_clock_epochs: true,
                ..Faults::default()
            },
            Some(Fault::MisconfPerPart) => Faults {
                misconf_per_part: true,
                ..Faults::default()
            },
            Some(Fault::RecoverPartialTxn) => Faults {
                recover_partial_txn: true,
                ..Faults::default()
            },
            Some(Fault::SkipTornTrim) => Faults {
                skip_torn_trim: true,
                ..Faults::default()
            },
        };
        SimConfig {
            shards: self.shards as usize,
            clients: self.clients as usize,
            ops: self.ops,
            faults,
            gather: match self.gather {
                None => GatherMode::Off,
                Some(Gather::Private) => GatherMode::Private,
                Some(Gather::Shared) => GatherMode::Shared,
            },
            txn: match self.txn {
                Txn::Swarm => TxnMode::Swarm,
                Txn::Off => TxnMode::Off,
                Txn::Heavy => TxnMode::Heavy,
            },
            aof: match self.aof {
                Aof::Swarm => AofMode::Swarm,
                Aof::Off => AofMode::Off,
                Aof::Always => AofMode::Always,
                Aof::Everysec => AofMode::EverySec,
                Aof::No => AofMode::No,
            },
            rewrites: self.rewrites,
            clock_back: self.clock_back,
        }
    }

    /// The command line that replays `seed` under `config`.
    fn replay_command(&self, seed: u64, config: &SimConfig) -> String {
        let mut command = format!(
            "cargo run -p corekv-sim --release -- --seed {seed} --shards {} --clients {} --ops {}",
            config.shards, config.clients, config.ops
        );
        if let Some(fault) = self.fault {
            command.push_str(&format!(" --fault {}", fault_name(fault)));
        }
        match config.gather {
            GatherMode::Off => {}
            GatherMode::Private => command.push_str(" --gather private"),
            GatherMode::Shared => command.push_str(" --gather shared"),
        }
        match config.txn {
            TxnMode::Swarm => {}
            TxnMode::Off => command.push_str(" --txn off"),
            TxnMode::Heavy => command.push_str(" --txn heavy"),
        }
        match config.aof {
            AofMode::Swarm => {}
            AofMode::Off => command.push_str(" --aof off"),
            AofMode::Always => command.push_str(" --aof always"),
            AofMode::EverySec => command.push_str(" --aof everysec"),
            AofMode::No => command.push_str(" --aof no"),
        }
        if config.rewrites {
            command.push_str(" --rewrites");
        }
        if config.clock_back {
            command.push_str(" --clock-back");
        }
        command.push_str(" --trace");
        command
    }
}

/// Totals over the seeds run.
#[derive(Default)]
struct Summary {
    seeds: u64,
    commands: u64,
    events: u64,
    crashes: u64,
    durability_checks: u64,
    durability_inconclusive: u64,
    failures: Vec<(u64, SimConfig, String)>,
}

impl Summary {
    fn add(&mut self, outcome: &Outcome) {
        self.seeds += 1;
        self.commands += outcome.stats.commands;
        self.events += outcome.stats.events;
        self.crashes += outcome.stats.crashes;
        self.durability_checks += outcome.stats.durability_checks;
        self.durability_inconclusive += outcome.stats.durability_inconclusive;
    }
}

/// Prints a failing seed: property, message, trace excerpt, replay command.
fn report(cli: &Cli, config: &SimConfig, outcome: &Outcome, summary: &mut Summary) {
    let Some(failure) = &outcome.failure else {
        return;
    };
    eprintln!();
    eprintln!("FAILED seed {}: {}", outcome.seed, failure.property);
    eprintln!("  {}", failure.message);
    let rerun = excerpt(config, outcome.seed);
    if !rerun.excerpt.is_empty() {
        eprintln!("  last events before the failure:");
        for line in &rerun.excerpt {
            eprintln!("    {line}");
        }
    }
    eprintln!("  replay: {}", cli.replay_command(outcome.seed, config));
    summary
        .failures
        .push((outcome.seed, config.clone(), failure.to_string()));
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = cli.config();
    if let Some(seed) = cli.seed {
        return replay_one(&cli, &config, seed);
    }
    let started = Instant::now();
    let mut summary = Summary::default();
    if let Some(path) = &cli.regressions {
        if let Err(error) = replay_regressions(&cli, &config, path, &mut summary) {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    }
    let regression_failures = summary.failures.len();
    sweep(&cli, &config, &mut summary);
    let elapsed_s = started.elapsed().as_secs_f64();
    println!(
        "{} seeds, {} simulated commands ({} events) in {:.1}s: {:.0} commands/s, {} failing seeds",
        summary.seeds,
        summary.commands,
        summary.events,
        elapsed_s,
        summary.commands as f64 / elapsed_s.max(1e-9),
        summary.failures.len()
    );
    if summary.crashes > 0 {
        println!(
            "{} crashes: {} recoveries checked for P4, {} inconclusive",
            summary.crashes, summary.durability_checks, summary.durability_inconclusive
        );
    }
    if cli.record_failures && cli.fault.is_none() {
        let path = cli
            .regressions
            .clone()
            .unwrap_or_else(|| PathBuf::from("sim/regressions.txt"));
        let lines: Vec<String> = summary.failures[regression_failures..]
            .iter()
            .map(|(seed, config, note)| regressions::line(*seed, config, note))
            .collect();
        if !lines.is_empty() {
            match append(&path, &lines) {
                Ok(()) => println!("recorded {} seeds in {}", lines.len(), path.display()),
                Err(error) => eprintln!("cannot record failures in {}: {error}", path.display()),
            }
        }
    }
    if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Appends lines to the regression file, creating it with its header.
fn append(path: &std::path::Path, lines: &[String]) -> std::io::Result<()> {
    let new = !path.exists();
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    if new {
        file.write_all(regressions::HEADER.as_bytes())?;
    }
    for line in lines {
        file.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn replay_one(cli: &Cli, config: &SimConfig, seed: u64) -> ExitCode {
    let mode = if cli.trace {
        TraceMode::Print
    } else {
        TraceMode::Off
    };
    let outcome = run_seed(config, seed, mode);
    let stats = outcome.stats;
    println!(
        "seed {seed}: {} commands, {} replies, {} executions, {} messages, {} events, \
         {:.3}s virtual, {} disconnects, {} backpressure waits, output up to {} bytes, \
         {} crashes ({} checked for P4, {} inconclusive), {} disk faults, trace hash {:016x}",
        stats.commands,
        stats.replies,
        stats.executions,
        stats.messages,
        stats.events,
        stats.virtual_time_us as f64 / 1e6,
        stats.disconnects,
        stats.backpressure_waits,
        stats.output_bytes_max,
        stats.crashes,
        stats.durability_checks,
        stats.durability_inconclusive,
        stats.disk_faults,
        outcome.hash
    );
    match &outcome.failure {
        None => {
            println!("seed {seed}: ok");
            ExitCode::SUCCESS
        }
        Some(failure) => {
            println!("FAILED seed {seed}: {failure}");
            if !cli.trace {
                println!("  replay: {}", cli.replay_command(seed, config));
            }
            ExitCode::FAILURE
        }
    }
}

fn replay_regressions(
    cli: &Cli,
    config: &SimConfig,
    path: &std::path::Path,
    summary: &mut Summary,
) -> Result<(), String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && cli.record_failures => {
            String::new()
        }
        Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
    };
    let list = regressions::parse(&text, config).map_err(|e| format!("{}: {e}", path.display()))?;
    let failures_before = summary.failures.len();
    for regression in &list {
        let mut config = regression.config.clone();
        config.faults = cli.config().faults;
        let outcome = run_seed_twice(&config, regression.seed);
        summary.add(&outcome);
        report(cli, &config, &outcome, summary);
    }
    println!(
        "{}: {} regression seeds replayed, {} failing",
        path.display(),
        list.len(),
        summary.failures.len() - failures_before
    );
    Ok(())
}

fn sweep(cli: &Cli, config: &SimConfig, summary: &mut Summary) {
    let seeds = cli.seeds.clone();
    let bar = ProgressBar::new(seeds.end - seeds.start);
    if std::io::stderr().is_terminal() {
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} seeds, {msg} ({eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let mut commands = 0u64;
    for seed in seeds {
        let check_twice =
            cli.determinism || (cli.determinism_every > 0 && seed % cli.determinism_every == 0);
        let outcome = if check_twice {
            run_seed_twice(config, seed)
        } else {
            run_seed(config, seed, TraceMode::Off)
        };
        summary.add(&outcome);
        commands += outcome.stats.commands;
        if outcome.failure.is_some() {
            bar.suspend(|| report(cli, config, &outcome, summary));
            if summary.failures.len() >= cli.max_failures {
                bar.suspend(|| eprintln!("stopping after {} failing seeds", cli.max_failures));
                break;
            }
        }
        bar.inc(1);
        let rate = commands as f64 / started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "{commands} commands, {rate:.0}/s, {} failing",
            summary.failures.len()
        ));
    }
    bar.finish_and_clear();
}
