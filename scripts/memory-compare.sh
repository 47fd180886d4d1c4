#!/usr/bin/env bash
# Resident memory after loading N small hashes, sets and sorted sets (three
# fields/members each), corekv vs redis-server, loaded the same way
# (redis-cli --pipe) into fresh servers.
#
#   scripts/memory-compare.sh            # N=1000000, corekv --threads 1
#   N=200000 THREADS=2 scripts/memory-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
THREADS=${THREADS:-1}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --bin corekv >&2
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# One file of RESP commands per type, generated once.
python3 - "$N" "$work" <<'PY'
import sys
n, work = int(sys.argv[1]), sys.argv[2]
def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
for kind, make in {
    "hash": lambda i: resp("HSET", f"h:{i}", "f1", "v1", "f2", "v2", "f3", "v3"),
    "set": lambda i: resp("SADD", f"s:{i}", "m1", "m2", "m3"),
    "zset": lambda i: resp("ZADD", f"z:{i}", "1", "m1", "2", "m2", "3", "m3"),
}.items():
    with open(f"{work}/{kind}.resp", "wb") as f:
        f.writelines(make(i) for i in range(n))
PY

measure() { # name command... -> prints "kind rss_mb" lines
  local name=$1; shift
  for kind in hash set zset; do
    local port; port=$(free_port)
    "$@" --port "$port" >/dev/null 2>&1 &
    local pid=$!; pids+=("$pid")
    wait_ready "$port"
    local before; before=$(rss_kb "$pid")
    redis-cli -p "$port" --pipe < "$work/$kind.resp" >/dev/null
    local keys; keys=$(redis-cli -p "$port" dbsize)
    local after; after=$(rss_kb "$pid")
    echo "$name $kind $keys $(( (after - before) / 1024 ))"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
}

{
  measure corekv target/release/corekv --threads "$THREADS"
  measure redis redis-server --save '' --appendonly no --dir "$work"
} > "$work/results"

echo "| type ($N keys, 3 elements each) | corekv RSS growth (MB) | redis RSS growth (MB) | ratio |"
echo "|---|---|---|---|"
for kind in hash set zset; do
  ours=$(awk -v k="$kind" '$1=="corekv" && $2==k {print $4}' "$work/results")
  theirs=$(awk -v k="$kind" '$1=="redis" && $2==k {print $4}' "$work/results")
  echo "| $kind | $ours | $theirs | $(python3 -c "print(f'{$ours/$theirs:.2f}')") |"
done
