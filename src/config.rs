//! Configuration: defaults, redis.conf-style files and `--name value`
//! overrides, and the parameter table behind CONFIG GET / CONFIG SET.
//!
//! A [`Config`] is plain data. The binary builds one from its command line
//! (see `main.rs`); each shard holds its own copy, and CONFIG SET updates
//! every shard's copy by message. Names and value syntax follow redis.conf.

use std::fmt;

use crate::limits;

/// Server configuration. Sizes are bytes, durations as named.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// TCP port (`port`), 0 picks a free one.
    pub port: u16,
    /// Addresses to listen on (`bind`), space separated in redis.conf.
    pub bind: Vec<String>,
    /// Number of shards, one thread each (`threads`; corekv-specific).
    pub threads: usize,
    /// Working directory for persistence files (`dir`).
    pub dir: String,
    /// Number of logical databases (`databases`).
    pub databases: usize,
    /// Largest bulk string a client may send (`proto-max-bulk-len`, bytes).
    pub proto_max_bulk_len: usize,
    /// Largest unparsed input a connection may buffer (`client-query-buffer-limit`, bytes).
    pub client_query_buffer_limit: usize,
    /// Most simultaneous clients (`maxclients`).
    pub maxclients: usize,
    /// Active-expiry frequency (`hz`, cycles per second).
    pub hz: u32,
    /// Close idle clients after this many seconds; 0 never (`timeout`).
    pub timeout_s: u64,
    /// Log verbosity (`loglevel`: debug, verbose, notice, warning).
    pub loglevel: String,
    /// Snapshot rules (`save`): "<seconds> <changes>" pairs; a BGSAVE
    /// starts when that many seconds passed since the last save and at
    /// least that many changes were made (see [`parse_save_rules`]). Empty
    /// (the default here; Redis defaults to "3600 1 300 100 60 10000"
    /// without a config file) disables them.
    pub save: String,
    /// `appendonly`: log every write to the AOF (see `crate::persist`).
    /// Set at start only (CONFIG SET refuses it).
    pub appendonly: bool,
    /// `appendfsync`: when the AOF is fsynced. Set at start only.
    pub appendfsync: crate::persist::Policy,
    /// `auto-aof-rewrite-percentage`: a BGREWRITEAOF starts by itself once
    /// the AOF grew by this much (percent) over its size after the last
    /// rewrite (or at start); 0 disables it.
    pub auto_aof_rewrite_percentage: u64,
    /// `auto-aof-rewrite-min-size` (bytes): no automatic rewrite below it.
    pub auto_aof_rewrite_min_size: u64,
    /// `appenddirname`: the AOF directory, inside `dir`.
    pub appenddirname: String,
    /// The config file the server was started with, if any.
    pub config_file: Option<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".to_string()],
            threads: 1,
            dir: ".".to_string(),
            databases: limits::DATABASES_DEFAULT,
            proto_max_bulk_len: limits::PROTO_MAX_BULK_LEN_DEFAULT,
            client_query_buffer_limit: limits::QUERY_BUFFER_BYTES_MAX_DEFAULT,
            maxclients: 10000,
            hz: 10,
            timeout_s: 0,
            loglevel: "notice".to_string(),
            save: String::new(),
            appendonly: false,
            appendfsync: crate::persist::Policy::EverySec,
            appenddirname: "appendonlydir".to_string(),
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            config_file: None,
        }
    }
}

/// Why a configuration value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No parameter of that name.
    UnknownOption(String),
    /// The parameter exists but cannot change while running.
    Immutable(String),
    /// The value does not parse or is out of range.
    InvalidValue {
        /// Parameter name.
        name: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownOption(name) => write!(
                f,
                "Unknown option or number of arguments for CONFIG SET - '{name}'"
            ),
            ConfigError::Immutable(name) => {
                write!(f, "CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config")
            }
            ConfigError::InvalidValue { name, reason } => {
                write!(
                    f,
                    "CONFIG SET failed (possibly related to argument '{name}') - {reason}"
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Whether CONFIG SET may change a parameter.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mutability {
    Mutable,
    Immutable,
}

/// Every parameter CONFIG GET knows, with whether CONFIG SET may change it.
const PARAMETERS: &[(&str, Mutability)] = &[
    ("port", Mutability::Immutable),
    ("bind", Mutability::Immutable),
    ("threads", Mutability::Immutable),
    ("dir", Mutability::Immutable),
    ("databases", Mutability::Immutable),
    ("proto-max-bulk-len", Mutability::Mutable),
    ("client-query-buffer-limit", Mutability::Mutable),
    ("maxclients", Mutability::Mutable),
    ("hz", Mutability::Mutable),
    ("timeout", Mutability::Mutable),
    ("loglevel", Mutability::Mutable),
    ("save", Mutability::Mutable),
    ("appendonly", Mutability::Immutable),
    ("appenddirname", Mutability::Immutable),
    ("maxmemory", Mutability::Immutable),
    ("maxmemory-policy", Mutability::Immutable),
    ("appendfsync", Mutability::Immutable),
    ("auto-aof-rewrite-percentage", Mutability::Mutable),
    ("auto-aof-rewrite-min-size", Mutability::Mutable),
    ("io-threads", Mutability::Immutable),
    ("cluster-enabled", Mutability::Immutable),
];

impl Config {
    /// Names of every parameter CONFIG GET knows.
    pub fn parameter_names() -> impl Iterator<Item = &'static str> {
        PARAMETERS.iter().map(|(name, _)| *name)
    }

    /// The current value of `name` as CONFIG GET shows it.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match name {
            "port" => self.port.to_string(),
            "bind" => self.bind.join(" "),
            "threads" => self.threads.to_string(),
            "dir" => self.dir.clone(),
            "databases" => self.databases.to_string(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "client-query-buffer-limit" => self.client_query_buffer_limit.to_string(),
            "maxclients" => self.maxclients.to_string(),
            "hz" => self.hz.to_string(),
            "timeout" => self.timeout_s.to_string(),
            "loglevel" => self.loglevel.clone(),
            "save" => self.save.clone(),
            "appendonly" => yes_no(self.appendonly).to_string(),
            "maxmemory" => "0".to_string(),
            "maxmemory-policy" => "noeviction".to_string(),
            "appendfsync" => self.appendfsync.to_string(),
            "appenddirname" => self.appenddirname.clone(),
            "auto-aof-rewrite-percentage" => self.auto_aof_rewrite_percentage.to_string(),
            "auto-aof-rewrite-min-size" => self.auto_aof_rewrite_min_size.to_string(),
            "io-threads" => "1".to_string(),
            "cluster-enabled" => "no".to_string(),
            _ => return None,
        };
        Some(value)
    }

    /// CONFIG SET: changes a mutable parameter.
    pub fn set_at_runtime(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let name = name.to_ascii_lowercase();
        match PARAMETERS.iter().find(|(known, _)| *known == name) {
            None => Err(ConfigError::UnknownOption(name)),
            Some((_, Mutability::Immutable)) => Err(ConfigError::Immutable(name)),
            Some((_, Mutability::Mutable)) => self.apply(&name, value),
        }
    }

    /// Applies one `name value` setting from a file or the command line
    /// (immutable parameters included).
    pub fn apply(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let name = name.to_ascii_lowercase();
        let invalid = |reason: &str| ConfigError::InvalidValue {
            name: name.clone(),
            reason: reason.to_string(),
        };
        match name.as_str() {
            "port" => self.port = value.parse().map_err(|_| invalid("argument must be a port number"))?,
            "bind" => self.bind = value.split_whitespace().map(str::to_string).collect(),
            "threads" => {
                self.threads = parse_in_range(value, 1, limits::SHARDS_MAX).map_err(|r| invalid(&r))?;
            }
            "dir" => self.dir = value.to_string(),
            "databases" => self.databases = parse_in_range(value, 1, 1 << 20).map_err(|r| invalid(&r))?,
            "proto-max-bulk-len" => {
                self.proto_max_bulk_len = parse_memory(value).ok_or_else(|| invalid("argument must be a memory value"))?;
                if self.proto_max_bulk_len < 1024 * 1024 {
                    return Err(invalid("argument must be at least 1mb"));
                }
            }
            "client-query-buffer-limit" => {
                self.client_query_buffer_limit =
                    parse_memory(value).ok_or_else(|| invalid("argument must be a memory value"))?;
                if self.client_query_buffer_limit < 1024 * 1024 {
                    return Err(invalid("argument must be at least 1mb"));
                }
            }
            "maxclients" => self.maxclients = parse_in_range(value, 1, 1 << 24).map_err(|r| invalid(&r))?,
            "hz" => self.hz = parse_in_range(value, 1, 500).map_err(|r| invalid(&r))? as u32,
            "timeout" => self.timeout_s = parse_in_range(value, 0, i32::MAX as usize).map_err(|r| invalid(&r))? as u64,
            "loglevel" => match value.to_ascii_lowercase().as_str() {
                level @ ("debug" | "verbose" | "notice" | "warning" | "nothing") => self.loglevel = level.to_string(),
                _ => return Err(invalid("argument(s) must be one of the following: debug, verbose, notice, warning, nothing")),
            },
            "save" => {
                let rules = parse_save_rules(value).ok_or_else(|| invalid("Invalid save parameters"))?;
                self.save = rules
                    .iter()
                    .map(|(seconds, changes)| format!("{seconds} {changes}"))
                    .collect::<Vec<_>>()
                    .join(" ");
            }
            "appendonly" => match value.to_ascii_lowercase().as_str() {
                "no" => self.appendonly = false,
                "yes" => self.appendonly = true,
                _ => return Err(invalid("argument must be 'yes' or 'no'")),
            },
            "appendfsync" => {
                self.appendfsync = crate::persist::Policy::parse(value)
                    .ok_or_else(|| invalid("argument(s) must be one of the following: always, everysec, no"))?;
            }
            "auto-aof-rewrite-percentage" => {
                self.auto_aof_rewrite_percentage =
                    parse_in_range(value, 0, i32::MAX as usize).map_err(|r| invalid(&r))? as u64;
            }
            "auto-aof-rewrite-min-size" => {
                self.auto_aof_rewrite_min_size =
                    parse_memory(value).ok_or_else(|| invalid("argument must be a memory value"))? as u64;
            }
            "appenddirname" => {
                if value.is_empty() || value.contains('/') || value == "." || value == ".." {
                    return Err(invalid("appenddirname can't be a path, just a dirname"));
                }
                self.appenddirname = value.to_string();
            }
            "maxmemory" | "maxmemory-policy" | "io-threads" | "cluster-enabled" | "daemonize"
            | "logfile" | "protected-mode" | "tcp-keepalive" | "tcp-backlog" | "supervised" | "pidfile" => {}
            _ => return Err(ConfigError::UnknownOption(name)),
        }
        Ok(())
    }

    /// Applies the lines of a redis.conf-style file: `name value...` per line,
    /// `#` comments, quoted values. Returns the first error with its line number.
    pub fn apply_file_text(&mut self, text: &str) -> Result<(), String> {
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let value = value.trim().trim_matches('"');
            self.apply(name, value)
                .map_err(|error| format!("line {}: {error}", index + 1))?;
        }
        Ok(())
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// Parses `save` rules, "<seconds> <changes>" pairs separated by spaces
/// (an empty value has none), as Redis's `save` directive.
///
/// `None` for an odd number of words, or a word that is not a
/// non-negative integer.
pub fn parse_save_rules(value: &str) -> Option<Vec<(u64, u64)>> {
    let words: Vec<&str> = value.split_whitespace().collect();
    // `save ""` in a config file arrives with its quotes.
    if words == ["\"\""] {
        return Some(Vec::new());
    }
    if words.len() % 2 != 0 {
        return None;
    }
    words
        .chunks(2)
        .map(|pair| Some((pair[0].parse().ok()?, pair[1].parse().ok()?)))
        .collect()
}

fn parse_in_range(value: &str, min: usize, max: usize) -> Result<usize, String> {
    let parsed: usize = value
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    if parsed < min || parsed > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(parsed)
}

/// Parses a redis.conf memory value: bytes, or a number with k/kb/m/mb/g/gb
/// (k = 1000, kb = 1024, as redis.conf documents).
pub fn parse_memory(value: &str) -> Option<usize> {
    let lower = value.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let number: usize = digits.parse().ok()?;
    let multiplier: usize = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_follow_redis_conf() {
        assert_eq!(parse_memory("512mb"), Some(512 * 1024 * 1024));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1GB"), Some(1 << 30));
        assert_eq!(parse_memory("12x"), None);
    }

    #[test]
    fn save_rules_parse_as_redis_does() {
        assert_eq!(parse_save_rules(""), Some(vec![]));
        assert_eq!(parse_save_rules("\"\""), Some(vec![]));
        assert_eq!(
            parse_save_rules("3600 1  300 100"),
            Some(vec![(3600, 1), (300, 100)])
        );
        assert_eq!(parse_save_rules("3600"), None);
        assert_eq!(parse_save_rules("60 x"), None);
        assert_eq!(parse_save_rules("-1 5"), None);
        let mut config = Config::default();
        assert!(config.set_at_runtime("save", "60  10").is_ok());
        assert_eq!(config.get("save").as_deref(), Some("60 10"));
        assert!(config.set_at_runtime("save", "60").is_err());
        assert_eq!(config.get("save").as_deref(), Some("60 10"));
    }

    #[test]
    fn config_file_lines_apply_in_order() {
        let mut config = Config::default();
        config
            .apply_file_text("# comment\nport 7000\nbind 127.0.0.1 ::1\nhz 20\n")
            .unwrap();
        assert_eq!(config.port, 7000);
        assert_eq!(config.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(config.hz, 20);
        assert!(config
            .apply_file_text("nosuch 1")
            .unwrap_err()
            .contains("line 1"));
    }

    #[test]
    fn runtime_set_refuses_immutable_and_unknown() {
        let mut config = Config::default();
        assert_eq!(
            config.set_at_runtime("port", "1"),
            Err(ConfigError::Immutable("port".into()))
        );
        assert!(matches!(
            config.set_at_runtime("nosuch", "1"),
            Err(ConfigError::UnknownOption(_))
        ));
        config.set_at_runtime("hz", "50").unwrap();
        assert_eq!(config.get("hz").as_deref(), Some("50"));
    }
}
