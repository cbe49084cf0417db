#!/usr/bin/env bash
# Installs the external tools the test suite runs, when missing (Debian packages):
#   promtool (package prometheus): checks the /metrics output, the alert rules and their tests.
set -euo pipefail
if ! command -v promtool >/dev/null 2>&1; then
  echo "test-tools: installing prometheus (for promtool)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq prometheus >/dev/null
fi
