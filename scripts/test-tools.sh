#!/usr/bin/env bash
# Installs the external tools the test suite runs, when missing (Debian packages):
#   promtool (package prometheus): checks the /metrics output, the alert rules and their tests.
#   chromium + chromedriver (packages chromium, chromium-driver): the live dashboard page test.
# and both Tansu builds (scripts/install-tansu.sh): tests start brokers of their own, even when
# KAFKA_BROKERS points the shared tests at another broker.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-tools: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
scripts/install-tansu.sh
