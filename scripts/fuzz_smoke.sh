#!/usr/bin/env bash
# A short, bounded fuzzing run (CI's): each cargo-fuzz target of fuzz/ for SECONDS (default 10)
# from its committed seeds; fails on the first crash, timeout or out-of-memory, whose input
# libFuzzer leaves in fuzz/artifacts/<target>/. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz --locked`); without them it says so and exits 0 (stable
# `cargo test` still replays the seeds). Usage: scripts/fuzz_smoke.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
shift || true
if ! cargo +nightly --version >/dev/null 2>&1 || ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz_smoke: no nightly toolchain or cargo-fuzz; skipped" >&2
  exit 0
fi
# Its own target directory: fuzz builds use other flags (sanitizer, coverage) than `cargo test`.
export CARGO_TARGET_DIR="${CARGO_FUZZ_TARGET_DIR:-$HOME/.cache/clipseg-fuzz-target}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# Built once up front, so the per-target time is fuzzing, not compiling.
cargo +nightly fuzz build -O
# Each build leaves its targets in deps/ (hundreds of MB each with ASan); those of earlier builds
# are no longer linked from the release folder (one link left): removed, so the disk stays bounded.
find "$CARGO_TARGET_DIR"/*/release/deps -maxdepth 1 -type f -links 1 -perm -u+x ! -name '*.*' -delete
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  # New inputs go to the scratch folder; the committed corpus is only read.
  mkdir -p "$scratch/$target"
  status=0
  cargo +nightly fuzz run -O "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$scratch/$target.log" 2>&1 || status=$?
  runs=$(grep -o 'number_of_executed_units: *[0-9]*' "$scratch/$target.log" | grep -o '[0-9]*$' || echo 0)
  echo "fuzz_smoke: $target: $runs runs in ${seconds}s"
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$scratch/$target.log" >&2
    echo "fuzz_smoke: $target failed (exit $status); the input is under fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz_smoke: ${#targets[@]} targets, ${seconds}s each, no crash"
