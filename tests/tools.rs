//! The real `corekv` binary against Redis's own tools: `redis-cli` and
//! `redis-benchmark` must work unchanged, and the process must exit cleanly
//! on SIGTERM.
//!
//! The tools come from Debian's `redis-tools`. Without them these tests fail
//! (install with `apt-get install redis-tools`), unless `COREKV_SKIP_TOOLS=1`
//! says to skip them.

// Black-box tests stand outside the engine: they read clocks, spawn threads
// and open sockets, which clippy.toml bans only for the core.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::process::{Command, Output};

use common::*;

/// True when the tests should run; panics if a tool is missing and skipping
/// was not asked for.
fn tools_available() -> bool {
    let skip = std::env::var("COREKV_SKIP_TOOLS").is_ok_and(|v| v == "1");
    for tool in ["redis-cli", "redis-benchmark"] {
        let found = Command::new(tool).arg("--version").output().is_ok();
        if !found && skip {
            eprintln!("skipped: {tool} not found and COREKV_SKIP_TOOLS=1");
            return false;
        }
        assert!(
            found,
            "{tool} not found: apt-get install redis-tools (or set COREKV_SKIP_TOOLS=1)"
        );
    }
    true
}

/// Runs `tool args...` and returns its output, asserting it exited 0.
fn run(tool: &str, args: &[&str]) -> Output {
    let output = Command::new(tool).args(args).output().expect("run tool");
    assert!(
        output.status.success(),
        "{tool} {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `redis-cli -p <port> args...`, stdout as text. Not attached to a
/// terminal, redis-cli prints replies raw (no `(integer)` decorations).
fn cli(server: &ServerProcess, args: &[&str]) -> String {
    let port = server.port.to_string();
    let output = run("redis-cli", &[&["-p", &port][..], args].concat());
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

#[test]
fn redis_cli_runs_commands_against_corekv() {
    if !tools_available() {
        return;
    }
    let server = ServerProcess::start(&["--threads", "2"]);
    assert_eq!(cli(&server, &["PING"]), "PONG\n");
    assert_eq!(cli(&server, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(&server, &["GET", "greeting"]), "hello world\n");
    assert_eq!(cli(&server, &["GET", "missing"]), "\n");
    assert_eq!(
        cli(&server, &["MSET", "a", "1", "b", "2", "c", "3"]),
        "OK\n"
    );
    assert_eq!(cli(&server, &["MGET", "a", "missing", "c"]), "1\n\n3\n");
    assert_eq!(cli(&server, &["DBSIZE"]), "4\n");
    assert_eq!(cli(&server, &["INCR", "a"]), "2\n");
    let error = cli(&server, &["NOSUCHCOMMAND"]);
    assert!(
        error.starts_with("ERR unknown command 'NOSUCHCOMMAND'"),
        "{error}"
    );
    let info = cli(&server, &["INFO", "server"]);
    assert!(info.starts_with("# Server\r\n"), "{info}");
    assert!(
        info.contains(&format!("tcp_port:{}\r\n", server.port)),
        "{info}"
    );
    assert_eq!(
        sorted_lines(&cli(&server, &["--scan"])),
        ["a", "b", "c", "greeting"]
    );
    assert_eq!(
        sorted_lines(&cli(&server, &["--scan", "--pattern", "gr*"])),
        ["greeting"]
    );
    assert_eq!(cli(&server, &["-n", "3", "SET", "in3", "x"]), "OK\n");
    assert_eq!(cli(&server, &["-n", "3", "DBSIZE"]), "1\n");
    assert_eq!(cli(&server, &["DBSIZE"]), "4\n");
}

#[test]
fn redis_cli_reads_commands_from_stdin() {
    if !tools_available() {
        return;
    }
    let server = ServerProcess::start(&["--threads", "2"]);
    let mut child = Command::new("redis-cli")
        .args(["-p", &server.port.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn redis-cli");
    let script = "SET k1 v1\nSET \"key two\" \"value two\"\nGET \"key two\"\nMGET k1 \"key two\"\n";
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().expect("redis-cli exits");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "OK\nOK\nvalue two\nv1\nvalue two\n"
    );
}

const BENCHMARK_TESTS: &[(&str, &str)] = &[
    ("set", "SET"),
    ("get", "GET"),
    ("incr", "INCR"),
    ("mset", "MSET (10 keys)"),
];

fn benchmark(server: &ServerProcess, extra: &[&str]) -> String {
    let port = server.port.to_string();
    let args = [
        &[
            "-p",
            &port,
            "-t",
            "set,get,incr,mset",
            "-n",
            "20000",
            "-P",
            "16",
            "-c",
            "20",
        ][..],
        extra,
    ]
    .concat();
    let output = run("redis-benchmark", &args);
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[test]
fn redis_benchmark_quiet_reports_throughput_for_every_test() {
    if !tools_available() {
        return;
    }
    let server = ServerProcess::start(&["--threads", "2"]);
    let output = benchmark(&server, &["-q"]);
    for (_, name) in BENCHMARK_TESTS {
        let line = output
            .split(['\n', '\r'])
            .find(|line| {
                line.starts_with(&format!("{name}: ")) && line.contains("requests per second")
            })
            .unwrap_or_else(|| panic!("no throughput line for {name} in:\n{output}"));
        let rps: f64 = line[name.len() + 2..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number in {line:?}"));
        assert!(rps > 0.0, "{line}");
    }
    // The benchmark's keys really were written.
    let mut client = server.raw();
    assert_ne!(client.call_words("DBSIZE"), int(0));
    assert_ne!(
        client.call_words("GET counter:__rand_int__"),
        corekv::resp::Reply::Null
    );
}

#[test]
fn redis_benchmark_csv_has_a_row_for_every_test() {
    if !tools_available() {
        return;
    }
    let server = ServerProcess::start(&["--threads", "2"]);
    let output = benchmark(&server, &["--csv"]);
    let mut lines = output.lines();
    let header = lines.next().expect("a CSV header");
    assert!(header.starts_with("\"test\",\"rps\""), "{header}");
    let rows: Vec<Vec<&str>> = lines
        .map(|line| line.split(',').map(|cell| cell.trim_matches('"')).collect())
        .collect();
    for (_, name) in BENCHMARK_TESTS {
        let row = rows
            .iter()
            .find(|row| row[0] == *name)
            .unwrap_or_else(|| panic!("no CSV row for {name} in:\n{output}"));
        let rps: f64 = row[1].parse().expect("rps is a number");
        assert!(rps > 0.0, "{row:?}");
    }
}

#[test]
fn sigterm_stops_the_binary_gracefully_with_exit_status_0() {
    let mut server = ServerProcess::start(&["--threads", "2"]);
    let mut client = server.raw();
    assert_eq!(client.call_words("SET before-term 1"), ok());
    server.terminate();
    let status = server
        .wait_for_exit()
        .expect("corekv exits within the deadline after SIGTERM");
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(client.is_closed(), "open connections are closed on exit");
}
