//! Every bound corekv enforces, named in one place (TigerBeetle style).
//!
//! A limit that a client could otherwise choose — a bulk length, a multibulk
//! count, a pipeline depth — is capped here, and related limits are tied
//! together by `const` assertions so that changing one cannot silently break
//! another. Values that users may tune at run time live in
//! [`crate::config::Config`] with these as their defaults.

/// Default `proto-max-bulk-len`: the largest bulk string a client may send
/// (bytes). Redis: 512 MB.
pub const PROTO_MAX_BULK_LEN_DEFAULT: usize = 512 * 1024 * 1024;

/// Largest multibulk count accepted (elements). Redis 7 refuses counts above
/// `INT_MAX` with `invalid multibulk length`.
pub const MULTIBULK_COUNT_MAX: usize = i32::MAX as usize;

/// Longest inline command, or `*`/`$` header line, before a `\r` must appear
/// (bytes). Redis: `PROTO_INLINE_MAX_SIZE`, 64 KB.
pub const INLINE_BYTES_MAX: usize = 64 * 1024;

/// The parser never pre-allocates more argument slots than this, whatever
/// count a multibulk header claims (Redis caps argv at `min(count, 1024)`).
pub const ARGV_PREALLOC_MAX: usize = 1024;

/// Default `client-query-buffer-limit`: a connection whose unparsed input
/// exceeds this is closed (bytes). Redis: 1 GB.
pub const QUERY_BUFFER_BYTES_MAX_DEFAULT: usize = 1024 * 1024 * 1024;

/// A connection stops being read while its pending output exceeds this
/// (bytes); reading resumes once the socket drains it.
pub const OUTPUT_PAUSE_BYTES: usize = 4 * 1024 * 1024;

/// While a connection is busy (waiting on another shard, or holding parsed
/// commands) the platform stops reading it once this much unparsed input is
/// buffered (bytes), so a long pipeline cannot pile up in memory.
pub const QUERY_PAUSE_BYTES: usize = 64 * 1024;

/// Output a busy connection accumulates before it is written anyway
/// (bytes); below it, replies wait until the connection's commands in
/// flight are done, so one pipeline costs one write.
pub const OUTPUT_EAGER_BYTES: usize = 64 * 1024;

/// Parsed-but-not-yet-executed commands a connection may hold while it waits
/// for a cross-shard reply; parsing pauses beyond it.
pub const PIPELINE_QUEUE_MAX: usize = 1024;

/// Most commands forwarded to one shard in one batch for one connection.
pub const FORWARD_BATCH_MAX: usize = 256;

/// Number of logical databases (`databases`). Redis: 16.
pub const DATABASES_DEFAULT: usize = 16;

/// Hash slots in the keyspace (Redis Cluster's 16384).
pub const HASH_SLOTS: usize = 16384;

/// Most shards a server may run; shard indexes must fit the SCAN cursor's
/// shard field.
pub const SHARDS_MAX: usize = 256;

/// Bits of a SCAN cursor that select the shard (`SHARDS_MAX` = 2^8).
pub const SCAN_CURSOR_SHARD_BITS: u32 = 8;

/// Keys examined per database by one active-expiry cycle on one shard.
pub const ACTIVE_EXPIRE_KEYS_PER_CYCLE: usize = 200;

/// Interval between active-expiry cycles (ms); Redis's default `hz 10`.
pub const ACTIVE_EXPIRE_INTERVAL_MS: u64 = 100;

/// Deepest nesting the RESP reply parser (used by clients, the simulator and
/// fuzzers) accepts before reporting an error instead of recursing further.
pub const RESP_NESTING_MAX: usize = 64;

/// Most bytes of a client name (`CLIENT SETNAME`).
pub const CLIENT_NAME_BYTES_MAX: usize = 1024;

/// Delay before a failed AOF write or fsync is first retried (µs); it
/// doubles with each failure in a row, so a dead disk is not retried in a
/// busy loop (under `appendfsync always` the shard would spin a core).
pub const AOF_RETRY_BACKOFF_MIN_US: u64 = 1_000;

/// Longest delay between retries of a failing AOF write or fsync (µs).
/// Redis retries once a second; replies held under `always` wait for the
/// retry, so corekv tries ten times as often.
pub const AOF_RETRY_BACKOFF_MAX_US: u64 = 100_000;

const _: () = assert!(SHARDS_MAX == 1 << SCAN_CURSOR_SHARD_BITS);
const _: () = assert!(ARGV_PREALLOC_MAX <= MULTIBULK_COUNT_MAX);
const _: () = assert!(INLINE_BYTES_MAX < PROTO_MAX_BULK_LEN_DEFAULT);
const _: () = assert!(FORWARD_BATCH_MAX <= PIPELINE_QUEUE_MAX);
const _: () = assert!(OUTPUT_EAGER_BYTES < OUTPUT_PAUSE_BYTES);
const _: () = assert!(HASH_SLOTS.is_power_of_two());
const _: () =
    assert!(0 < AOF_RETRY_BACKOFF_MIN_US && AOF_RETRY_BACKOFF_MIN_US <= AOF_RETRY_BACKOFF_MAX_US);
