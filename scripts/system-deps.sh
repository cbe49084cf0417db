#!/usr/bin/env bash
# Debian packages the build links against, installed when missing:
#   libssl-dev + pkg-config: librdkafka's TLS and SASL/SCRAM (rdkafka's `ssl` feature links the
#   system OpenSSL).
set -euo pipefail
if pkg-config --exists openssl 2>/dev/null; then
  exit 0
fi
echo "system-deps: installing libssl-dev pkg-config (librdkafka's TLS)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq libssl-dev pkg-config >/dev/null
