#!/usr/bin/env bash
# Installs the pinned tools of the web build, so `trunk build --release --offline` downloads
# nothing: the wasm32 target, Trunk 0.21.14, the wasm-bindgen CLI matching Cargo.lock, and the
# npm packages (binaryen's wasm-opt, playwright-core for the browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-unknown-unknown
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)
has() { command -v "$1" >/dev/null && "$1" --version 2>/dev/null | grep -q "$2"; }
has trunk "0.21.14" || cargo install trunk --version 0.21.14 --locked
has wasm-bindgen "$bindgen_version" || cargo install wasm-bindgen-cli --version "$bindgen_version"
npm ci --no-audit --no-fund
