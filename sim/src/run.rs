//! Running seeds: one run with panics caught, determinism checks, and the
//! excerpt of a failing run.
//!
//! A shard panic must be reported as a failure of its seed, not crash the
//! sweep, so each run sits inside `catch_unwind`. While a run is in
//! progress on a thread, the panic hook stays quiet and keeps the message
//! and location for the report; elsewhere it defers to the previous hook.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::check::{Failure, Property};
use crate::sim::{Sim, SimConfig, Stats};
use crate::trace::TraceMode;

/// Lines of trace shown before a failure.
pub const EXCERPT_LINES: usize = 40;

/// What one run of one seed gave.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// What the run did.
    pub stats: Stats,
    /// The determinism hash of its trace.
    pub hash: u64,
    /// The first property violation, if any.
    pub failure: Option<Failure>,
    /// Trace lines (ring mode: the last ones before the end or failure).
    pub excerpt: Vec<String>,
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let text = format!("{info}");
                LAST_PANIC.with(|last| *last.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `body`, turning a panic into its message (with location).
fn catching<T>(body: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_hook();
    QUIET.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(body));
    QUIET.with(|q| q.set(false));
    result.map_err(|payload| {
        LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without message".to_string())
    })
}

/// Runs one seed.
pub fn run_seed(config: &SimConfig, seed: u64, mode: TraceMode) -> Outcome {
    let mut sim = match catching(|| Sim::new(seed, config, mode)) {
        Ok(sim) => sim,
        Err(message) => {
            return Outcome {
                seed,
                stats: Stats::default(),
                hash: 0,
                failure: Some(Failure {
                    property: Property::NoPanic,
                    message: format!("panic while starting: {message}"),
                    event: 0,
                    time_us: 0,
                }),
                excerpt: Vec::new(),
            }
        }
    };
    let failure = match catching(|| sim.run()) {
        Ok(failure) => failure,
        Err(message) => Some(Failure {
            property: Property::NoPanic,
            message: format!("panic: {message}"),
            event: sim.stats.events,
            time_us: sim.now_us(),
        }),
    };
    Outcome {
        seed,
        stats: sim.stats,
        hash: sim.trace_hash(),
        failure,
        excerpt: sim.take_trace_lines(),
    }
}

/// Runs a seed twice; a [`Property::Determinism`] failure if the traces or
/// verdicts differ, else the first run's outcome.
pub fn run_seed_twice(config: &SimConfig, seed: u64) -> Outcome {
    let first = run_seed(config, seed, TraceMode::Off);
    let second = run_seed(config, seed, TraceMode::Off);
    if first.hash == second.hash && first.failure == second.failure && first.stats == second.stats {
        return first;
    }
    let mut outcome = first.clone();
    outcome.failure = Some(Failure {
        property: Property::Determinism,
        message: format!(
            "two runs of seed {seed} differ: trace hash {:016x} vs {:016x}, {} vs {} events, \
             verdicts {:?} vs {:?}",
            first.hash,
            second.hash,
            first.stats.events,
            second.stats.events,
            first.failure.map(|f| f.to_string()),
            second.failure.map(|f| f.to_string())
        ),
        event: first.stats.events.min(second.stats.events),
        time_us: 0,
    });
    outcome
}

/// Runs a seed again, keeping the last trace lines before its end (its
/// failure, for a failing seed: runs are deterministic).
pub fn excerpt(config: &SimConfig, seed: u64) -> Outcome {
    run_seed(config, seed, TraceMode::Ring(EXCERPT_LINES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message() {
        let result: Result<(), String> = catching(|| panic!("shard exploded"));
        let message = result.unwrap_err();
        assert!(message.contains("shard exploded"), "{message}");
        assert_eq!(catching(|| 7), Ok(7));
    }
}
