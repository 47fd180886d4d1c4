//! The command table and the command families.
//!
//! Every command is declared once, as data, in a [`CommandSpec`]: its name,
//! arity, flags, key positions, how it is routed across shards, and its
//! handler (Redis's `src/commands/*.json` model). Arity, unknown commands and
//! routing are checked from this table in one place.
//!
//! Handlers are pure functions over one shard's keyspace: they take a
//! [`Ctx`] (keyspace, selected database, the time and RNG for this command)
//! and the argument cursor [`Args`], and return a [`Reply`] or a
//! [`CommandError`]. No handler knows about connections, shards or sockets;
//! commands that need such state are [`Exec::Server`] and live in `shard/`.

pub mod args;
pub mod bitmaps;
pub mod hashes;
pub mod hyperloglog;
pub mod keys;
pub mod lists;
pub mod server;
pub mod sets;
pub mod sort;
pub mod strings;
pub mod zsets;

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use rand::RngCore;

pub use args::Args;

use crate::keyspace::{Db, Keyspace};
use crate::resp::Reply;

/// An expected command failure, mapped to Redis's exact reply text by
/// `Display` (the text after the `-` of the RESP error).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// `ERR syntax error`
    Syntax,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR value is not a valid float`
    NotFloat,
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`
    WrongType,
    /// `ERR increment or decrement would overflow`
    Overflow,
    /// `ERR no such key`
    NoSuchKey,
    /// `ERR DB index is out of range`
    DbIndexOutOfRange,
    /// `ERR invalid expire time in '<command>' command`
    InvalidExpireTime(&'static str),
    /// `ERR string exceeds maximum allowed size (proto-max-bulk-len)`
    StringTooLong,
    /// Any other fixed message (full text, e.g. `ERR offset is out of range`).
    Static(&'static str),
    /// A formatted message (full text).
    Message(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Syntax => f.write_str("ERR syntax error"),
            CommandError::NotInteger => f.write_str("ERR value is not an integer or out of range"),
            CommandError::NotFloat => f.write_str("ERR value is not a valid float"),
            CommandError::WrongType => {
                f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            CommandError::Overflow => f.write_str("ERR increment or decrement would overflow"),
            CommandError::NoSuchKey => f.write_str("ERR no such key"),
            CommandError::DbIndexOutOfRange => f.write_str("ERR DB index is out of range"),
            CommandError::InvalidExpireTime(command) => {
                write!(f, "ERR invalid expire time in '{command}' command")
            }
            CommandError::StringTooLong => {
                f.write_str("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
            }
            CommandError::Static(text) => f.write_str(text),
            CommandError::Message(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for CommandError {}

impl CommandError {
    /// `ERR wrong number of arguments for '<command>' command`, for handlers
    /// whose valid argument counts the table's arity cannot express.
    pub fn arity(command: &str) -> CommandError {
        CommandError::Message(format!(
            "ERR wrong number of arguments for '{command}' command"
        ))
    }
}

impl From<CommandError> for Reply {
    fn from(error: CommandError) -> Reply {
        match error {
            CommandError::Static(text) => Reply::error(text),
            other => Reply::error_string(other.to_string()),
        }
    }
}

/// What a handler returns.
pub type CommandResult = Result<Reply, CommandError>;

/// A keyspace command handler.
pub type Handler = fn(&mut Ctx<'_>, &mut Args) -> CommandResult;

/// Everything a handler may use: one shard's keyspace, the connection's
/// selected database, and this command's time and randomness.
pub struct Ctx<'a> {
    /// The shard's databases.
    pub keyspace: &'a mut Keyspace,
    /// The database selected by the connection (`SELECT`).
    pub db_index: usize,
    /// Wall-clock time for this command, Unix ms (expiry). Fixed for the
    /// command's duration, as Redis's `commandTimeSnapshot`.
    pub now_ms: u64,
    /// Wall-clock time, Unix µs (TIME).
    pub now_us: u64,
    /// Seeded randomness (RANDOMKEY, SPOP, ...), from the Platform.
    pub rng: &'a mut dyn RngCore,
    /// Index of the shard running the handler.
    pub shard_index: usize,
    /// Number of shards in the server.
    pub shard_count: usize,
    /// `proto-max-bulk-len`: the largest string a command may build (bytes).
    pub proto_max_bulk_len: usize,
    /// Replaying the AOF: an absolute expire time already past sets the
    /// TTL instead of deleting the key (as Redis while `loading`), since
    /// replay runs each command at the millisecond it first ran.
    pub loading: bool,
}

impl Ctx<'_> {
    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        self.keyspace.db(self.db_index)
    }
}

/// Command flags as `COMMAND INFO` names them.
pub mod flags {
    /// May modify the keyspace.
    pub const WRITE: u32 = 1 << 0;
    /// Reads but never modifies the keyspace.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory use.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// O(1) or O(log n).
    pub const FAST: u32 = 1 << 4;
    /// Allowed while loading data.
    pub const LOADING: u32 = 1 << 5;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 6;
    /// Not allowed in scripts.
    pub const NOSCRIPT: u32 = 1 << 7;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 8;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 9;
    /// Not logged by MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 10;
    /// Not logged by SLOWLOG.
    pub const SKIP_SLOWLOG: u32 = 1 << 11;

    /// (bit, name) pairs in Redis's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (NOSCRIPT, "noscript"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI, "no_multi"),
    ];
}

/// Key positions in argv, Redis's legacy (first, last, step) triple:
/// `last` < 0 counts from the end (-1 is the last argument); `first` 0 means
/// the command has no keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// Index of the first key (0: no keys).
    pub first: i32,
    /// Index of the last key; negative counts from the end.
    pub last: i32,
    /// Distance between keys.
    pub step: i32,
}

impl KeySpec {
    /// No keys.
    pub const NONE: KeySpec = KeySpec {
        first: 0,
        last: 0,
        step: 0,
    };
    /// One key at argv[1].
    pub const FIRST: KeySpec = KeySpec {
        first: 1,
        last: 1,
        step: 1,
    };
    /// Every argument from argv[1] is a key.
    pub const ALL: KeySpec = KeySpec {
        first: 1,
        last: -1,
        step: 1,
    };
    /// Keys at argv[1] and argv[2].
    pub const TWO: KeySpec = KeySpec {
        first: 1,
        last: 2,
        step: 1,
    };
    /// Alternating key/value pairs from argv[1].
    pub const PAIRS: KeySpec = KeySpec {
        first: 1,
        last: -1,
        step: 2,
    };

    /// Indexes of the keys in an argv of `argc` elements.
    pub fn indexes(&self, argc: usize) -> impl Iterator<Item = usize> {
        let (first, step) = (self.first.max(0) as usize, self.step.max(1) as usize);
        let last = if self.last < 0 {
            argc as i64 + i64::from(self.last)
        } else {
            i64::from(self.last).min(argc as i64 - 1)
        };
        let end = if first == 0 || last < first as i64 {
            first
        } else {
            last as usize + 1
        };
        (first..end).step_by(step)
    }
}

/// How replies from several shards combine into the client's reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// Integer replies summed (DEL, EXISTS, DBSIZE, TOUCH, UNLINK).
    SumIntegers,
    /// `+OK` if every part said OK (MSET, FLUSHDB).
    AllOk,
    /// Array parts re-assembled in the order of the original keys (MGET).
    MergeInKeyOrder,
    /// Array parts concatenated (KEYS).
    ConcatArrays,
    /// One non-null part chosen at random (RANDOMKEY).
    RandomNonNull,
}

/// How a keyspace command whose keys live on several shards is executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MultiShard {
    /// Each key (or key/value group) is independent: split argv per owning
    /// shard, run the parts, reduce the replies.
    Split(Reduce),
    /// Fetch every key's entry to the home shard, run the handler there over
    /// a scratch database, then store the written keys back (RENAME, COPY,
    /// MSETNX, LCS).
    Gather,
}

/// Where a keyspace command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// No keys: on the connection's home shard.
    Local,
    /// On the shard owning its keys; across shards as `MultiShard` says.
    Keys(MultiShard),
    /// On every shard, replies reduced (DBSIZE, KEYS, FLUSHDB, ...).
    AllShards(Reduce),
    /// SCAN: the cursor names the shard to continue on.
    ScanCursor,
}

/// Commands that need connection or server state, implemented by the shard
/// layer rather than by a keyspace handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ServerCommand {
    Select,
    Hello,
    Client,
    Quit,
    Reset,
    Info,
    Config,
    Command,
    Shutdown,
    Auth,
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
    BgRewriteAof,
    Save,
    BgSave,
    LastSave,
}

impl ServerCommand {
    /// True for commands that act on every shard at one consistent point:
    /// they run as an atomic operation holding every shard whole.
    pub fn locks_every_shard(self) -> bool {
        matches!(
            self,
            ServerCommand::BgRewriteAof | ServerCommand::Save | ServerCommand::BgSave
        )
    }
}

/// How a command executes.
#[derive(Clone, Copy, Debug)]
pub enum Exec {
    /// A pure handler over one shard's keyspace, routed by `route`.
    Keyspace {
        /// The handler.
        handler: Handler,
        /// Where it runs.
        route: Route,
    },
    /// Implemented by the shard layer.
    Server(ServerCommand),
}

/// Finds the key indexes of a movable-keys command in its argv.
pub type KeyFinder = fn(&[Bytes]) -> Vec<usize>;

/// Iterator over key indexes from either a fixed [`KeySpec`] or a [`KeyFinder`].
enum KeyIndexes<F: Iterator<Item = usize>> {
    Fixed(F),
    Found(std::vec::IntoIter<usize>),
}

impl<F: Iterator<Item = usize>> Iterator for KeyIndexes<F> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        match self {
            KeyIndexes::Fixed(indexes) => indexes.next(),
            KeyIndexes::Found(indexes) => indexes.next(),
        }
    }
}

/// One command's declaration.
#[derive(Clone, Copy, Debug)]
pub struct CommandSpec {
    /// Lowercase name.
    pub name: &'static str,
    /// Redis arity: N exactly N arguments (name included), -N at least N.
    pub arity: i32,
    /// Bitwise OR of [`flags`].
    pub flags: u32,
    /// Key positions.
    pub keys: KeySpec,
    /// For commands whose key positions depend on their arguments (Redis's
    /// "movablekeys": `numkeys` forms, `SORT ... STORE`): returns the argv
    /// indexes of every key, replacing `keys` for routing. Invalid argv gives
    /// whatever keys it can (the handler reports the error).
    pub key_finder: Option<KeyFinder>,
    /// How it executes.
    pub exec: Exec,
    /// Command group as COMMAND DOCS names it (`string`, `generic`, ...).
    pub group: &'static str,
    /// One-line summary (COMMAND DOCS).
    pub summary: &'static str,
    /// Redis version that introduced it (COMMAND DOCS).
    pub since: &'static str,
    /// Time complexity (COMMAND DOCS).
    pub complexity: &'static str,
}

impl CommandSpec {
    /// True when `argc` (name included) satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let arity = self.arity as i64;
        let argc = argc as i64;
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// True if the command has `flag`.
    pub fn has_flag(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// The command's keys in `argv`.
    pub fn keys_of<'a>(&self, argv: &'a [Bytes]) -> impl Iterator<Item = &'a Bytes> {
        let indexes = match self.key_finder {
            None => KeyIndexes::Fixed(self.keys.indexes(argv.len())),
            Some(finder) => KeyIndexes::Found(finder(argv).into_iter()),
        };
        indexes.filter_map(move |index| argv.get(index))
    }

    /// True for movable-keys commands (a [`KeyFinder`] decides their keys).
    pub fn has_movable_keys(&self) -> bool {
        self.key_finder.is_some()
    }

    /// Declares the command's keys as found by `finder` (movable keys).
    pub const fn with_key_finder(self, finder: KeyFinder) -> CommandSpec {
        CommandSpec {
            key_finder: Some(finder),
            ..self
        }
    }
}

/// `ERR wrong number of arguments for '<name>' command`.
pub fn arity_error(name: &str) -> Reply {
    Reply::error_string(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

/// Redis's unknown-command error, arguments quoted up to 128 bytes, CR/LF
/// replaced by spaces (server.c `processCommand`).
pub fn unknown_command_error(argv: &[Bytes]) -> Reply {
    let name = argv
        .first()
        .map(|n| String::from_utf8_lossy(&n[..n.len().min(128)]))
        .unwrap_or_default();
    let mut args = String::new();
    for arg in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push('\'');
        args.push_str(&String::from_utf8_lossy(&arg[..arg.len().min(room)]));
        args.push_str("' ");
    }
    let text = format!("ERR unknown command '{name}', with args beginning with: {args}");
    Reply::error_string(text.replace(['\r', '\n'], " "))
}

/// `ERR unknown subcommand '<sub>'. Try <COMMAND> HELP.`
pub fn unknown_subcommand_error(command: &str, sub: &[u8]) -> Reply {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]);
    let text = format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        command.to_ascii_uppercase()
    );
    Reply::error_string(text.replace(['\r', '\n'], " "))
}

/// Longest command name in the table (lookup buffer size).
const NAME_BYTES_MAX: usize = 32;

/// Every command corekv knows, indexed by lowercase name.
#[derive(Debug)]
pub struct Table {
    by_name: HashMap<&'static [u8], &'static CommandSpec, ahash::RandomState>,
    ordered: Vec<&'static CommandSpec>,
}

impl Default for Table {
    fn default() -> Table {
        Table::new()
    }
}

impl Table {
    /// Builds the table from every family's declarations.
    pub fn new() -> Table {
        let families: [&'static [CommandSpec]; 10] = [
            strings::COMMANDS,
            keys::COMMANDS,
            lists::COMMANDS,
            hashes::COMMANDS,
            sets::COMMANDS,
            zsets::COMMANDS,
            bitmaps::COMMANDS,
            hyperloglog::COMMANDS,
            sort::COMMANDS,
            server::COMMANDS,
        ];
        // Never iterated (`ordered` keeps the order), so a fixed seed is safe.
        let mut by_name = HashMap::with_hasher(ahash::RandomState::with_seeds(11, 12, 13, 14));
        let mut ordered = Vec::new();
        for spec in families.into_iter().flatten() {
            assert!(
                spec.name.len() <= NAME_BYTES_MAX,
                "command name too long: {}",
                spec.name
            );
            assert!(
                spec.name.bytes().all(|b| !b.is_ascii_uppercase()),
                "name not lowercase: {}",
                spec.name
            );
            let previous = by_name.insert(spec.name.as_bytes(), spec);
            assert!(previous.is_none(), "command declared twice: {}", spec.name);
            ordered.push(spec);
        }
        Table { by_name, ordered }
    }

    /// The command named `name` (any ASCII case).
    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        if name.len() > NAME_BYTES_MAX {
            return None;
        }
        let mut lower = [0u8; NAME_BYTES_MAX];
        let lower = &mut lower[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        self.by_name.get(&*lower).copied()
    }

    /// Like [`Table::lookup`], but first tries `cache` — the previous hit —
    /// since pipelines mostly repeat one command. Updates the cache.
    pub fn lookup_cached(
        &self,
        name: &[u8],
        cache: &mut Option<&'static CommandSpec>,
    ) -> Option<&'static CommandSpec> {
        if let Some(spec) = *cache {
            if spec.name.len() == name.len() && spec.name.as_bytes().eq_ignore_ascii_case(name) {
                return Some(spec);
            }
        }
        let found = self.lookup(name);
        if found.is_some() {
            *cache = found;
        }
        found
    }

    /// Every command, in declaration order (families, then table order).
    pub fn iter(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.ordered.iter().copied()
    }

    /// Number of commands (COMMAND COUNT).
    pub fn len(&self) -> usize {
        self.ordered.len()
    }

    /// True when no command is declared (never, in practice).
    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }
}

/// Runs a keyspace handler, turning its error into Redis's error reply.
pub fn run(handler: Handler, ctx: &mut Ctx<'_>, argv: Vec<Bytes>) -> Reply {
    let mut args = Args::new(argv);
    handler(ctx, &mut args).unwrap_or_else(Reply::from)
}

impl CommandSpec {
    /// Declares a keyspace command; documentation fields start empty (see
    /// [`CommandSpec::doc`]).
    pub const fn keyspace(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: KeySpec,
        route: Route,
        handler: Handler,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            keys,
            key_finder: None,
            exec: Exec::Keyspace { handler, route },
            group: "",
            summary: "",
            since: "",
            complexity: "",
        }
    }

    /// Declares a command implemented by the shard layer.
    pub const fn server(
        name: &'static str,
        arity: i32,
        flags: u32,
        command: ServerCommand,
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags,
            keys: KeySpec::NONE,
            key_finder: None,
            exec: Exec::Server(command),
            group: "",
            summary: "",
            since: "",
            complexity: "",
        }
    }

    /// Adds COMMAND DOCS fields: group, first Redis version, summary, complexity.
    pub const fn doc(
        self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
        complexity: &'static str,
    ) -> CommandSpec {
        CommandSpec {
            group,
            since,
            summary,
            complexity,
            ..self
        }
    }
}

/// The README's compatibility table, generated from the command table so it
/// can never drift from what the server implements: one row per command with
/// its group, arity, flags and how it runs when its keys span shards.
pub fn compatibility_markdown(table: &Table) -> String {
    let mut rows: Vec<&'static CommandSpec> = table.iter().collect();
    rows.sort_by_key(|spec| (spec.group, spec.name));
    let mut out = String::from(
        "| command | group | arity | flags | across shards |\n|---|---|---|---|---|\n",
    );
    for spec in rows {
        let flag_names: Vec<&str> = flags::NAMES
            .iter()
            .filter(|(bit, _)| spec.has_flag(*bit))
            .map(|(_, name)| *name)
            .collect();
        let routing = match spec.exec {
            Exec::Server(_) => "connection / server",
            Exec::Keyspace {
                route: Route::Keys(MultiShard::Gather),
                ..
            } if spec.has_movable_keys() => "gathered to home shard",
            Exec::Keyspace {
                route: Route::Local,
                ..
            } => "home shard",
            Exec::Keyspace {
                route: Route::Keys(_),
                ..
            } if spec.keys.step == 0 || spec.keys == KeySpec::FIRST => "owner shard",
            Exec::Keyspace {
                route: Route::Keys(MultiShard::Split(_)),
                ..
            } => "split per shard, reduced",
            Exec::Keyspace {
                route: Route::Keys(MultiShard::Gather),
                ..
            } => "gathered to home shard",
            Exec::Keyspace {
                route: Route::AllShards(_),
                ..
            } => "every shard, reduced",
            Exec::Keyspace {
                route: Route::ScanCursor,
                ..
            } => "shard named by cursor",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            spec.name.to_ascii_uppercase(),
            spec.group,
            spec.arity,
            flag_names.join(", "),
            routing
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(items: &[&str]) -> Vec<Bytes> {
        items
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn key_indexes_follow_first_last_step() {
        let idx = |spec: KeySpec, argc| spec.indexes(argc).collect::<Vec<_>>();
        assert_eq!(idx(KeySpec::FIRST, 2), vec![1]);
        assert_eq!(idx(KeySpec::ALL, 4), vec![1, 2, 3]);
        assert_eq!(idx(KeySpec::PAIRS, 5), vec![1, 3]);
        assert_eq!(idx(KeySpec::NONE, 3), Vec::<usize>::new());
        assert_eq!(idx(KeySpec::FIRST, 1), Vec::<usize>::new());
    }

    #[test]
    fn unknown_command_error_matches_redis() {
        let reply = unknown_command_error(&b(&["foo", "a", "b"]));
        assert_eq!(
            reply,
            Reply::error_string(
                "ERR unknown command 'foo', with args beginning with: 'a' 'b' ".into()
            )
        );
        let reply = unknown_command_error(&b(&["x\r\ny"]));
        assert_eq!(
            reply,
            Reply::error_string("ERR unknown command 'x  y', with args beginning with: ".into())
        );
    }

    #[test]
    fn table_lookup_is_case_insensitive_and_complete() {
        let table = Table::new();
        assert!(table.lookup(b"GeT").is_some());
        assert!(table.lookup(b"nosuchcommand").is_none());
        assert!(table.lookup(&[b'a'; 100]).is_none());
        assert_eq!(table.iter().count(), table.len());
    }

    #[test]
    fn arity_checks() {
        let table = Table::new();
        let get = table.lookup(b"get").unwrap();
        assert!(get.arity_ok(2));
        assert!(!get.arity_ok(3));
        let mget = table.lookup(b"mget").unwrap();
        assert!(mget.arity_ok(5));
        assert!(!mget.arity_ok(1));
    }
}
