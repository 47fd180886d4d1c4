//! How a shard takes in work addressed to it — from another shard, or its
//! own part of a wait — in the presence of key locks.
//!
//! Work runs at once unless it touches keys locked by an atomic operation it
//! does not belong to; then it is *parked* and runs when the lock is
//! released, in arrival order. Lock requests themselves are granted or
//! queued by the [`LockTable`](super::locks::LockTable); a queued one is
//! answered when a release grants it. Watched keys are checked when a lock
//! is *granted*, while the owner holds the key, so no change can slip in
//! between the check and the transaction. So is the AOF: while a shard's
//! log cannot be written, an operation that writes is refused whole.

use bytes::Bytes;

use super::locks::{LockSet, TxnId};
use super::message::{Message, Request, Response, Ticket};
use super::{server, Counters, Shard};
use crate::commands::{CommandSpec, Exec, Route};
use crate::platform::Platform;

/// Where the answer to an accepted request goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Waiter {
    /// A part of one of this shard's own connections' waits.
    Local(Ticket),
    /// A request from another shard.
    Remote { from: usize, ticket: Ticket },
}

/// A request waiting for another owner's locks.
#[derive(Debug)]
pub(crate) struct Parked {
    waiter: Waiter,
    owner: Option<TxnId>,
    db: usize,
    request: Request,
}

/// A queued lock request: whom to answer, and which watches to check.
#[derive(Debug)]
pub(crate) struct LockWaiter {
    waiter: Waiter,
    watched: Vec<(usize, Bytes, u64)>,
    /// Planted bug `validate_watch_early`: the verdict taken on arrival.
    early_verdict: Option<bool>,
}

/// The keys one command touches on this shard, as a lock set.
///
/// Whole-shard: whole-keyspace commands; SCAN, which walks the shard's keys
/// and must not see a multi-shard command half done (found by the
/// simulator with `--gather shared`); and COPY with a DB option, whose
/// destination lives in another database than its key positions name.
pub(super) fn command_lock_set(spec: &CommandSpec, argv: &[Bytes], db: usize) -> LockSet {
    let walks_keyspace = matches!(
        spec.exec,
        Exec::Keyspace {
            route: Route::AllShards(_) | Route::ScanCursor,
            ..
        }
    );
    let copies_across_databases = spec.name == "copy"
        && argv
            .iter()
            .skip(3)
            .any(|arg| arg.eq_ignore_ascii_case(b"db"));
    let whole = walks_keyspace || copies_across_databases;
    let keys = if whole {
        Vec::new()
    } else {
        spec.keys_of(argv).map(|key| (db, key.clone())).collect()
    };
    LockSet { whole, keys }
}

impl<P: Platform> Shard<P> {
    /// Takes in a request: answers it now (`Some`), or parks or queues it
    /// and answers later through `waiter`.
    pub(super) fn accept_request(
        &mut self,
        waiter: Waiter,
        owner: Option<TxnId>,
        db: usize,
        request: Request,
    ) -> Option<Response> {
        if let Request::Lock { set, watched } = request {
            let owner = owner.expect("a lock request names its owner");
            let early_verdict = self
                .faults
                .validate_watch_early
                .then(|| self.watches_ok(&watched));
            return match self.locks.try_acquire(owner, set) {
                None => {
                    let watch_ok = early_verdict.unwrap_or_else(|| self.watches_ok(&watched));
                    let disk_error = self.aof_error();
                    Some(Response::Locked {
                        owner,
                        watch_ok,
                        disk_error,
                    })
                }
                Some(set) => {
                    self.locks.enqueue(
                        owner,
                        set,
                        LockWaiter {
                            waiter,
                            watched,
                            early_verdict,
                        },
                    );
                    None
                }
            };
        }
        if !self.locks.is_idle() && self.request_conflicts(owner, db, &request) {
            self.parked.push_back(Parked {
                waiter,
                owner,
                db,
                request,
            });
            return None;
        }
        Some(self.serve(owner, db, request))
    }

    /// True if `request` touches keys locked by an owner other than `owner`.
    fn request_conflicts(&self, owner: Option<TxnId>, db: usize, request: &Request) -> bool {
        let keys_conflict = |keys: &mut dyn Iterator<Item = &Bytes>| {
            let set = LockSet {
                whole: false,
                keys: keys.map(|key| (db, key.clone())).collect(),
            };
            self.locks.conflicts_with_held(owner, &set)
        };
        match request {
            Request::Execute(commands) => commands.iter().any(|f| {
                self.locks
                    .conflicts_with_held(owner, &command_lock_set(f.spec, &f.argv, db))
            }),
            Request::Fetch(keys) => keys_conflict(&mut keys.iter()),
            Request::Store(entries) => keys_conflict(&mut entries.iter().map(|(key, _)| key)),
            // A WATCH must not record a version an unfinished atomic
            // operation is about to change (simulator, --gather shared seeds
            // 108 and 821): it waits, as a read of those keys would.
            Request::Watch(keys) => keys_conflict(&mut keys.iter()),
            _ => false,
        }
    }

    /// True when none of `watched` changed since it was watched.
    fn watches_ok(&mut self, watched: &[(usize, Bytes, u64)]) -> bool {
        let now_ms = self.clock.1 / 1000;
        !watched
            .iter()
            .any(|(db, key, version)| self.keyspace.db(*db).watch_is_dirty(key, *version, now_ms))
    }

    /// Sends an answer where it belongs (stamped with this shard's epoch
    /// when it leaves the shard).
    pub(super) fn deliver(&mut self, waiter: Waiter, response: Response) {
        match waiter {
            Waiter::Local(ticket) => self.completions.push_back((ticket, response)),
            Waiter::Remote { from, ticket } => {
                let epoch = self.epoch;
                self.send(
                    from,
                    Message::Response {
                        ticket,
                        response,
                        epoch,
                    },
                );
            }
        }
    }

    /// Releases `owner`'s locks here, answers the lock requests that are now
    /// granted, and runs parked requests that no longer conflict.
    pub(super) fn release_locks(&mut self, owner: TxnId) {
        for (granted_owner, lock_waiter) in self.locks.release(owner) {
            let LockWaiter {
                waiter,
                watched,
                early_verdict,
            } = lock_waiter;
            let watch_ok = early_verdict.unwrap_or_else(|| self.watches_ok(&watched));
            let disk_error = self.aof_error();
            self.deliver(
                waiter,
                Response::Locked {
                    owner: granted_owner,
                    watch_ok,
                    disk_error,
                },
            );
        }
        let parked = std::mem::take(&mut self.parked);
        for request in parked {
            if self.request_conflicts(request.owner, request.db, &request.request) {
                self.parked.push_back(request);
            } else {
                let response = self.serve(request.owner, request.db, request.request);
                self.deliver(request.waiter, response);
            }
        }
    }

    /// Carries out a request from another shard (or a local part).
    pub(super) fn serve(&mut self, owner: Option<TxnId>, db: usize, request: Request) -> Response {
        match request {
            Request::Execute(commands) => {
                let replies = commands
                    .into_iter()
                    .map(|f| self.execute(owner, f.origin, db, f.spec, f.argv))
                    .collect();
                Response::Replies(replies)
            }
            Request::Fetch(keys) => {
                let now_ms = self.clock.1 / 1000;
                let database = self.keyspace.db(db);
                Response::Entries(
                    keys.iter()
                        .map(|key| database.get(key, now_ms).cloned())
                        .collect(),
                )
            }
            Request::Store(entries) => {
                let now_ms = self.clock.1 / 1000;
                self.log_store(owner, db, &entries);
                let database = self.keyspace.db(db);
                for (key, entry) in entries {
                    match entry {
                        Some(entry) => database.insert_entry(&key, entry),
                        None => {
                            database.remove(&key, now_ms);
                        }
                    }
                }
                Response::Done
            }
            Request::Stats => Response::Stats(self.stats()),
            Request::StartJob { job, coordinator } => self.start_job(job, coordinator),
            Request::Abandon(job) => self.abandon_job(job),
            Request::Snapshot { created_ms } => {
                Response::Snapshotted(self.write_snapshot(created_ms))
            }
            Request::ClientList => Response::Text(server::client_list(self)),
            Request::ConfigSet(pairs) => {
                for (name, value) in pairs {
                    // Validated by the requesting shard; a refusal here cannot happen.
                    let _ = self.config.set_at_runtime(&name, &value);
                }
                Response::Done
            }
            Request::ResetStats => {
                self.counters = Counters::default();
                Response::Done
            }
            Request::Watch(keys) => {
                let now_ms = self.clock.1 / 1000;
                let database = self.keyspace.db(db);
                Response::Versions(keys.iter().map(|key| database.watch(key, now_ms)).collect())
            }
            Request::Lock { .. } => panic!("lock requests are accepted, never served directly"),
        }
    }
}
