//! Connection and server commands: the commands that need connection or
//! server state rather than the keyspace (SELECT, HELLO, CLIENT, INFO,
//! CONFIG, COMMAND, QUIT, RESET, AUTH, SHUTDOWN). Semantics and reply shapes
//! follow the redis.io command pages.

use bytes::Bytes;

use super::atomic;
use super::background::Gathering;
use super::connection::{ServerThen, Then};
use super::message::{ConnId, JobId, Request, Response, ShardStats};
use super::Shard;
use crate::commands::{flags, unknown_subcommand_error, CommandSpec, Exec, ServerCommand};
use crate::config::Config;
use crate::glob::glob_match;
use crate::limits;
use crate::platform::Platform;
use crate::resp::{Protocol, Reply};

/// The Redis version corekv reports to clients, which pick features by it.
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

/// Runs a server command for `conn`; the reply (if any) goes to its output,
/// or a wait on every shard starts.
pub(super) fn run<P: Platform>(
    shard: &mut Shard<P>,
    conn: ConnId,
    command: ServerCommand,
    argv: Vec<Bytes>,
) {
    let reply = match command {
        ServerCommand::Select => select(shard, conn, &argv),
        ServerCommand::Hello => hello(shard, conn, &argv),
        ServerCommand::Auth => auth(&argv),
        ServerCommand::Client => match client(shard, conn, &argv) {
            Some(reply) => reply,
            None => return,
        },
        ServerCommand::Quit => {
            shard.write(conn, &Reply::ok());
            if let Some(connection) = shard.conns.get_mut(&conn) {
                connection.closing = true;
            }
            return;
        }
        ServerCommand::Reset => {
            atomic::reset(shard, conn);
            reset(shard, conn)
        }
        ServerCommand::Multi => atomic::multi(shard, conn),
        ServerCommand::Discard => atomic::discard(shard, conn),
        ServerCommand::Unwatch => atomic::unwatch(shard, conn),
        ServerCommand::Exec => match atomic::exec(shard, conn) {
            Some(reply) => reply,
            None => return,
        },
        ServerCommand::Watch => match atomic::watch(shard, conn, &argv) {
            Some(reply) => reply,
            None => return,
        },
        ServerCommand::Info => return info(shard, conn, &argv),
        ServerCommand::Config => match config(shard, conn, &argv) {
            Some(reply) => reply,
            None => return,
        },
        ServerCommand::Command => command_command(shard, &argv),
        ServerCommand::Save => {
            let created_ms = match snapshot_time(shard) {
                Ok(created_ms) => created_ms,
                Err(reply) => return shard.write(conn, &reply),
            };
            let requests = all_shards(shard.slots.shard_count(), || Request::Snapshot {
                created_ms,
            });
            shard.start_wait(
                conn,
                requests,
                Then::Server(ServerThen::Saved { created_ms }),
            );
            return;
        }
        ServerCommand::BgSave => match bgsave(shard, conn, &argv) {
            Some(reply) => reply,
            None => return,
        },
        ServerCommand::LastSave => Reply::Integer(shard.last_save_s as i64),
        ServerCommand::BgRewriteAof => match bgrewriteaof(shard, conn) {
            Some(reply) => reply,
            None => return,
        },
        ServerCommand::Shutdown => {
            tracing::info!("SHUTDOWN requested by client {conn}");
            shard.platform.request_shutdown();
            if let Some(connection) = shard.conns.get_mut(&conn) {
                connection.closing = true;
            }
            return;
        }
    };
    shard.write(conn, &reply);
}

/// Completes a server command that waited on every shard.
pub(super) fn finish<P: Platform>(
    shard: &mut Shard<P>,
    conn: ConnId,
    then: ServerThen,
    parts: Vec<Response>,
) {
    let reply = match then {
        ServerThen::Info { sections } => {
            let mut total = ShardStats::default();
            for part in &parts {
                if let Response::Stats(stats) = part {
                    total.add(stats);
                }
            }
            let text = info_text(shard, &sections, &total);
            let protocol = shard
                .conns
                .get(&conn)
                .map_or(Protocol::Resp2, |c| c.protocol);
            match protocol {
                Protocol::Resp2 => Reply::Bulk(Bytes::from(text)),
                Protocol::Resp3 => Reply::Verbatim {
                    format: *b"txt",
                    text: Bytes::from(text),
                },
            }
        }
        ServerThen::ClientList => {
            let text: String = parts
                .into_iter()
                .filter_map(|p| {
                    if let Response::Text(t) = p {
                        Some(t)
                    } else {
                        None
                    }
                })
                .collect();
            Reply::Bulk(Bytes::from(text))
        }
        ServerThen::AllOk => Reply::ok(),
        ServerThen::JobStarted { job } => return job_started(shard, conn, job, parts),
        ServerThen::JobAbandoned { reply } => reply,
        ServerThen::Saved { created_ms } => saved(shard, created_ms, parts),
    };
    shard.write(conn, &reply);
}

/// SAVE: every shard wrote its snapshot; the snapshot manifest names them
/// (a crash before this keeps the previous set whole).
fn saved<P: Platform>(shard: &mut Shard<P>, created_ms: u64, parts: Vec<Response>) -> Reply {
    let mut files = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Response::Snapshotted(Ok(file)) => files.push(file),
            Response::Snapshotted(Err(error)) => {
                tracing::warn!(%error, "snapshot failed");
                return Reply::error_string(format!("ERR {error}"));
            }
            other => panic!("snapshot answered with {other:?}"),
        }
    }
    let manifest = crate::persist::SnapshotManifest { created_ms, files };
    let Some(disk) = shard.platform.snapshot_disk() else {
        return Reply::error("ERR snapshots are not available here");
    };
    if let Err(error) = crate::persist::switch_snapshot_manifest(disk, &manifest) {
        return Reply::error_string(format!("ERR {error}"));
    }
    tracing::info!("DB saved on disk");
    Reply::ok()
}

/// A creation time for a new snapshot: now, but after the snapshot on
/// disk (its files are named by it, and must not be overwritten).
fn snapshot_time<P: Platform>(shard: &mut Shard<P>) -> Result<u64, Reply> {
    let now_ms = shard.clock.1 / 1000;
    let Some(disk) = shard.platform.snapshot_disk() else {
        return Err(Reply::error("ERR snapshots are not available here"));
    };
    match crate::persist::read_snapshot_manifest(disk) {
        Ok(Some(manifest)) => Ok(now_ms.max(manifest.created_ms + 1)),
        Ok(None) => Ok(now_ms),
        Err(error) => Err(Reply::error_string(format!("ERR {error}"))),
    }
}

/// The reply refusing a new job while `running` runs (Redis's texts).
fn busy_reply(running: JobId, wanted_save: bool) -> Reply {
    match (running, wanted_save) {
        (JobId::Save { .. }, true) => Reply::error("ERR Background save already in progress"),
        (JobId::AofRewrite { .. }, true) => Reply::error(
            "ERR An AOF log rewriting in progress: can't BGSAVE right now. \
             Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ),
        (JobId::AofRewrite { .. }, false) => {
            Reply::error("ERR Background append only file rewriting already in progress")
        }
        (JobId::Save { .. }, false) => {
            Reply::error("ERR Background AOF rewrite needs appendonly yes in corekv")
        }
    }
}

/// `BGSAVE` — starts a background job holding every shard whole (see
/// [`ServerCommand::locks_every_shard`]), so every shard's snapshot shows
/// one serial point; each shard then writes it a slice at a time (see
/// [`super::background`]).
fn bgsave<P: Platform>(shard: &mut Shard<P>, conn: ConnId, argv: &[Bytes]) -> Option<Reply> {
    let schedule = match argv.get(1) {
        None => false,
        Some(word) if argv.len() == 2 && word.eq_ignore_ascii_case(b"SCHEDULE") => true,
        Some(_) => return Some(Reply::error("ERR syntax error")),
    };
    match shard.job_kind() {
        // BGSAVE SCHEDULE: it starts once the rewrite ends.
        Some(JobId::AofRewrite { .. }) if schedule => {
            shard.save_scheduled = true;
            return Some(Reply::simple("Background saving scheduled"));
        }
        Some(running) => return Some(busy_reply(running, true)),
        None => {}
    }
    let created_ms = match snapshot_time(shard) {
        Ok(created_ms) => created_ms,
        Err(reply) => return Some(reply),
    };
    let job = JobId::Save {
        created_ms,
        nonce: rand::RngCore::next_u64(&mut shard.rng),
    };
    start_job(shard, conn, job);
    None
}

/// `BGREWRITEAOF` — starts writing the next AOF generation's base in the
/// background (see [`super::background`]), holding every shard whole
/// only while each starts its part.
fn bgrewriteaof<P: Platform>(shard: &mut Shard<P>, conn: ConnId) -> Option<Reply> {
    match shard.job_kind() {
        // As Redis: it starts once the BGSAVE ends (see `persistence_cron`).
        Some(JobId::Save { .. }) if shard.aof_policy().is_some() => {
            shard.rewrite_scheduled = true;
            return Some(Reply::simple(
                "Background append only file rewriting scheduled",
            ));
        }
        Some(running) => return Some(busy_reply(running, false)),
        None => {}
    }
    let Some(disk) = shard.platform.disk() else {
        return Some(Reply::error(
            "ERR Background AOF rewrite needs appendonly yes in corekv",
        ));
    };
    let generation = match crate::persist::read_manifest(disk) {
        Ok(Some(manifest)) => manifest.generation + 1,
        Ok(None) => 1,
        Err(error) => return Some(Reply::error_string(format!("ERR {error}"))),
    };
    let job = JobId::AofRewrite {
        generation,
        nonce: rand::RngCore::next_u64(&mut shard.rng),
    };
    start_job(shard, conn, job);
    None
}

/// Asks every shard to start its part of `job`, this shard coordinating.
fn start_job<P: Platform>(shard: &mut Shard<P>, conn: ConnId, job: JobId) {
    let shard_count = shard.slots.shard_count();
    shard.gathering = Some(Gathering::new(job, shard_count));
    let coordinator = shard.index;
    let requests = all_shards(shard_count, || Request::StartJob { job, coordinator });
    shard.start_wait(conn, requests, Then::Server(ServerThen::JobStarted { job }));
}

/// Every shard answered the start of `job`: reply that it started (Redis's
/// texts), or abandon it everywhere if a shard could not start its part.
fn job_started<P: Platform>(shard: &mut Shard<P>, conn: ConnId, job: JobId, parts: Vec<Response>) {
    let mut failure = None;
    for part in parts {
        match part {
            Response::Started(Ok(_)) => {}
            Response::Started(Err(error)) => {
                failure.get_or_insert(error);
            }
            other => panic!("a job's start answered with {other:?}"),
        }
    }
    let Some(error) = failure else {
        let reply = match job {
            JobId::Save { .. } => Reply::simple("Background saving started"),
            JobId::AofRewrite { .. } => {
                Reply::simple("Background append only file rewriting started")
            }
        };
        shard.write(conn, &reply);
        return;
    };
    if shard.gathering.as_ref().is_some_and(|g| g.id() == job) {
        shard.gathering = None;
    }
    tracing::warn!(%error, "a background job could not start");
    let reply = if error.contains("in progress") {
        Reply::error_string(format!("ERR {error}"))
    } else {
        match job {
            JobId::Save { .. } => {
                Reply::error_string(format!("ERR Background save failed: {error}"))
            }
            JobId::AofRewrite { .. } => {
                Reply::error_string(format!("ERR Background AOF rewrite failed: {error}"))
            }
        }
    };
    let requests = all_shards(shard.slots.shard_count(), || Request::Abandon(job));
    shard.start_wait(
        conn,
        requests,
        Then::Server(ServerThen::JobAbandoned { reply }),
    );
}

fn all_shards(shard_count: usize, request: impl Fn() -> Request) -> Vec<(usize, Request)> {
    (0..shard_count).map(|index| (index, request())).collect()
}

fn text_arg(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// `SELECT index`
fn select<P: Platform>(shard: &mut Shard<P>, conn: ConnId, argv: &[Bytes]) -> Reply {
    let Some(index) = crate::keyspace::parse_canonical_i64(&argv[1]) else {
        return Reply::error("ERR value is not an integer or out of range");
    };
    if index < 0 || index as usize >= shard.keyspace.db_count() {
        return Reply::error("ERR DB index is out of range");
    }
    if let Some(connection) = shard.conns.get_mut(&conn) {
        connection.db = index as usize;
    }
    Reply::ok()
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]` — the
/// server map, in the newly selected protocol.
fn hello<P: Platform>(shard: &mut Shard<P>, conn: ConnId, argv: &[Bytes]) -> Reply {
    let mut protocol = None;
    let mut name = None;
    let mut index = 1;
    if let Some(version) = argv.get(1) {
        protocol = match crate::keyspace::parse_canonical_i64(version) {
            Some(2) => Some(Protocol::Resp2),
            Some(3) => Some(Protocol::Resp3),
            Some(_) => return Reply::error("NOPROTO unsupported protocol version"),
            None => return Reply::error("ERR Protocol version is not an integer or out of range"),
        };
        index = 2;
    }
    while index < argv.len() {
        let more = argv.len() - index - 1;
        if argv[index].eq_ignore_ascii_case(b"auth") && more >= 2 {
            index += 3; // the default user has no password: any credentials pass
        } else if argv[index].eq_ignore_ascii_case(b"setname") && more >= 1 {
            name = Some(argv[index + 1].clone());
            index += 2;
        } else {
            return Reply::error_string(format!(
                "ERR Syntax error in HELLO option '{}'",
                text_arg(&argv[index])
            ));
        }
    }
    if let Some(name) = &name {
        if let Err(reply) = validate_client_name(name) {
            return reply;
        }
    }
    let Some(connection) = shard.conns.get_mut(&conn) else {
        return Reply::Null;
    };
    if let Some(protocol) = protocol {
        connection.protocol = protocol;
    }
    if name.is_some() {
        connection.name = name;
    }
    let proto_number = if connection.protocol == Protocol::Resp3 {
        3
    } else {
        2
    };
    let field = |k: &'static str| Reply::Bulk(Bytes::from_static(k.as_bytes()));
    Reply::Map(vec![
        (field("server"), field("redis")),
        (field("version"), field(REDIS_COMPAT_VERSION)),
        (field("proto"), Reply::Integer(proto_number)),
        (field("id"), Reply::Integer(conn as i64)),
        (field("mode"), field("standalone")),
        (field("role"), field("master")),
        (field("modules"), Reply::Array(Vec::new())),
    ])
}

/// `AUTH [username] password` — corekv has only the password-less default user.
fn auth(argv: &[Bytes]) -> Reply {
    match argv.len() {
        2 => Reply::error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ),
        3 if argv[1].as_ref() == b"default" => Reply::ok(),
        3 => Reply::error("WRONGPASS invalid username-password pair or user is disabled."),
        _ => Reply::error("ERR syntax error"),
    }
}

/// `RESET` — back to RESP2, database 0, no name.
fn reset<P: Platform>(shard: &mut Shard<P>, conn: ConnId) -> Reply {
    if let Some(connection) = shard.conns.get_mut(&conn) {
        connection.protocol = Protocol::Resp2;
        connection.db = 0;
        connection.name = None;
    }
    Reply::simple("RESET")
}

fn validate_client_name(name: &[u8]) -> Result<(), Reply> {
    if name.len() > limits::CLIENT_NAME_BYTES_MAX
        || name.iter().any(|&b| !(b'!'..=b'~').contains(&b))
    {
        return Err(Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// `CLIENT ID | GETNAME | SETNAME name | INFO | LIST | SETINFO attr value |
/// HELP`. `None` when CLIENT LIST started a wait on every shard.
fn client<P: Platform>(shard: &mut Shard<P>, conn: ConnId, argv: &[Bytes]) -> Option<Reply> {
    let sub = argv[1].to_ascii_lowercase();
    if sub == b"list" && argv.len() == 2 {
        let requests = all_shards(shard.slots.shard_count(), || Request::ClientList);
        shard.start_wait(conn, requests, Then::Server(ServerThen::ClientList));
        return None;
    }
    let now_us = shard.clock.0;
    let info_line = client_line(shard, conn, now_us);
    let connection = shard.conns.get_mut(&conn)?;
    let reply = match (sub.as_slice(), argv.len()) {
        (b"id", 2) => Reply::Integer(conn as i64),
        (b"getname", 2) => connection.name.clone().map_or(Reply::Null, Reply::Bulk),
        (b"setname", 3) => match validate_client_name(&argv[2]) {
            Err(reply) => reply,
            Ok(()) => {
                connection.name = if argv[2].is_empty() {
                    None
                } else {
                    Some(argv[2].clone())
                };
                Reply::ok()
            }
        },
        (b"setinfo", 4) => {
            let value = Some(argv[3].clone());
            if argv[2].eq_ignore_ascii_case(b"lib-name") {
                connection.lib_name = value;
            } else if argv[2].eq_ignore_ascii_case(b"lib-ver") {
                connection.lib_version = value;
            } else {
                return Some(Reply::error_string(format!(
                    "ERR Unrecognized option '{}'",
                    text_arg(&argv[2])
                )));
            }
            Reply::ok()
        }
        (b"info", 2) => Reply::Bulk(Bytes::from(info_line)),
        (b"help", 2) => Reply::Array(
            [
                "CLIENT <subcommand> [<arg> ...]. Subcommands are:",
                "ID",
                "GETNAME",
                "SETNAME <name>",
                "INFO",
                "LIST",
                "SETINFO <attr> <value>",
                "HELP",
            ]
            .into_iter()
            .map(|line| Reply::Simple(Bytes::from_static(line.as_bytes())))
            .collect(),
        ),
        (b"id" | b"getname" | b"setname" | b"setinfo" | b"info" | b"list" | b"help", _) => {
            Reply::error_string(format!(
                "ERR wrong number of arguments for 'client|{}' command",
                text_arg(&sub)
            ))
        }
        _ => unknown_subcommand_error("client", &argv[1]),
    };
    Some(reply)
}

/// CLIENT LIST / CLIENT INFO line for one connection (Redis's field names).
fn client_line<P: Platform>(shard: &Shard<P>, conn: ConnId, now_us: u64) -> String {
    let Some(c) = shard.conns.get(&conn) else {
        return String::new();
    };
    let name = c
        .name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let lib_name = c
        .lib_name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let lib_ver = c
        .lib_version
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    format!(
        "id={} addr={} laddr=127.0.0.1:{} fd=-1 name={} age={} idle={} flags=N db={} sub=0 psub=0 ssub=0 multi=-1 qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}\n",
        c.id,
        c.peer,
        shard.server.tcp_port,
        name,
        now_us.saturating_sub(c.created_us) / 1_000_000,
        now_us.saturating_sub(c.last_command_us) / 1_000_000,
        c.db,
        c.query.len(),
        c.output.len(),
        c.last_command,
        if c.protocol == Protocol::Resp3 { 3 } else { 2 },
        lib_name,
        lib_ver,
    )
}

/// Every connection of `shard`, one CLIENT LIST line each.
pub(super) fn client_list<P: Platform>(shard: &mut Shard<P>) -> String {
    let now_us = shard.clock.0;
    let mut ids: Vec<ConnId> = shard.conns.keys().copied().collect();
    // The server's own command is not a client.
    ids.retain(|id| Some(*id) != shard.internal);
    ids.sort_unstable();
    ids.into_iter()
        .map(|id| client_line(shard, id, now_us))
        .collect()
}

/// `INFO [section ...]` — starts a stats query on every shard.
fn info<P: Platform>(shard: &mut Shard<P>, conn: ConnId, argv: &[Bytes]) {
    let sections = argv[1..]
        .iter()
        .map(|s| text_arg(s).to_ascii_lowercase())
        .collect();
    let requests = all_shards(shard.slots.shard_count(), || Request::Stats);
    shard.start_wait(conn, requests, Then::Server(ServerThen::Info { sections }));
}

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "cluster",
    "keyspace",
];

fn info_text<P: Platform>(
    shard: &mut Shard<P>,
    requested: &[String],
    total: &ShardStats,
) -> String {
    let wanted = |section: &str| {
        requested.is_empty()
            || requested
                .iter()
                .any(|r| r == section || r == "all" || r == "everything" || r == "default")
    };
    let mut out = String::new();
    for section in DEFAULT_SECTIONS.iter().filter(|s| wanted(s)) {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        out.push_str(&info_section(shard, section, total));
    }
    out
}

fn info_section<P: Platform>(shard: &mut Shard<P>, section: &str, total: &ShardStats) -> String {
    let uptime_s = shard
        .platform
        .monotonic_us()
        .saturating_sub(shard.started_us)
        / 1_000_000;
    let rss = shard.platform.rss_bytes().unwrap_or(0);
    let lines: Vec<(String, String)> = match section {
        "server" => vec![
            ("redis_version".into(), REDIS_COMPAT_VERSION.into()),
            ("corekv_version".into(), env!("CARGO_PKG_VERSION").into()),
            ("redis_mode".into(), "standalone".into()),
            ("os".into(), std::env::consts::OS.into()),
            ("arch_bits".into(), "64".into()),
            ("multiplexing_api".into(), "epoll".into()),
            ("process_id".into(), shard.server.process_id.to_string()),
            ("run_id".into(), shard.run_id.clone()),
            ("tcp_port".into(), shard.server.tcp_port.to_string()),
            ("uptime_in_seconds".into(), uptime_s.to_string()),
            ("uptime_in_days".into(), (uptime_s / 86400).to_string()),
            ("hz".into(), shard.config.hz.to_string()),
            ("shards".into(), shard.slots.shard_count().to_string()),
            ("executable".into(), shard.server.executable.clone()),
            (
                "config_file".into(),
                shard.config.config_file.clone().unwrap_or_default(),
            ),
        ],
        "clients" => vec![
            (
                "connected_clients".into(),
                total.connected_clients.to_string(),
            ),
            ("maxclients".into(), shard.config.maxclients.to_string()),
            ("blocked_clients".into(), "0".into()),
        ],
        "memory" => vec![
            ("used_memory".into(), total.used_memory.to_string()),
            ("used_memory_human".into(), human_bytes(total.used_memory)),
            ("used_memory_rss".into(), rss.to_string()),
            ("used_memory_rss_human".into(), human_bytes(rss)),
            ("maxmemory".into(), "0".into()),
            ("maxmemory_policy".into(), "noeviction".into()),
            ("mem_allocator".into(), "libc".into()),
        ],
        "persistence" => {
            let enabled = shard.aof_policy().is_some();
            let status = |failed: bool| if failed { "err" } else { "ok" };
            let mut fields: Vec<(String, String)> = vec![
                ("loading".into(), "0".into()),
                ("async_loading".into(), "0".into()),
                (
                    "rdb_changes_since_last_save".into(),
                    total.changes_since_save.to_string(),
                ),
                (
                    "rdb_bgsave_in_progress".into(),
                    u8::from(total.bgsave_in_progress > 0).to_string(),
                ),
                (
                    "rdb_last_bgsave_status".into(),
                    status(!shard.last_bgsave_ok).into(),
                ),
                ("rdb_last_save_time".into(), shard.last_save_s.to_string()),
                ("rdb_saves".into(), total.saves.to_string()),
                ("aof_enabled".into(), u8::from(enabled).to_string()),
                (
                    "aof_rewrite_in_progress".into(),
                    u8::from(total.aof_rewrite_in_progress > 0).to_string(),
                ),
                (
                    "aof_rewrite_scheduled".into(),
                    u8::from(total.aof_rewrite_scheduled > 0).to_string(),
                ),
                ("aof_rewrites".into(), total.aof_rewrites.to_string()),
                (
                    "aof_last_bgrewrite_status".into(),
                    status(!shard.last_bgrewrite_ok).into(),
                ),
                (
                    "aof_last_write_status".into(),
                    status(total.aof_write_errors > 0).into(),
                ),
            ];
            if enabled {
                fields.extend([
                    (
                        "aof_current_size".into(),
                        total.aof_current_size.to_string(),
                    ),
                    ("aof_base_size".into(), total.aof_base_size.to_string()),
                    (
                        "aof_buffer_length".into(),
                        total.aof_buffer_length.to_string(),
                    ),
                    ("aof_pending_bio_fsync".into(), "0".into()),
                    ("aof_delayed_fsync".into(), "0".into()),
                ]);
            }
            fields
        }
        "stats" => vec![
            (
                "total_connections_received".into(),
                total.total_connections_received.to_string(),
            ),
            (
                "total_commands_processed".into(),
                total.total_commands_processed.to_string(),
            ),
            ("instantaneous_ops_per_sec".into(), "0".into()),
            (
                "total_net_input_bytes".into(),
                total.total_net_input_bytes.to_string(),
            ),
            (
                "total_net_output_bytes".into(),
                total.total_net_output_bytes.to_string(),
            ),
            ("rejected_connections".into(), "0".into()),
            ("expired_keys".into(), total.expired_keys.to_string()),
            ("evicted_keys".into(), "0".into()),
            ("keyspace_hits".into(), total.keyspace_hits.to_string()),
            ("keyspace_misses".into(), total.keyspace_misses.to_string()),
        ],
        "replication" => vec![
            ("role".into(), "master".into()),
            ("connected_slaves".into(), "0".into()),
        ],
        "cpu" => Vec::new(),
        "cluster" => vec![("cluster_enabled".into(), "0".into())],
        "keyspace" => total
            .keys
            .iter()
            .zip(&total.expires)
            .enumerate()
            .filter(|(_, (keys, _))| **keys > 0)
            .map(|(db, (keys, expires))| {
                (
                    format!("db{db}"),
                    format!("keys={keys},expires={expires},avg_ttl=0"),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let title = {
        let mut chars = section.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    };
    let mut text = format!("# {title}\r\n");
    for (name, value) in lines {
        text.push_str(&format!("{name}:{value}\r\n"));
    }
    text
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "K", "M", "G"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2}{}", UNITS[unit])
}

/// `CONFIG GET pattern [pattern ...] | SET name value [name value ...] |
/// RESETSTAT | REWRITE | HELP`. `None` when a wait on every shard started.
fn config<P: Platform>(shard: &mut Shard<P>, conn: ConnId, argv: &[Bytes]) -> Option<Reply> {
    let sub = argv[1].to_ascii_lowercase();
    let arity_error = || {
        Reply::error_string(format!(
            "ERR wrong number of arguments for 'config|{}' command",
            text_arg(&sub)
        ))
    };
    match sub.as_slice() {
        b"get" if argv.len() < 3 => Some(arity_error()),
        b"get" => Some(config_get(shard, conn, &argv[2..])),
        b"set" if argv.len() < 4 || argv.len() % 2 != 0 => Some(arity_error()),
        b"set" => {
            let mut trial = shard.config.clone();
            let mut pairs = Vec::new();
            for pair in argv[2..].chunks(2) {
                let (name, value) = (text_arg(&pair[0]), text_arg(&pair[1]));
                if let Err(error) = trial.set_at_runtime(&name, &value) {
                    return Some(Reply::error_string(format!("ERR {error}")));
                }
                pairs.push((name, value));
            }
            let requests = all_shards(shard.slots.shard_count(), || {
                Request::ConfigSet(pairs.clone())
            });
            shard.start_wait(conn, requests, Then::Server(ServerThen::AllOk));
            None
        }
        b"resetstat" if argv.len() == 2 => {
            let requests = all_shards(shard.slots.shard_count(), || Request::ResetStats);
            shard.start_wait(conn, requests, Then::Server(ServerThen::AllOk));
            None
        }
        b"rewrite" if argv.len() == 2 => Some(Reply::error(
            "ERR The server is running without a config file",
        )),
        b"resetstat" | b"rewrite" => Some(arity_error()),
        b"help" => Some(Reply::Array(
            [
                "CONFIG <subcommand> [<arg> ...]. Subcommands are:",
                "GET <pattern>",
                "SET <directive> <value>",
                "RESETSTAT",
                "REWRITE",
                "HELP",
            ]
            .into_iter()
            .map(|line| Reply::Simple(Bytes::from_static(line.as_bytes())))
            .collect(),
        )),
        _ => Some(unknown_subcommand_error("config", &argv[1])),
    }
}

fn config_get<P: Platform>(shard: &Shard<P>, conn: ConnId, patterns: &[Bytes]) -> Reply {
    let mut pairs = Vec::new();
    for name in Config::parameter_names() {
        if patterns
            .iter()
            .any(|p| glob_match(p, name.as_bytes(), true))
        {
            if let Some(value) = shard.config.get(name) {
                pairs.push((
                    Reply::Bulk(Bytes::from_static(name.as_bytes())),
                    Reply::Bulk(Bytes::from(value)),
                ));
            }
        }
    }
    let _ = conn;
    Reply::Map(pairs)
}

/// `COMMAND [COUNT | LIST | INFO [name ...] | DOCS [name ...] | GETKEYS argv... | HELP]`
fn command_command<P: Platform>(shard: &Shard<P>, argv: &[Bytes]) -> Reply {
    let table = &shard.table;
    let Some(sub) = argv.get(1).map(|s| s.to_ascii_lowercase()) else {
        return Reply::Array(table.iter().map(command_info).collect());
    };
    let named = |names: &[Bytes], render: fn(&'static CommandSpec) -> Reply, missing: Reply| {
        names
            .iter()
            .map(|name| table.lookup(name).map_or(missing.clone(), render))
            .collect::<Vec<_>>()
    };
    match sub.as_slice() {
        b"count" if argv.len() == 2 => Reply::Integer(table.len() as i64),
        b"list" => Reply::Array(
            table
                .iter()
                .map(|s| Reply::Bulk(Bytes::from_static(s.name.as_bytes())))
                .collect(),
        ),
        b"info" if argv.len() == 2 => Reply::Array(table.iter().map(command_info).collect()),
        b"info" => Reply::Array(named(&argv[2..], command_info, Reply::NullArray)),
        b"docs" => {
            let specs: Vec<&'static CommandSpec> = if argv.len() == 2 {
                table.iter().collect()
            } else {
                argv[2..].iter().filter_map(|n| table.lookup(n)).collect()
            };
            Reply::Map(
                specs
                    .into_iter()
                    .map(|s| {
                        (
                            Reply::Bulk(Bytes::from_static(s.name.as_bytes())),
                            command_docs(s),
                        )
                    })
                    .collect(),
            )
        }
        b"getkeys" if argv.len() >= 3 => match table.lookup(&argv[2]) {
            None => Reply::error("ERR Invalid command specified"),
            Some(spec) if !spec.arity_ok(argv.len() - 2) => {
                Reply::error("ERR Invalid number of arguments specified for command")
            }
            Some(spec) => {
                let keys: Vec<Reply> = spec.keys_of(&argv[2..]).cloned().map(Reply::Bulk).collect();
                if keys.is_empty() {
                    Reply::error("ERR The command has no key arguments")
                } else {
                    Reply::Array(keys)
                }
            }
        },
        b"help" => Reply::Array(
            [
                "COMMAND <subcommand> [<arg> ...]. Subcommands are:",
                "(no subcommand)",
                "COUNT",
                "INFO [<command-name> ...]",
                "DOCS [<command-name> ...]",
                "LIST",
                "GETKEYS <full-command>",
                "HELP",
            ]
            .into_iter()
            .map(|line| Reply::Simple(Bytes::from_static(line.as_bytes())))
            .collect(),
        ),
        b"count" | b"getkeys" => Reply::error_string(format!(
            "ERR wrong number of arguments for 'command|{}' command",
            text_arg(&sub)
        )),
        _ => unknown_subcommand_error("command", &argv[1]),
    }
}

/// One COMMAND INFO entry: name, arity, flags, first key, last key, step,
/// ACL categories, tips, key specs, subcommands (Redis 7 shape).
fn command_info(spec: &'static CommandSpec) -> Reply {
    let status = |s: &'static str| Reply::Simple(Bytes::from_static(s.as_bytes()));
    let mut flag_names: Vec<Reply> = flags::NAMES
        .iter()
        .filter(|(bit, _)| spec.has_flag(*bit))
        .map(|(_, name)| status(name))
        .collect();
    if spec.has_movable_keys() {
        flag_names.push(status("movablekeys"));
    }
    let mut categories = vec![format!(
        "@{}",
        if spec.group == "generic" {
            "keyspace"
        } else {
            spec.group
        }
    )];
    for (bit, category) in [
        (flags::WRITE, "@write"),
        (flags::READONLY, "@read"),
        (flags::FAST, "@fast"),
        (flags::ADMIN, "@admin"),
    ] {
        if spec.has_flag(bit) {
            categories.push(category.to_string());
        }
    }
    if !spec.has_flag(flags::FAST) {
        categories.push("@slow".to_string());
    }
    let keyless = matches!(spec.exec, Exec::Server(_)) || spec.keys.first == 0;
    Reply::Array(vec![
        Reply::Bulk(Bytes::from_static(spec.name.as_bytes())),
        Reply::Integer(i64::from(spec.arity)),
        Reply::Set(flag_names),
        Reply::Integer(if keyless {
            0
        } else {
            i64::from(spec.keys.first)
        }),
        Reply::Integer(if keyless {
            0
        } else {
            i64::from(spec.keys.last)
        }),
        Reply::Integer(if keyless {
            0
        } else {
            i64::from(spec.keys.step)
        }),
        Reply::Set(
            categories
                .into_iter()
                .map(|c| Reply::Simple(Bytes::from(c)))
                .collect(),
        ),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
        Reply::Array(Vec::new()),
    ])
}

/// One COMMAND DOCS entry: summary, since, group, complexity.
fn command_docs(spec: &'static CommandSpec) -> Reply {
    let bulk = |s: &'static str| Reply::Bulk(Bytes::from_static(s.as_bytes()));
    Reply::Map(vec![
        (bulk("summary"), bulk(spec.summary)),
        (bulk("since"), bulk(spec.since)),
        (bulk("group"), bulk(spec.group)),
        (bulk("complexity"), bulk(spec.complexity)),
    ])
}
