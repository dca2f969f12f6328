#!/usr/bin/env bash
# Trunk's post-build hook (Trunk.toml), in order: the threaded wasm module beside Trunk's
# single-thread one (scripts/build_threads.sh; CLIPSEG_THREADS=0 skips it for quick rebuilds, and
# it skips itself without its toolchain), then the models, the package.json and the service
# worker's list of app files (scripts/stage_models.mjs), which must see every file of the site.
set -euo pipefail
site=${TRUNK_STAGING_DIR:?run by Trunk}
cd "$(dirname "$0")/.."
if [ "${CLIPSEG_THREADS:-1}" != 0 ]; then
  bash scripts/build_threads.sh "$site/pkg-threads"
fi
node scripts/stage_models.mjs "$site"
