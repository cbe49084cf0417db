#!/usr/bin/env bash
# Installs the two Tansu 0.6.0 builds the local stack and the tests use, skipping what is
# already installed and current:
#   $CARGO_HOME/bin/tansu                      tansu 0.6.0 with the coordinator fix in
#                                              vendor/tansu-broker (tools/tansu): the stack's broker
#   $CARGO_HOME/tansu-0.6.0-stock/bin/tansu    tansu 0.6.0 as published: the group tests use it
#                                              to reproduce the coordinator fault streamsre detects
# Both share one target directory, so the second build only recompiles the Tansu crates.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export PATH="$CARGO_HOME/bin:$PATH"
TARGET_DIR="$CARGO_HOME/streamsre-tansu-target"
STOCK_ROOT="$CARGO_HOME/tansu-0.6.0-stock"
MARKER="$CARGO_HOME/bin/.streamsre-tansu-patch"
log() { echo "install-tansu: $*"; }

# What the patched build is made of; a change to any of it means a rebuild.
patch_id=$(cat tools/tansu/Cargo.toml tools/tansu/Cargo.lock tools/tansu/src/main.rs \
  $(find vendor/tansu-broker vendor/tansu-cli vendor/tansu-sans-io vendor/tansu-storage -type f | sort) | sha256sum | cut -c1-16)
if [ "$(cat "$MARKER" 2>/dev/null)" = "$patch_id" ] && [ -x "$CARGO_HOME/bin/tansu" ]; then
  log "patched tansu 0.6.0 is installed ($patch_id)"
else
  # --locked: tansu 0.6.0's own lock file (tools/tansu/Cargo.lock); newer dependency versions
  # break its build. --force: replaces a stock `tansu` an earlier install put there.
  log "building tansu 0.6.0 with the coordinator fix (about 10 minutes on 2 cores the first time)"
  cargo install --locked --force --path tools/tansu --target-dir "$TARGET_DIR"
  echo "$patch_id" > "$MARKER"
fi

if [ "$("$STOCK_ROOT/bin/tansu" --version 2>/dev/null)" = "tansu 0.6.0" ]; then
  log "stock tansu 0.6.0 is installed in $STOCK_ROOT"
else
  log "building stock tansu 0.6.0 for the group-fault tests (reuses the build above)"
  cargo install tansu --locked --version 0.6.0 --features dynostore,libsql \
    --root "$STOCK_ROOT" --target-dir "$TARGET_DIR"
fi
