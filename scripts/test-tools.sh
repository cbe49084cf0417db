#!/usr/bin/env bash
# Installs the external tools the test suite runs, when missing (Debian packages):
#   promtool (package prometheus): checks the /metrics output, the alert rules and their tests.
#   chromium + chromedriver (packages chromium, chromium-driver): the live dashboard page test.
#   docker-compose (package docker-compose): validates deploy/compose without a Docker engine.
# kubernetes-validate (PyPI): the Kubernetes manifests against the API's JSON schemas.
# Python's confluent-kafka with fastavro (PyPI), the Avro tests' producer;
# and both Tansu builds (scripts/install-tansu.sh): tests start brokers of their own, even when
# KAFKA_BROKERS points the shared tests at another broker.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-tools: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The Avro tests produce with the real Python confluent-kafka AvroSerializer (PyPI).
if ! python3 -c 'import confluent_kafka.schema_registry.avro, fastavro, httpx, attrs, cachetools, authlib' 2>/dev/null; then
  echo "test-tools: installing confluent-kafka and its Avro/registry dependencies (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check \
    confluent-kafka fastavro httpx attrs cachetools authlib
fi
if ! command -v kubernetes-validate >/dev/null 2>&1 || ! python3 -c 'import yaml' 2>/dev/null; then
  echo "test-tools: installing kubernetes-validate (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate pyyaml
fi
scripts/install-tansu.sh
