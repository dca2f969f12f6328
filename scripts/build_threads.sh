#!/usr/bin/env bash
# Builds the browser module with threads into dist/pkg-threads/ (Trunk's post-build hook runs it,
# scripts/post_build.sh, beside Trunk's single-thread module in dist/pkg/; the worker picks this
# one for the CPU backend when the page is cross-origin isolated). rayon's pool runs on Web Workers that share the module's memory, which
# needs the standard library rebuilt with atomics: stable Rust ships it prebuilt without them, and
# rustup's toolchains here have no `rust-src`, so this uses Debian's rustc-web 1.96 with its
# rust-web-src (`apt-get install rustc-web cargo-web rust-web-src`, bookworm-security) and
# `-Z build-std` (RUSTC_BOOTSTRAP). Linked with the rust-lld of rustup's stable toolchain.
#
# Without that toolchain it says so and exits 0: the site then runs single-threaded everywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

rustc_web=/usr/bin/rustc
cargo_web=/usr/bin/cargo
library=/usr/lib/rustlib/src/rust/library
if [ ! -x "$rustc_web" ] || [ ! -x "$cargo_web" ] || [ ! -f "$library/Cargo.lock" ]; then
  echo "build_threads: no rustc-web / cargo-web / rust-web-src; the site stays single-threaded" >&2
  exit 0
fi
lld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
[ -x "$lld" ] || { echo "build_threads: no rust-lld at $lld" >&2; exit 1; }

out=${1:-dist/pkg-threads}
target_dir="${CARGO_TARGET_DIR:-target}/wasm-threads"
# The flags of .cargo/config.toml (RUSTFLAGS replaces them), then shared memory: atomics in every
# crate, and a memory the JS glue creates as shared with a maximum (4 GiB, the wasm32 limit), with
# the thread-local-storage exports wasm-bindgen's thread support initialises each worker through.
rustflags=(
  --cfg 'getrandom_backend="wasm_js"'
  -C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals
  -C "linker=$lld"
  -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296
  -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size
  -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base
)
RUSTC="$rustc_web" RUSTC_BOOTSTRAP=1 \
  RUSTFLAGS="${rustflags[*]}" CARGO_TARGET_DIR="$target_dir" \
  "$cargo_web" build --lib -p clipseg --profile wasm-release --target wasm32-unknown-unknown \
  --no-default-features --features threads -Z build-std=std,panic_abort

rm -rf "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name clipseg \
  "$target_dir/wasm32-unknown-unknown/wasm-release/clipseg.wasm"
# -O1 as the single-thread module (index.html's data-wasm-opt).
node_modules/.bin/wasm-opt -O1 --enable-threads --enable-bulk-memory --enable-simd \
  --enable-mutable-globals --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-reference-types --enable-multivalue \
  "$out/clipseg_bg.wasm" -o "$out/clipseg_bg.wasm"
echo "build_threads: $(du -h "$out/clipseg_bg.wasm" | cut -f1) in $out"
