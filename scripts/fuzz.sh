#!/usr/bin/env bash
# scripts/fuzz.sh [TARGET...]: runs the cargo-fuzz targets in fuzz/ (all four by default), each
# for FUZZ_SECONDS (60) or FUZZ_RUNS executions, whichever the caller sets (FUZZ_RUNS wins).
# Fails on the first crash, hang (FUZZ_TIMEOUT, 10 s per input) or an input that takes the
# process past 1 GiB of RSS: out of proportion to inputs of at most 4 KiB. (libFuzzer's
# per-allocation limit needs a sanitizer's malloc hooks, so without one RSS is the check.) A crash is left in fuzz/artifacts/<target>/; once fixed, copy it to
# fuzz/corpus/<target>/ so `make test` replays it for good.
#
# The fuzzer keeps what it finds in fuzz/corpus-work/<target> (not committed), started from
# the committed corpus. `scripts/fuzz.sh --merge [TARGET...]` folds the inputs that add
# coverage back into fuzz/corpus/ (libFuzzer -merge=1), for committing.
#
# libFuzzer's instrumentation needs nightly flags: the nightly toolchain when rustup has one,
# otherwise the stable one with RUSTC_BOOTSTRAP=1. No sanitizer (`-s none`): the code under
# test is safe Rust, so overflow checks (`-a`) and panics are what find bugs, at full speed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

merge=0
if [ "${1:-}" = --merge ]; then merge=1; shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json_event avro_event mapping_file coerce_value)

command -v cargo-fuzz >/dev/null 2>&1 || {
  echo "fuzz: installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked --quiet
}
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  echo "fuzz: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1"
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
build=(-O -a -s none)

if [ -n "${FUZZ_RUNS:-}" ]; then
  budget=(-runs="$FUZZ_RUNS")
else
  budget=(-max_total_time="${FUZZ_SECONDS:-60}")
fi
limits=(-timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=1024)

"${fuzz[@]}" build "${build[@]}"
for target in "${targets[@]}"; do
  work=fuzz/corpus-work/$target
  mkdir -p "$work" "fuzz/artifacts/$target"
  if [ "$merge" = 1 ]; then
    echo "fuzz: merging $work into fuzz/corpus/$target"
    "${fuzz[@]}" run "${build[@]}" "$target" -- -merge=1 "fuzz/corpus/$target" "$work"
    continue
  fi
  echo "fuzz: $target (${budget[*]})"
  start=$(date +%s)
  log=fuzz/artifacts/$target/last-run.log
  status=0
  "${fuzz[@]}" run "${build[@]}" "$target" "$work" "fuzz/corpus/$target" -- \
    "${budget[@]}" "${limits[@]}" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(#[0-9]+\s+DONE|stat::number_of_executed_units|stat::peak_rss_mb)|panicked|ERROR|SUMMARY|Test unit written' "$log" || true
  if [ "$status" != 0 ]; then
    echo "fuzz: $target FAILED after $(( $(date +%s) - start )) s; see $log" >&2
    exit 1
  fi
  echo "fuzz: $target passed in $(( $(date +%s) - start )) s"
done
