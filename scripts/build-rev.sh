#!/usr/bin/env bash
# scripts/build-rev.sh REV: builds the release streamsre of git revision REV in a detached
# worktree (.stack/rev-<sha>) with its own target directory (target/rev), and prints the
# binary's path: the "before" side of `make bench-ab BASE=REV`. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
rev=${1:?usage: scripts/build-rev.sh REV}
sha=$(git rev-parse --short=12 "$rev^{commit}")
tree=.stack/rev-$sha
mkdir -p .stack
if [ ! -d "$tree" ]; then
  git worktree prune
  git worktree add --detach "$tree" "$sha" >&2
fi
CARGO_TARGET_DIR="$PWD/target/rev" cargo build --release --bin streamsre \
  --manifest-path "$tree/Cargo.toml" >&2
bin=target/rev/release/streamsre-$sha
cp target/rev/release/streamsre "$bin"
echo "$bin"
