//! The `corekv` binary: configuration → production runtime.
//!
//! ```text
//! corekv [path/to/corekv.conf] [--port 6379] [--bind 127.0.0.1] [--threads N] [--dir PATH] ...
//! ```
//!
//! Settings apply in order: defaults, then the config file (redis.conf
//! syntax), then command-line flags (Redis-style `--name value`).
//!
//! ```text
//! corekv check-aof [--fix] PATH
//! ```
//!
//! checks an AOF file or directory offline, as `redis-check-aof` does (see
//! [`corekv::persist::check`]).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // the binary reads files and installs signal handlers

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::Parser;

use corekv::config::Config;
use corekv::platform::runtime;

/// A Redis-compatible, thread-per-core key-value server.
#[derive(Parser, Debug)]
#[command(
    name = "corekv",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// A tool to run instead of the server.
    #[command(subcommand)]
    tool: Option<Tool>,
    /// A config file in redis.conf syntax, applied before the flags.
    config_file: Option<String>,
    /// TCP port to listen on (0 picks a free port).
    #[arg(long)]
    port: Option<String>,
    /// Addresses to listen on (space or comma separated).
    #[arg(long)]
    bind: Option<String>,
    /// Shards, one thread each [default: available cores].
    #[arg(long)]
    threads: Option<String>,
    /// Working directory for persistence files.
    #[arg(long)]
    dir: Option<String>,
    /// Number of logical databases.
    #[arg(long)]
    databases: Option<String>,
    /// Largest bulk string a client may send (e.g. 512mb).
    #[arg(long = "proto-max-bulk-len")]
    proto_max_bulk_len: Option<String>,
    /// Largest unparsed input per client before it is closed (e.g. 1gb).
    #[arg(long = "client-query-buffer-limit")]
    client_query_buffer_limit: Option<String>,
    /// Most simultaneous clients.
    #[arg(long)]
    maxclients: Option<String>,
    /// Active-expiry cycles per second.
    #[arg(long)]
    hz: Option<String>,
    /// Log level: debug, verbose, notice, warning.
    #[arg(long)]
    loglevel: Option<String>,
    /// Snapshot rules (accepted for compatibility; persistence is not built yet).
    #[arg(long)]
    save: Option<String>,
    /// `yes` logs every write to the append-only file (AOF).
    #[arg(long)]
    appendonly: Option<String>,
    /// When the AOF is fsynced: always, everysec or no.
    #[arg(long)]
    appendfsync: Option<String>,
    /// The AOF directory's name, inside `--dir`.
    #[arg(long)]
    appenddirname: Option<String>,
}

/// Tools the binary runs instead of the server.
#[derive(clap::Subcommand, Debug)]
enum Tool {
    /// Checks AOF files offline, as redis-check-aof does.
    ///
    /// PATH is one file, or the AOF directory (its manifest and every file
    /// it names). Exits 0 when everything is valid (or was fixed), 1 when a
    /// problem remains.
    CheckAof {
        /// Truncate a torn or corrupt file at its last valid offset,
        /// discarding what follows. Never on a running server's files.
        #[arg(long)]
        fix: bool,
        /// An AOF file, or the AOF directory (`<dir>/<appenddirname>`).
        path: std::path::PathBuf,
    },
}

/// `corekv check-aof`: runs the check through the real disk and prints its
/// report.
fn check_aof(path: &std::path::Path, fix: bool) -> ExitCode {
    use corekv::persist::check;
    use corekv::platform::fs_disk::FsDisk;
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) => {
            eprintln!("corekv check-aof: cannot open {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let (root, file) = if metadata.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let root = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        (root, path.file_name().and_then(|n| n.to_str()))
    };
    let mut disk = match FsDisk::open(&root) {
        Ok(disk) => disk,
        Err(error) => {
            eprintln!("corekv check-aof: cannot open {}: {error}", root.display());
            return ExitCode::FAILURE;
        }
    };
    let report = match file {
        Some(name) => check::check_single(&mut disk, name, fix),
        None if metadata.is_dir() => check::check_dir(&mut disk, fix),
        None => {
            eprintln!("corekv check-aof: not a file name: {}", path.display());
            return ExitCode::FAILURE;
        }
    };
    print!("{report}");
    if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        if !fix {
            println!("Run `corekv check-aof --fix` to truncate the damaged files");
        }
        ExitCode::FAILURE
    }
}

impl Cli {
    fn overrides(&self) -> Vec<(&'static str, String)> {
        let threads_default = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .to_string();
        let pairs = [
            ("port", self.port.clone()),
            ("bind", self.bind.clone().map(|b| b.replace(',', " "))),
            ("threads", self.threads.clone().or(Some(threads_default))),
            ("dir", self.dir.clone()),
            ("databases", self.databases.clone()),
            ("proto-max-bulk-len", self.proto_max_bulk_len.clone()),
            (
                "client-query-buffer-limit",
                self.client_query_buffer_limit.clone(),
            ),
            ("maxclients", self.maxclients.clone()),
            ("hz", self.hz.clone()),
            ("loglevel", self.loglevel.clone()),
            ("save", self.save.clone()),
            ("appendonly", self.appendonly.clone()),
            ("appendfsync", self.appendfsync.clone()),
            ("appenddirname", self.appenddirname.clone()),
        ];
        pairs
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v)))
            .collect()
    }
}

fn load_config(cli: &Cli) -> Result<Config, String> {
    let mut config = Config::default();
    if let Some(path) = &cli.config_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {path}: {e}"))?;
        config
            .apply_file_text(&text)
            .map_err(|e| format!("{path}: {e}"))?;
        config.config_file = Some(path.clone());
    }
    for (name, value) in cli.overrides() {
        if name == "threads" && cli.threads.is_none() && config.threads != Config::default().threads
        {
            continue; // the file chose a thread count; the core-count default must not override it
        }
        config
            .apply(name, &value)
            .map_err(|e| format!("--{name}: {e}"))?;
    }
    Ok(config)
}

fn init_logging(loglevel: &str) {
    let level = match loglevel {
        "debug" => "debug",
        "verbose" => "info",
        "warning" => "warn",
        "nothing" => "error",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Tool::CheckAof { fix, path }) = &cli.tool {
        return check_aof(path, *fix);
    }
    let config = match load_config(&cli) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("corekv: {message}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.loglevel);
    let server = match runtime::start(config) {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "could not start the server");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = server.shutdown_flag();
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(error) = signal_hook::flag::register(signal, std::sync::Arc::clone(&shutdown)) {
            tracing::warn!(%error, signal, "could not install a signal handler");
        }
    }
    server.join_until_stopped();
    tracing::info!(
        stopped = shutdown.load(Ordering::SeqCst),
        "corekv is now ready to exit, bye bye..."
    );
    ExitCode::SUCCESS
}
