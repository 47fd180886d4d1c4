#!/usr/bin/env bash
# Side-by-side throughput of corekv and redis-server, measured with the same
# redis-benchmark workloads.
#
#   scripts/compare-redis.sh            # REPEATS=3, REQUESTS=200000
#   REPEATS=5 REQUESTS=400000 THREADS="1 2 4" scripts/compare-redis.sh
#
# For each corekv thread count, corekv and a fresh redis-server run side by
# side on free ports, and every workload runs against each of them in
# alternation (corekv, redis, corekv, redis, ...), REPEATS times, so drift in
# the machine's load hits both alike. The table shows medians of
# redis-benchmark's --csv requests per second.
#
# Environment:
#   REPEATS                runs per workload and server (default 3)
#   REQUESTS               -n for pipelined workloads (default 200000)
#   REQUESTS_UNPIPELINED   -n for unpipelined workloads (default REQUESTS / 2)
#   CLIENTS                -c (default 50)
#   THREADS                corekv thread counts to compare (default "1 2")
#   REDIS_SERVER           redis-server binary (default: redis-server on PATH)
#   SKIP_BUILD=1           use the existing target/release/corekv
#
# The benchmark client shares the machine with the servers: on a 2-core
# machine the absolute numbers are low and `--threads 2` competes with
# redis-benchmark for the cores. Compare ratios, not absolute figures.
set -euo pipefail

REPEATS=${REPEATS:-3}
REQUESTS=${REQUESTS:-200000}
REQUESTS_UNPIPELINED=${REQUESTS_UNPIPELINED:-$((REQUESTS / 2))}
CLIENTS=${CLIENTS:-50}
THREADS=${THREADS:-"1 2"}
REDIS_SERVER=${REDIS_SERVER:-redis-server}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COREKV="$ROOT/target/release/corekv"
WORK=$(mktemp -d)
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
    echo "compare-redis: $*" >&2
    exit 1
}

for tool in redis-benchmark redis-cli "$REDIS_SERVER"; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install redis-server redis-tools)"
done

# A port nothing listens on (the kernel picks it).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_until_ready() {
    local port=$1 pid=$2
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || die "server on port $port exited during start-up"
        if [ "$(redis-cli -p "$port" PING 2>/dev/null)" = "PONG" ]; then
            return
        fi
        sleep 0.1
    done
    die "server on port $port did not answer PING"
}

# start_server NAME ARGS... ; sets STARTED_PORT and STARTED_PID.
start_server() {
    local name=$1
    shift
    STARTED_PORT=$(free_port)
    "$@" --port "$STARTED_PORT" >"$WORK/$name.log" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    wait_until_ready "$STARTED_PORT" "$STARTED_PID"
}

stop_server() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# bench PORT REQUESTS PIPELINE TEST -> requests per second, or "n/a" when the
# server does not support the test's command.
bench() {
    local port=$1 requests=$2 pipeline=$3 test=$4 output
    output=$(redis-benchmark -p "$port" -t "$test" -n "$requests" -P "$pipeline" \
        -c "$CLIENTS" --csv 2>/dev/null) || true
    # Rows look like "SET","123456.79",...; the header row starts "test".
    local rps
    rps=$(printf '%s\n' "$output" | awk -F'"' 'NR > 1 && $2 != "test" && $4 != "" { print $4; exit }')
    echo "${rps:-n/a}"
}

# median VALUES... ("n/a" if any value is n/a)
median() {
    local values=("$@")
    for v in "${values[@]}"; do
        [ "$v" = "n/a" ] && { echo "n/a"; return; }
    done
    printf '%s\n' "${values[@]}" | sort -g | awk '
        { v[NR] = $1 }
        END { if (NR % 2) printf "%.0f\n", v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
    if [ "$1" = "n/a" ] || [ "$2" = "n/a" ]; then
        echo "n/a"
    else
        awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'
    fi
}

# Workloads: "label|pipeline|requests|tests". Each test runs in its own
# redis-benchmark invocation, so an unsupported one cannot stop the others.
WORKLOADS=(
    "-P 16 -c $CLIENTS|16|$REQUESTS|set get"
    "-P 1 -c $CLIENTS|1|$REQUESTS_UNPIPELINED|set get"
    "-P 16 -c $CLIENTS|16|$REQUESTS|mset incr lpush"
    "-P 16 -c $CLIENTS|16|$REQUESTS|lpop rpush rpop sadd hset spop zadd zpopmin lrange_100"
)

# Custom commands: "label|pipeline|requests|command words". `foo` and `bar`
# live on different shards when corekv runs two, so this MSET crosses them.
CUSTOM=(
    "mset 2 keys (foo, bar) -P 16 -c $CLIENTS|16|$REQUESTS|MSET foo 1 bar 2"
)

# bench_command PORT REQUESTS PIPELINE WORDS... -> requests per second
bench_command() {
    local port=$1 requests=$2 pipeline=$3 output rps
    shift 3
    output=$(redis-benchmark -p "$port" -n "$requests" -P "$pipeline" -c "$CLIENTS" --csv "$@" 2>/dev/null) || true
    rps=$(printf '%s\n' "$output" | awk -F'"' 'NR > 1 && $2 != "test" && $4 != "" { print $4; exit }')
    echo "${rps:-n/a}"
}

# MULTI/EXEC blocks of 4 commands over two keys on different shards, sent
# by redis-cli --pipe; prints transactions per second.
TRANSACTIONS=${TRANSACTIONS:-20000}
TXN_FILE=$(mktemp)
python3 - "$TRANSACTIONS" "$TXN_FILE" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
def resp(*args):
    return b"".join([b"*%d\r\n" % len(args)] + [b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args)])
block = resp("MULTI") + resp("INCR", "foo") + resp("INCR", "bar") + resp("GET", "foo") + resp("GET", "bar") + resp("EXEC")
with open(path, "wb") as f:
    f.write(block * n)
PY
bench_transactions() {
    local port=$1 start end
    start=$(date +%s.%N)
    redis-cli -p "$port" --pipe < "$TXN_FILE" >/dev/null 2>&1 || { echo "n/a"; return; }
    end=$(date +%s.%N)
    awk -v n="$TRANSACTIONS" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f\n", n / (e - s) }'
}

if [ "${SKIP_BUILD:-0}" != "1" ]; then
    echo "building corekv (release)..." >&2
    (cd "$ROOT" && cargo build --release --bin corekv) >&2
fi
[ -x "$COREKV" ] || die "$COREKV not built"

ROWS=()
for threads in $THREADS; do
    start_server "corekv-$threads" "$COREKV" --threads "$threads" --save "" --appendonly no
    corekv_port=$STARTED_PORT corekv_pid=$STARTED_PID
    start_server "redis-$threads" "$REDIS_SERVER" --save "" --appendonly no
    redis_port=$STARTED_PORT redis_pid=$STARTED_PID
    echo "corekv --threads $threads on :$corekv_port, redis-server on :$redis_port" >&2
    for workload in "${WORKLOADS[@]}"; do
        IFS='|' read -r label pipeline requests tests <<<"$workload"
        for test in $tests; do
            corekv_runs=() redis_runs=()
            for run in $(seq "$REPEATS"); do
                corekv_runs+=("$(bench "$corekv_port" "$requests" "$pipeline" "$test")")
                redis_runs+=("$(bench "$redis_port" "$requests" "$pipeline" "$test")")
                echo "  $test $label run $run: corekv ${corekv_runs[-1]} redis ${redis_runs[-1]}" >&2
            done
            corekv_median=$(median "${corekv_runs[@]}")
            redis_median=$(median "${redis_runs[@]}")
            ROWS+=("| $test $label -n $requests | $threads | $corekv_median | $redis_median | $(ratio "$corekv_median" "$redis_median") |")
        done
    done
    for custom in "${CUSTOM[@]}"; do
        IFS='|' read -r label pipeline requests words <<<"$custom"
        corekv_runs=() redis_runs=()
        for run in $(seq "$REPEATS"); do
            # shellcheck disable=SC2086 # the words are meant to split
            corekv_runs+=("$(bench_command "$corekv_port" "$requests" "$pipeline" $words)")
            # shellcheck disable=SC2086
            redis_runs+=("$(bench_command "$redis_port" "$requests" "$pipeline" $words)")
        done
        corekv_median=$(median "${corekv_runs[@]}")
        redis_median=$(median "${redis_runs[@]}")
        ROWS+=("| $label -n $requests | $threads | $corekv_median | $redis_median | $(ratio "$corekv_median" "$redis_median") |")
    done
    corekv_runs=() redis_runs=()
    for run in $(seq "$REPEATS"); do
        corekv_runs+=("$(bench_transactions "$corekv_port")")
        redis_runs+=("$(bench_transactions "$redis_port")")
    done
    corekv_median=$(median "${corekv_runs[@]}")
    redis_median=$(median "${redis_runs[@]}")
    ROWS+=("| MULTI + 4 commands on foo, bar + EXEC (transactions/s, redis-cli --pipe, $TRANSACTIONS) | $threads | $corekv_median | $redis_median | $(ratio "$corekv_median" "$redis_median") |")
    stop_server "$corekv_pid"
    stop_server "$redis_pid"
done
rm -f "$TXN_FILE"

echo
echo "Medians of $REPEATS runs, requests per second ($(nproc) cores, $(redis-server --version | awk '{print $3}'))."
echo
echo "| workload | corekv threads | corekv rps | redis rps | ratio (corekv/redis) |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
