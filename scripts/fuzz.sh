#!/usr/bin/env bash
# Fuzz every cargo-fuzz target for a bounded time on the stable toolchain.
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]
#
# The machine has one stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz
# pass its unstable flags, and --sanitizer none avoids needing a nightly
# sanitizer runtime (coverage-guided libFuzzer still runs). Each target's
# working corpus starts from fuzz/corpus/<target> (the checked-in seeds) in a
# scratch directory, so the repository only grows when a finding is added by
# hand. A crash leaves its input in fuzz/artifacts/<target>/ and fails the
# script; minimise it (cargo fuzz tmin) and add it to fuzz/corpus/<target>/
# so `cargo test` replays it forever.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(resp_parse resp_roundtrip command_dispatch snapshot_load)
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo fuzz build --sanitizer none -O
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
printf '| target | seconds | executions | exec/s | crashes |\n|---|---|---|---|---|\n' > "$work/table"
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  cp corpus/"$target"/* "$work/$target"/ 2>/dev/null || true
  log="$work/$target.log"
  if cargo fuzz run --sanitizer none -O "$target" "$work/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    crashed=0
  else
    crashed=1; status=1
    echo "== $target FAILED; tail of its log:"; tail -40 "$log"
  fi
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  printf '| %s | %s | %s | %s | %s |\n' "$target" "$seconds" "$runs" "$(( runs / seconds ))" "$crashed" >> "$work/table"
done
cat "$work/table"
exit $status
