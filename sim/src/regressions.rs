//! The regression file: seeds that once failed, replayed by every CI run.
//! (Parsing and formatting only; the binary reads and appends the file.)
//!
//! One seed per line, optionally followed by the settings it failed under
//! (`shards=N clients=N ops=N gather=private|shared txn=... aof=...`); settings left out take the command
//! line's values. `#` starts a comment, to the end of the line.
//!
//! ```text
//! # corekv-sim regression seeds
//! 1234 shards=4 clients=8 ops=2000   # cross-shard MGET lost a reply
//! ```

use crate::sim::{AofMode, SimConfig};
use crate::workload::GatherMode;

/// The header written to a new regression file.
pub const HEADER: &str = "\
# corekv-sim regression seeds: replayed by `corekv-sim --regressions <this file>`.
# One seed per line, optionally with the settings it failed under:
#   <seed> [shards=N] [clients=N] [ops=N] [gather=private|shared] [txn=off|heavy]
#          [aof=off|always|everysec|no] [rewrites] [clock-back]   # what it found
# Sweeps run with --record-failures append failing seeds here. A seed's
# workload depends on the server's command table, so note the commit.
";

/// One line of the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    /// The seed.
    pub seed: u64,
    /// The settings to run it with.
    pub config: SimConfig,
}

/// Parses the file's text; settings missing from a line come from `base`.
pub fn parse(text: &str, base: &SimConfig) -> Result<Vec<Regression>, String> {
    let mut regressions = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        let Some(seed) = words.next() else { continue };
        let bad = |what: &str| format!("line {}: {what}: {line}", number + 1);
        let seed = seed.parse().map_err(|_| bad("not a seed"))?;
        let mut config = base.clone();
        for word in words {
            let (name, value) = word.split_once('=').unwrap_or((word, ""));
            let number = || value.parse::<u64>().map_err(|_| bad("bad number"));
            match name {
                "shards" => config.shards = number()? as usize,
                "clients" => config.clients = number()? as usize,
                "ops" => config.ops = number()?,
                "gather" if value.is_empty() || value == "private" => {
                    config.gather = GatherMode::Private
                }
                "gather" if value == "shared" => config.gather = GatherMode::Shared,
                "txn" if value == "off" => config.txn = crate::sim::TxnMode::Off,
                "txn" if value == "heavy" => config.txn = crate::sim::TxnMode::Heavy,
                "txn" if value == "swarm" => config.txn = crate::sim::TxnMode::Swarm,
                "aof" if value == "swarm" => config.aof = AofMode::Swarm,
                "aof" if value == "off" => config.aof = AofMode::Off,
                "aof" if value == "always" => config.aof = AofMode::Always,
                "aof" if value == "everysec" => config.aof = AofMode::EverySec,
                "aof" if value == "no" => config.aof = AofMode::No,
                "rewrites" if value.is_empty() => config.rewrites = true,
                "clock-back" if value.is_empty() => config.clock_back = true,
                _ => return Err(bad("unknown setting")),
            }
        }
        if config.shards == 0 || config.clients == 0 {
            return Err(bad("shards and clients must be positive"));
        }
        regressions.push(Regression { seed, config });
    }
    Ok(regressions)
}

/// The line recording `seed` failing under `config`.
pub fn line(seed: u64, config: &SimConfig, note: &str) -> String {
    let gather = match config.gather {
        GatherMode::Off => "",
        GatherMode::Private => " gather=private",
        GatherMode::Shared => " gather=shared",
    };
    let note: String = note.chars().filter(|c| *c != '\n').take(120).collect();
    let txn = match config.txn {
        crate::sim::TxnMode::Swarm => "",
        crate::sim::TxnMode::Off => " txn=off",
        crate::sim::TxnMode::Heavy => " txn=heavy",
    };
    let aof = match config.aof {
        AofMode::Swarm => "",
        AofMode::Off => " aof=off",
        AofMode::Always => " aof=always",
        AofMode::EverySec => " aof=everysec",
        AofMode::No => " aof=no",
    };
    let rewrites = if config.rewrites { " rewrites" } else { "" };
    let clock_back = if config.clock_back { " clock-back" } else { "" };
    format!(
        "{seed} shards={} clients={} ops={}{gather}{txn}{aof}{rewrites}{clock_back}   # {note}\n",
        config.shards, config.clients, config.ops
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seeds_settings_and_comments() {
        let base = SimConfig::default();
        let text = format!("{HEADER}\n7\n  42 shards=2 ops=10 gather=shared # note\n# 9\n");
        let parsed = parse(&text, &base).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].seed, 7);
        assert_eq!(parsed[0].config.shards, base.shards);
        assert_eq!(parsed[1].seed, 42);
        assert_eq!(parsed[1].config.shards, 2);
        assert_eq!(parsed[1].config.ops, 10);
        assert_eq!(parsed[1].config.gather, GatherMode::Shared);
        assert!(parse("x", &base).is_err());
        assert!(parse("1 bogus=2", &base).is_err());
    }

    #[test]
    fn written_lines_parse_back() {
        let config = SimConfig {
            shards: 3,
            clients: 5,
            ops: 77,
            ..SimConfig::default()
        };
        let text = line(99, &config, "P1 reply order\nviolated");
        let parsed = parse(&text, &SimConfig::default()).unwrap();
        assert_eq!(parsed[0].seed, 99);
        assert_eq!(parsed[0].config.clients, 5);
    }
}
