#!/usr/bin/env bash
# The project's test command (README.md): the page's unit tests (no build, no browser), every
# Rust test on the CPU backend and on wgpu, then the browser build (which compiles the library for wasm32-unknown-unknown) and the end-to-end
# tests of the page in headless Chromium, and a short run of each fuzz target.
# scripts/install_web_tools.sh installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clipseg-target}"
clipseg="$CARGO_TARGET_DIR/debug/clipseg"
# The Python with pycocotools that checks `clipseg label`'s COCO output (.ci/run makes .venv-labels).
if [ -z "${CLIPSEG_PYTHON:-}" ] && [ -x .venv-labels/bin/python ]; then
  export CLIPSEG_PYTHON="$PWD/.venv-labels/bin/python"
fi

npm run test:unit
cargo test --locked --workspace

# The page's test model: the tiny fixture in the compact f16 format the browser loads.
"$clipseg" convert --from fixtures/tiny-refined --to models/tiny-refined
PATH="$PWD/node_modules/.bin:$PATH" trunk build --release --offline
CLIPSEG_BIN="$clipseg" npm run test:e2e

# The fuzz targets for a few seconds each from their seeds (nightly and cargo-fuzz; skipped
# without them — `cargo test` above already replays every seed and regression input on stable).
bash scripts/fuzz_smoke.sh 5
