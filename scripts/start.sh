#!/usr/bin/env bash
# The README's first command: from a fresh clone to the app served on localhost with the real
# model. Installs the pinned web tools when missing, builds the CLI, gets the default model
# (`clipseg fetch`) when models/ holds none, builds the site and serves it. Where the Hugging Face
# hub cannot be reached it serves the tiny random-weight demo model instead. PORT (default 8080)
# picks the port.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same build as scripts/test.sh: the CLI is only used here to fetch and convert.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clipseg-target}"
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
clipseg="$CARGO_TARGET_DIR/debug/clipseg"

for tool in cargo rustup node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool is missing: install Rust (https://rustup.rs) and Node.js 20 or later" >&2
    exit 1
  fi
done

bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)
has() { command -v "$1" >/dev/null && "$1" --version 2>/dev/null | grep -q "$2"; }
if ! has trunk 0.21.14 || ! has wasm-bindgen "$bindgen_version" || [ ! -x node_modules/.bin/wasm-opt ] \
  || ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  bash scripts/install_web_tools.sh
fi

cargo build --locked --quiet

# A model directory whose config.json does not mark random weights (the demo model the tests and
# the fallback below put there does; so does every model scripts/make_fixtures.py makes).
has_real_model() {
  for dir in models/*/; do
    [ -f "$dir/config.json" ] && [ -f "$dir/model.safetensors" ] \
      && ! grep -Eq '"random_weights": *true' "$dir/config.json" && return 0
  done
  return 1
}
if ! has_real_model && ! "$clipseg" fetch; then
  echo "note: no real model (above); serving the tiny random-weight demo model, whose masks are noise." \
    "Get the real one with: $clipseg fetch" >&2
  [ -f models/tiny-refined/model.safetensors ] || "$clipseg" convert --from fixtures/tiny-refined --to models/tiny-refined
fi

trunk build --release --offline
exec node scripts/serve.mjs dist "${PORT:-8080}"
