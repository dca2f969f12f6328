#!/usr/bin/env bash
# The project's test command (README.md): every Rust test on the CPU backend and on wgpu, then a
# check that the library still compiles for the browser (wasm32-unknown-unknown).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clipseg-target}"

cargo test --locked --workspace
cargo build --locked --lib -p clipseg --target wasm32-unknown-unknown
