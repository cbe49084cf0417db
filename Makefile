# streamsre: the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: build up down demo test lint check-deploy compose-up compose-down drill-postgres-down drill-poison-storm scale-out bench sweep profile lab fuzz bench-ab clean-stack

build: ## Release binary
	scripts/system-deps.sh
	$(CARGO) build --release --bin streamsre

up: build ## Start (or reuse) Postgres and a Tansu broker; create topics; migrate
	scripts/up.sh target/release/streamsre

down: ## Stop what `make up` started
	scripts/down.sh

demo: up ## Produce 50k events and run them through the consumer into Postgres
	scripts/demo.sh target/release/streamsre

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings

check-deploy: ## Prometheus config and rules' unit tests; compose file, image and Kubernetes manifests against each other and the binary
	promtool check config deploy/prometheus/prometheus.yml
	# The compose variant's alerts.yml is mounted beside it in the container (deploy/prometheus/alerts.yml, checked above).
	promtool check config --syntax-only deploy/compose/prometheus.yml
	promtool test rules deploy/prometheus/tests/alerts_test.yml
	$(CARGO) build --bin streamsre
	scripts/check-deploy.py target/debug/streamsre --self-test

drill-postgres-down: up ## Drill: PostgreSQL down for 150 s under load; writes docs/postmortems/data/postgres-down.{md,csv}
	$(CARGO) build --bin streamsre
	scripts/drill.py postgres-down

drill-poison-storm: up ## Drill: 2,000 poison messages in 4 bursts under load; writes docs/postmortems/data/poison-storm.{md,csv}
	$(CARGO) build --bin streamsre
	scripts/drill.py poison-storm

scale-out: up ## 1, 2 and 4 consumers in one group on 12 partitions: drain throughput, join pauses, exact counts; writes docs/scale-out.md
	$(CARGO) build --release --bin streamsre
	scripts/scale_out.py

compose-up: ## The whole stack in Docker: 3 Kafka brokers, Postgres, Prometheus, Grafana, 2 consumers, load, the lab's sink
	docker compose -p streamsre -f deploy/compose/docker-compose.yml up -d --build --wait

compose-down: ## Stop the compose stack and delete its volumes
	docker compose -p streamsre -f deploy/compose/docker-compose.yml down -v

test: ## Everything: stack, fmt, clippy, deploy checks, unit + integration + end-to-end tests
	scripts/system-deps.sh
	scripts/test-tools.sh
	$(CARGO) build --bin streamsre
	scripts/up.sh target/debug/streamsre
	$(MAKE) lint
	$(MAKE) check-deploy
	set -a && source .stack/env && set +a && $(CARGO) test --workspace
	$(CARGO) test --manifest-path fuzz/Cargo.toml

bench: up ## Micro-benchmarks; streamsre (defaults, tuned) vs a Python consumer, the per-event baseline and the Postgres ceiling
	$(CARGO) build --release -p streamsre --example pg_ceiling
	scripts/bench.sh target/release/streamsre

bench-ab: up ## This tree's defaults against BASE (a git revision, built in a worktree), alternating, in one invocation
	@[ -n "$(BASE)" ] || { echo "usage: make bench-ab BASE=<git revision> [ROUNDS=3]"; exit 2; }
	scripts/bench-ab.sh "$$(scripts/build-rev.sh $(BASE))" target/release/streamsre $(ROUNDS)

sweep: up ## Throughput of consume over a grid of flow/batching flags (Markdown table on stdout)
	scripts/sweep.sh target/release/streamsre

profile: up ## Where a default-flags run spends its time: CPU profile, pg_stat_statements, CPU split
	$(CARGO) build --release -p streamsre --example pprof_top
	scripts/profile.sh target/release/streamsre

lab: up ## The backpressure lab: every experiment at quick scale (about 30 min) into lab-results/<UTC time>/
	target/release/streamsre lab run all --scale quick

fuzz: ## Fuzz the decoders (JSON, Avro, mapping file, coercion) for FUZZ_SECONDS (60) each; see scripts/fuzz.sh
	scripts/fuzz.sh

clean-stack: down ## Stop and delete local broker data and logs
	rm -rf .stack
