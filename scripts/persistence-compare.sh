#!/usr/bin/env bash
# What AOF persistence costs corekv, side by side with redis-server under the
# same settings: write throughput per fsync policy, and the time to recover a
# data set at start-up.
#
#   scripts/persistence-compare.sh            # REPEATS=3, REQUESTS=100000, KEYS=1000000
#   REPEATS=5 THREADS="1 2 4" KEYS=200000 scripts/persistence-compare.sh
#
# 1. Throughput. Unpipelined SET on random keys
#    (`redis-benchmark -t set -c CLIENTS -r RANDOM_KEYS -n REQUESTS`) against
#    five servers running side by side: corekv without persistence, corekv
#    and redis-server with `appendfsync everysec`, corekv and redis-server
#    with `appendfsync always`. Each run goes through the five in turn,
#    REPEATS times, so drift in the machine's load hits all alike; the table
#    shows medians of redis-benchmark's --csv requests per second, and the
#    ratios the persistence work aims at:
#      corekv everysec / corekv no persistence   target >= 0.9
#      corekv always / redis always              target > 1 (group commit)
#      corekv everysec / redis everysec
# 2. Recovery. Each server is filled with the same KEYS string keys
#    (`SET key:<i> <value>` sent by redis-cli --pipe), shut down cleanly
#    (SHUTDOWN), and its directory kept. Every restart starts from a fresh
#    copy of those files, so each one loads the same thing; the time runs
#    from launching the process until PING answers PONG and DBSIZE equals
#    KEYS (polled every 10 ms). Three cases:
#      (a) the AOF as written: corekv's increments of commands; redis-server
#          with `--aof-use-rdb-preamble no`, a plain AOF of commands.
#      (b) after BGREWRITEAOF: corekv's base is a snapshot (.ckv);
#          redis-server's base is an RDB (the default preamble).
#      (c) snapshots without the AOF (`--appendonly no`) after SAVE:
#          corekv's dump-<i>.ckv files, redis-server's dump.rdb.
#    corekv loads its shards in parallel (one thread each). After a clean
#    stop it appends to the files it loaded; a start that trimmed or cut
#    anything would first write a fresh base per shard (not measured here).
#    The files were just copied, so both read them from the page cache: this
#    measures parsing and replay, not the disk. Lower is better.
#
# Environment:
#   REPEATS          runs per server and case (default 3)
#   REQUESTS         -n for the SET throughput runs (default 100000)
#   CLIENTS          -c (default 50)
#   RANDOM_KEYS      -r for the SET throughput runs (default 100000)
#   THREADS          corekv thread counts to compare (default "1 2")
#   KEYS             keys recovered at start-up (default 1000000)
#   VALUE_BYTES      size of each recovered key's value (default 16)
#   PARTS            which parts to run (default "throughput recovery")
#   CASES            which recovery cases to run (default "a b c")
#   START_TIMEOUT_S  longest a start-up may take (default 600)
#   REDIS_SERVER     redis-server binary (default: redis-server on PATH)
#   SKIP_BUILD=1     use the existing target/release/corekv
#   COREKV           corekv binary to run (e.g. an older build to compare;
#                    default: cargo's target/release/corekv, built unless
#                    SKIP_BUILD=1)
#   TMPDIR           where the servers' directories go. It must be a real
#                    disk: on tmpfs fsync is free and `always` means nothing.
#
# The benchmark client shares the machine with the servers (and, here, with
# other engineers' builds and tests): on a 2-core machine the absolute
# numbers are low, noisy, and `--threads 2` competes with redis-benchmark for
# the cores. Compare ratios, not absolute figures.
set -euo pipefail

REPEATS=${REPEATS:-3}
REQUESTS=${REQUESTS:-100000}
CLIENTS=${CLIENTS:-50}
RANDOM_KEYS=${RANDOM_KEYS:-100000}
THREADS=${THREADS:-"1 2"}
KEYS=${KEYS:-1000000}
VALUE_BYTES=${VALUE_BYTES:-16}
PARTS=${PARTS:-"throughput recovery"}
CASES=${CASES:-"a b c"}
START_TIMEOUT_S=${START_TIMEOUT_S:-600}
REDIS_SERVER=${REDIS_SERVER:-redis-server}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Where cargo builds: CARGO_TARGET_DIR if set, as cargo itself decides.
COREKV=${COREKV:-"${CARGO_TARGET_DIR:-$ROOT/target}/release/corekv"}
WORK=$(mktemp -d)
# Servers started and not yet reaped. A pid leaves the list once waited
# for, so cleanup never signals a pid the kernel may have reused.
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "persistence-compare: $*" >&2
    exit 1
}

for tool in redis-benchmark redis-cli "$REDIS_SERVER" python3 awk du; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install redis-server redis-tools)"
done
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (EPOCHREALTIME)"
for part in $PARTS; do
    case $part in
        throughput | recovery) ;;
        *) die "unknown part '$part' in PARTS (throughput, recovery)" ;;
    esac
done
for case in $CASES; do
    case $case in
        a | b | c) ;;
        *) die "unknown case '$case' in CASES (a, b, c)" ;;
    esac
done

# A port nothing listens on (the kernel picks it).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

forget_pid() {
    local kept=() pid
    for pid in "${PIDS[@]}"; do
        [ "$pid" = "$1" ] || kept+=("$pid")
    done
    PIDS=("${kept[@]}")
}

# launch NAME ARGS... ; starts the server on a free port without waiting,
# sets STARTED_PORT, STARTED_PID and STARTED_AT (EPOCHREALTIME at launch).
launch() {
    local name=$1
    shift
    STARTED_PORT=$(free_port)
    STARTED_AT=$EPOCHREALTIME
    "$@" --port "$STARTED_PORT" >>"$WORK/$name.log" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
}

# wait_until_loaded PORT PID EXPECTED_KEYS NAME ; polls every 10 ms until PING
# answers PONG and DBSIZE is EXPECTED_KEYS; sets LOADED_AT (EPOCHREALTIME).
wait_until_loaded() {
    local port=$1 pid=$2 expected=$3 name=$4 deadline
    deadline=$((${EPOCHREALTIME%.*} + START_TIMEOUT_S))
    while :; do
        kill -0 "$pid" 2>/dev/null || die "$name on port $port exited during start-up (see its log)"
        if [ "$(redis-cli -p "$port" PING 2>/dev/null)" = "PONG" ] &&
            [ "$(redis-cli -p "$port" DBSIZE 2>/dev/null)" = "$expected" ]; then
            LOADED_AT=$EPOCHREALTIME
            return
        fi
        [ "${EPOCHREALTIME%.*}" -lt "$deadline" ] ||
            die "$name on port $port did not answer PING with DBSIZE $expected within ${START_TIMEOUT_S}s"
        sleep 0.01
    done
}

# start_server NAME EXPECTED_KEYS ARGS... ; sets STARTED_PORT, STARTED_PID and
# STARTUP_S (seconds from launch until loaded).
start_server() {
    local name=$1 expected=$2
    shift 2
    launch "$name" "$@"
    wait_until_loaded "$STARTED_PORT" "$STARTED_PID" "$expected" "$name"
    STARTUP_S=$(awk -v s="$STARTED_AT" -v e="$LOADED_AT" 'BEGIN { printf "%.3f\n", e - s }')
}

# stop_server PID ; SIGTERM, which both servers handle as a clean shutdown.
stop_server() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget_pid "$1"
}

# shutdown_server PORT PID NAME ; SHUTDOWN, and wait for the process to exit.
shutdown_server() {
    local port=$1 pid=$2 name=$3 deadline
    redis-cli -p "$port" SHUTDOWN >/dev/null 2>&1 || true
    deadline=$((${EPOCHREALTIME%.*} + START_TIMEOUT_S))
    while kill -0 "$pid" 2>/dev/null; do
        [ "${EPOCHREALTIME%.*}" -lt "$deadline" ] || die "$name did not exit after SHUTDOWN"
        sleep 0.05
    done
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

# bench PORT -> SET requests per second (unpipelined, random keys), or "n/a".
bench() {
    local port=$1 output rps
    output=$(redis-benchmark -p "$port" -t set -c "$CLIENTS" -r "$RANDOM_KEYS" -n "$REQUESTS" \
        -q --csv 2>/dev/null) || true
    # Rows look like "SET","123456.79",...; the header row starts "test".
    rps=$(printf '%s\n' "$output" | awk -F'"' '$2 != "test" && $4 != "" { print $4; exit }')
    echo "${rps:-n/a}"
}

# median FORMAT VALUES... ("n/a" if any value is n/a)
median() {
    local format=$1 v
    shift
    for v in "$@"; do
        [ "$v" = "n/a" ] && { echo "n/a"; return; }
    done
    printf '%s\n' "$@" | sort -g | awk -v f="$format\n" '
        { v[NR] = $1 }
        END { if (NR % 2) printf f, v[(NR + 1) / 2]; else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
    if [ "$1" = "n/a" ] || [ "$2" = "n/a" ]; then
        echo "n/a"
    else
        awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'
    fi
}

megabytes() {
    du -sb "$1" | awk '{ printf "%.1f\n", $1 / 1e6 }'
}

if [ "${SKIP_BUILD:-0}" != "1" ]; then
    echo "building corekv (release)..." >&2
    (cd "$ROOT" && cargo build --release --bin corekv) >&2
fi
[ -x "$COREKV" ] || die "$COREKV not built"

# --- 1. SET throughput per fsync policy -------------------------------------

# Servers: "name|kind|policy", kind corekv or redis, policy no (persistence
# off), everysec or always. The order is the order of each run.
THROUGHPUT_SERVERS=(
    "corekv-off|corekv|off"
    "corekv-everysec|corekv|everysec"
    "redis-everysec|redis|everysec"
    "corekv-always|corekv|always"
    "redis-always|redis|always"
)

# server_command KIND POLICY DIR THREADS -> sets SERVER_COMMAND (an array).
server_command() {
    local kind=$1 policy=$2 dir=$3 threads=$4
    if [ "$kind" = corekv ]; then
        SERVER_COMMAND=("$COREKV" --threads "$threads" --save "")
    else
        SERVER_COMMAND=("$REDIS_SERVER" --save "")
    fi
    if [ "$policy" = off ]; then
        SERVER_COMMAND+=(--appendonly no)
    else
        mkdir -p "$dir"
        SERVER_COMMAND+=(--appendonly yes --appendfsync "$policy" --dir "$dir")
    fi
}

THROUGHPUT_ROWS=()
run_throughput() {
    local threads=$1 entry name kind policy run
    local -A port pid runs
    for entry in "${THROUGHPUT_SERVERS[@]}"; do
        IFS='|' read -r name kind policy <<<"$entry"
        server_command "$kind" "$policy" "$WORK/throughput-$name-$threads" "$threads"
        start_server "$name-$threads" 0 "${SERVER_COMMAND[@]}"
        port[$name]=$STARTED_PORT pid[$name]=$STARTED_PID runs[$name]=""
    done
    echo "throughput, corekv --threads $threads" >&2
    for run in $(seq "$REPEATS"); do
        local line="  run $run:"
        for entry in "${THROUGHPUT_SERVERS[@]}"; do
            IFS='|' read -r name kind policy <<<"$entry"
            local rps
            rps=$(bench "${port[$name]}")
            runs[$name]+=" $rps"
            line+=" $name $rps"
        done
        echo "$line" >&2
    done
    local -A med
    for entry in "${THROUGHPUT_SERVERS[@]}"; do
        IFS='|' read -r name kind policy <<<"$entry"
        # shellcheck disable=SC2086 # the runs are meant to split
        med[$name]=$(median "%.0f" ${runs[$name]})
        stop_server "${pid[$name]}"
    done
    THROUGHPUT_ROWS+=("| $threads | ${med[corekv-off]} | ${med[corekv-everysec]} | ${med[redis-everysec]} | ${med[corekv-always]} | ${med[redis-always]} | $(ratio "${med[corekv-everysec]}" "${med[corekv-off]}") | $(ratio "${med[corekv-always]}" "${med[redis-always]}") | $(ratio "${med[corekv-everysec]}" "${med[redis-everysec]}") |")
}

# --- 2. Recovery time ------------------------------------------------------

# The same KEYS keys for both servers, as RESP SET commands.
FILL_FILE="$WORK/fill.resp"
make_fill_file() {
    python3 - "$KEYS" "$VALUE_BYTES" "$FILL_FILE" <<'PY'
import sys
keys, value_bytes, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(path, "wb") as f:
    chunk = []
    for i in range(keys):
        key = b"key:%d" % i
        value = (b"%0*d" % (value_bytes, i))[-value_bytes:]
        chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
        if len(chunk) == 10000:
            f.write(b"".join(chunk))
            chunk = []
    f.write(b"".join(chunk))
PY
}

fill() {
    local port=$1 name=$2 output dbsize
    output=$(redis-cli -p "$port" --pipe <"$FILL_FILE" 2>&1) || die "$name: redis-cli --pipe failed: $output"
    printf '%s\n' "$output" | grep -q "errors: 0," || die "$name: the fill had errors: $output"
    dbsize=$(redis-cli -p "$port" DBSIZE)
    [ "$dbsize" = "$KEYS" ] || die "$name: DBSIZE $dbsize after the fill, expected $KEYS"
}

# wait_for_rewrite PORT NAME ; until INFO persistence shows no rewrite running
# or scheduled (corekv answers BGREWRITEAOF when done; redis-server forks).
wait_for_rewrite() {
    local port=$1 name=$2 info deadline
    deadline=$((${EPOCHREALTIME%.*} + START_TIMEOUT_S))
    while :; do
        info=$(redis-cli -p "$port" INFO persistence | tr -d '\r')
        if printf '%s\n' "$info" | grep -q '^aof_rewrite_in_progress:0$' &&
            printf '%s\n' "$info" | grep -q '^aof_rewrite_scheduled:0$'; then
            printf '%s\n' "$info" | grep -q '^aof_last_bgrewrite_status:ok$' ||
                die "$name: BGREWRITEAOF failed"
            return
        fi
        [ "${EPOCHREALTIME%.*}" -lt "$deadline" ] || die "$name: BGREWRITEAOF did not finish"
        sleep 0.05
    done
}

# restore SNAPSHOT DIR ; DIR becomes a fresh copy of SNAPSHOT, written back
# to disk so that writeback of the copy does not land inside a timed start.
restore() {
    rm -rf "$2"
    cp -a "$1" "$2"
    sync
}

# recovery_command KIND DIR THREADS PREAMBLE -> SERVER_COMMAND
recovery_command() {
    server_command "$1" everysec "$2" "$3"
    if [ "$1" = redis ]; then
        SERVER_COMMAND+=(--aof-use-rdb-preamble "$4")
    fi
}

# snapshot_command KIND DIR THREADS -> SERVER_COMMAND: no AOF, the last
# SAVE in DIR loaded at start.
snapshot_command() {
    server_command "$1" off "$2" "$3"
    mkdir -p "$2"
    SERVER_COMMAND+=(--dir "$2")
}

RECOVERY_ROWS=()
# time_restarts CASE THREADS ; REPEATS alternating timed starts of both
# servers, each from a fresh copy of its snapshot for CASE.
time_restarts() {
    local case=$1 threads=$2 kind run preamble=no
    [ "$case" = a ] || preamble=yes
    local -A runs=([corekv]="" [redis]="")
    for run in $(seq "$REPEATS"); do
        for kind in corekv redis; do
            local dir="$WORK/recovery-$kind-$threads"
            restore "$WORK/snapshot-$kind-$threads-$case" "$dir"
            if [ "$case" = c ]; then
                snapshot_command "$kind" "$dir" "$threads"
            else
                recovery_command "$kind" "$dir" "$threads" "$preamble"
            fi
            start_server "$kind-$threads-start-$case" "$KEYS" "${SERVER_COMMAND[@]}"
            runs[$kind]+=" $STARTUP_S"
            stop_server "$STARTED_PID"
        done
        echo "  ($case) run $run: corekv ${runs[corekv]##* }s redis ${runs[redis]##* }s" >&2
    done
    local corekv_median redis_median
    # shellcheck disable=SC2086 # the runs are meant to split
    corekv_median=$(median "%.3f" ${runs[corekv]})
    # shellcheck disable=SC2086
    redis_median=$(median "%.3f" ${runs[redis]})
    local label
    case $case in
        a) label="(a) AOF as written (redis: plain AOF)" ;;
        b) label="(b) after BGREWRITEAOF (corekv: snapshot base; redis: RDB preamble)" ;;
        c) label="(c) SAVE, appendonly no (corekv: dump-<i>.ckv; redis: dump.rdb)" ;;
    esac
    RECOVERY_ROWS+=("| $label | $threads | $KEYS | $(megabytes "$WORK/snapshot-corekv-$threads-$case") | $(megabytes "$WORK/snapshot-redis-$threads-$case") | $corekv_median | $redis_median | $(ratio "$corekv_median" "$redis_median") |")
}

run_recovery() {
    local threads=$1 kind dir
    echo "recovery, corekv --threads $threads, $KEYS keys" >&2
    # (a): fill an empty server, shut it down, keep what it wrote. Every
    # case starts from it.
    for kind in corekv redis; do
        dir="$WORK/recovery-$kind-$threads"
        rm -rf "$dir"
        recovery_command "$kind" "$dir" "$threads" no
        start_server "$kind-$threads-fill" 0 "${SERVER_COMMAND[@]}"
        fill "$STARTED_PORT" "$kind-$threads"
        shutdown_server "$STARTED_PORT" "$STARTED_PID" "$kind-$threads"
        cp -a "$dir" "$WORK/snapshot-$kind-$threads-a"
    done
    case " $CASES " in *" a "*) time_restarts a "$threads" ;; esac
    case " $CASES " in *" b "*)
        # (b): load (a), rewrite, shut down, keep what it wrote.
        for kind in corekv redis; do
            dir="$WORK/recovery-$kind-$threads"
            restore "$WORK/snapshot-$kind-$threads-a" "$dir"
            recovery_command "$kind" "$dir" "$threads" yes
            start_server "$kind-$threads-rewrite" "$KEYS" "${SERVER_COMMAND[@]}"
            redis-cli -p "$STARTED_PORT" BGREWRITEAOF >/dev/null
            wait_for_rewrite "$STARTED_PORT" "$kind-$threads"
            shutdown_server "$STARTED_PORT" "$STARTED_PID" "$kind-$threads"
            cp -a "$dir" "$WORK/snapshot-$kind-$threads-b"
        done
        time_restarts b "$threads"
        ;;
    esac
    case " $CASES " in *" c "*)
        # (c): load (a), SAVE, shut down, keep only the snapshot files.
        for kind in corekv redis; do
            dir="$WORK/recovery-$kind-$threads"
            restore "$WORK/snapshot-$kind-$threads-a" "$dir"
            recovery_command "$kind" "$dir" "$threads" yes
            start_server "$kind-$threads-save" "$KEYS" "${SERVER_COMMAND[@]}"
            [ "$(redis-cli -p "$STARTED_PORT" SAVE)" = OK ] || die "$kind-$threads: SAVE failed"
            shutdown_server "$STARTED_PORT" "$STARTED_PID" "$kind-$threads"
            mkdir -p "$WORK/snapshot-$kind-$threads-c"
            # corekv: dump.manifest and dump-<i>.ckv; redis-server: dump.rdb.
            cp -a "$dir"/dump* "$WORK/snapshot-$kind-$threads-c/" ||
                die "$kind-$threads: SAVE wrote no dump file"
        done
        time_restarts c "$threads"
        ;;
    esac
    rm -rf "$WORK"/snapshot-*-"$threads"-* "$WORK/recovery-corekv-$threads" "$WORK/recovery-redis-$threads"
}

# --- main ------------------------------------------------------------------

case " $PARTS " in *" recovery "*) make_fill_file ;; esac
for threads in $THREADS; do
    case " $PARTS " in *" throughput "*) run_throughput "$threads" ;; esac
    case " $PARTS " in *" recovery "*) run_recovery "$threads" ;; esac
done

echo
echo "$(nproc) cores, $("$REDIS_SERVER" --version | awk '{print $3}'), servers' files on $(df -PT "$WORK" | awk 'NR == 2 { print $2 }'), REPEATS=$REPEATS."
if [ ${#THROUGHPUT_ROWS[@]} -gt 0 ]; then
    echo
    echo "SET throughput, requests per second (medians; redis-benchmark -t set -c $CLIENTS -r $RANDOM_KEYS -n $REQUESTS, unpipelined)."
    echo
    echo "| corekv threads | corekv no AOF | corekv everysec | redis everysec | corekv always | redis always | corekv everysec / no AOF (target >= 0.9) | always corekv / redis (target > 1) | everysec corekv / redis |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${THROUGHPUT_ROWS[@]}"
fi
if [ ${#RECOVERY_ROWS[@]} -gt 0 ]; then
    echo
    echo "Start-up until PING and DBSIZE = keys, seconds (medians; appendfsync everysec where there is an AOF, values of $VALUE_BYTES bytes)."
    echo
    echo "| case | corekv threads | keys | corekv files MB | redis files MB | corekv s | redis s | ratio corekv/redis (lower is better) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${RECOVERY_ROWS[@]}"
fi
