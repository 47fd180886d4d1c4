//! Per-shard work at start-up, run one shard at a time or all at once.
//!
//! Recovery and snapshot loading split into passes whose every job touches
//! only its own shard's files, keyspace and random stream, so the order
//! the jobs run in cannot change what they produce. Persistence never
//! starts a thread itself (the core makes no OS call): the caller chooses
//! the [`ShardJobs`] — production one thread per shard
//! (`platform::runtime`), the simulator and unit tests [`InOrder`] on the
//! calling thread, deterministically.
//!
//! It also holds [`Progress`], the loaded-so-far counter every job adds to,
//! so a long start logs where it is whatever thread does the work.

use std::sync::atomic::{AtomicU64, Ordering};

/// One shard's share of a pass.
pub type ShardJob<'a> = Box<dyn FnOnce() + Send + 'a>;

/// Runs a pass's per-shard jobs.
pub trait ShardJobs {
    /// Runs every job in `jobs` to completion before returning, in any
    /// order or concurrently.
    fn run_all<'a>(&self, jobs: Vec<ShardJob<'a>>);
}

/// Runs the jobs one after another on the calling thread (the simulator,
/// tests, and anything single-threaded).
#[derive(Clone, Copy, Debug, Default)]
pub struct InOrder;

impl ShardJobs for InOrder {
    fn run_all<'a>(&self, jobs: Vec<ShardJob<'a>>) {
        for job in jobs {
            job();
        }
    }
}

/// `work(index, input)` for every shard's input, through `jobs`; the
/// results in shard order.
pub fn for_each_shard<T, R>(
    jobs: &dyn ShardJobs,
    inputs: Vec<T>,
    work: impl Fn(usize, T) -> R + Sync,
) -> Vec<R>
where
    T: Send,
    R: Send,
{
    let mut results: Vec<Option<R>> = inputs.iter().map(|_| None).collect();
    let work = &work;
    let pass: Vec<ShardJob<'_>> = inputs
        .into_iter()
        .zip(results.iter_mut())
        .enumerate()
        .map(|(index, (input, slot))| {
            Box::new(move || *slot = Some(work(index, input))) as ShardJob<'_>
        })
        .collect();
    jobs.run_all(pass);
    results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| panic!("ShardJobs::run_all returned before running every job"))
        })
        .collect()
}

/// Records (commands or snapshot entries) a job loads between two additions
/// to the shared counter: rare enough that threads do not contend on it.
const PROGRESS_BATCH: u64 = 64 * 1024;
/// A progress line is logged each time the total passes a multiple of this.
pub const PROGRESS_EVERY: u64 = 1_000_000;

/// Records loaded so far over every shard, for the progress lines of a long
/// start (as Redis logs its loading progress).
#[derive(Debug, Default)]
pub struct Progress {
    loaded: AtomicU64,
}

impl Progress {
    /// A counter at zero.
    pub fn new() -> Progress {
        Progress::default()
    }

    /// A job's local tally, added to `self` in batches.
    pub fn tally(&self) -> Tally<'_> {
        Tally {
            progress: self,
            pending: 0,
        }
    }

    fn add(&self, count: u64, file: &str) {
        let before = self.loaded.fetch_add(count, Ordering::Relaxed);
        let after = before + count;
        if after / PROGRESS_EVERY > before / PROGRESS_EVERY {
            tracing::info!(records = after, file, "loading the data set");
        }
    }
}

/// One job's count, not yet added to its [`Progress`].
#[derive(Debug)]
pub struct Tally<'a> {
    progress: &'a Progress,
    pending: u64,
}

impl Tally<'_> {
    /// One more record loaded from `file`.
    pub fn one(&mut self, file: &str) {
        self.pending += 1;
        if self.pending >= PROGRESS_BATCH {
            self.flush(file);
        }
    }

    /// Adds what is pending to the shared counter (at the end of a file).
    pub fn flush(&mut self, file: &str) {
        if self.pending > 0 {
            self.progress.add(std::mem::take(&mut self.pending), file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_each_shard_keeps_shard_order() {
        let results = for_each_shard(&InOrder, vec![10, 20, 30], |index, value| {
            index * 1000 + value
        });
        assert_eq!(results, vec![10, 1020, 2030]);
    }

    #[test]
    fn for_each_shard_runs_jobs_a_runner_reorders() {
        struct Reversed;
        impl ShardJobs for Reversed {
            fn run_all<'a>(&self, mut jobs: Vec<ShardJob<'a>>) {
                jobs.reverse();
                for job in jobs {
                    job();
                }
            }
        }
        let results = for_each_shard(&Reversed, vec!["a", "b"], |index, value| {
            format!("{index}{value}")
        });
        assert_eq!(results, vec!["0a".to_string(), "1b".to_string()]);
    }

    #[test]
    fn progress_counts_batches_from_every_tally() {
        let progress = Progress::new();
        let mut first = progress.tally();
        let mut second = progress.tally();
        for _ in 0..PROGRESS_BATCH + 1 {
            first.one("a");
        }
        second.one("b");
        assert_eq!(progress.loaded.load(Ordering::Relaxed), PROGRESS_BATCH);
        first.flush("a");
        second.flush("b");
        assert_eq!(progress.loaded.load(Ordering::Relaxed), PROGRESS_BATCH + 2);
    }
}
