#!/usr/bin/env python3
"""Chaos drills the postmortems in docs/postmortems are written from, scripted so their numbers
can be regenerated (`make drill-postgres-down`, `make drill-poison-storm`; the stack from
`make up` must be running).

Each drill runs real processes: a Tansu broker of its own (fresh sqlite storage), the stack's
PostgreSQL with a database of its own, a consumer, the load generator at a steady rate, and a real Prometheus that scrapes the
consumer every 5 s and evaluates deploy/prometheus/alerts.yml. The script samples /metrics and
/readyz every second, injects the fault, waits until the group has no lag, and then counts in
the database what was applied, duplicated and lost. It writes, under docs/postmortems/data/:
- `<drill>.md`: the parameters, the timeline (from the samples, the consumer's log and the
  alerts Prometheus raised) and the impact;
- `<drill>.csv`: the one-second samples.

    scripts/drill.py postgres-down [--down 150] [--rate 300]
    scripts/drill.py poison-storm [--poison 2000] [--rate 300]
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs/postmortems/data"
GROUP_OPTS = "session.timeout.ms=6000;heartbeat.interval.ms=1000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, timeout=3.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, OSError):
        return None, ""


def metric(text: str, name: str, labels: str = "") -> float | None:
    total, seen = 0.0, False
    for line in text.splitlines():
        if line.startswith(name) and (not labels or labels in line):
            rest = line[len(name):]
            if rest[:1] in (" ", "{"):
                total += float(line.rsplit(" ", 1)[1])
                seen = True
    return total if seen else None


def clock(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M:%S")


class StackRun:
    """A run against the local stack (`.stack/env`) under a name of its own: the topic, group
    and database are all called `<prefix>_<UTC time>`."""

    def __init__(self, args, prefix: str):
        self.args = args
        self.bin = str((ROOT / args.bin).resolve())
        env = dict(l.split("=", 1) for l in (ROOT / ".stack/env").read_text().split() if "=" in l)
        self.brokers = env["KAFKA_BROKERS"]
        self.broker = None
        self.name = f"{prefix}_{datetime.now(timezone.utc):%Y%m%d%H%M%S}"
        base = env["DATABASE_URL"].rsplit("/", 1)[0]
        self.admin_url, self.db_url = f"{base}/postgres", f"{base}/{self.name}"

    def psql(self, url: str, sql: str) -> str:
        return subprocess.run(["psql", url, "-tAc", sql], capture_output=True, text=True,
                              check=True).stdout.strip()

    def own_broker(self, workdir: Path):
        """A Tansu of the run's own, on sqlite in `workdir`: the stack's broker carries every
        earlier run's records, and Tansu's sqlite fetch slows down as its tables grow, which
        would make the numbers depend on the machine's history."""
        port = free_port()
        self.brokers = f"127.0.0.1:{port}"
        # Tansu resolves the sqlite path against its working directory.
        self.broker = subprocess.Popen(
            ["tansu", "broker", "--listener-url", f"tcp://{self.brokers}",
             "--advertised-listener-url", f"tcp://{self.brokers}",
             "--storage-engine", "sqlite://tansu.db"],
            cwd=workdir, stdout=subprocess.DEVNULL, stderr=open(workdir / "broker.log", "w"))
        deadline = time.time() + 60
        while subprocess.run([self.bin, "topic", "list", "--brokers", self.brokers],
                             capture_output=True).returncode != 0:
            if self.broker.poll() is not None or time.time() > deadline:
                sys.exit(f"drill: the run's own broker did not start; see {workdir / 'broker.log'}")
            time.sleep(0.5)

    def stop_broker(self):
        if self.broker and self.broker.poll() is None:
            self.broker.terminate()
            self.broker.wait(30)


class Drill(StackRun):
    def __init__(self, args):
        super().__init__(args, f"drill_{args.drill.replace('-', '_')}")
        self.topic, self.group = self.name, self.name
        self.tmp = Path(tempfile.mkdtemp(prefix="drill-"))
        self.metrics_addr = f"127.0.0.1:{free_port()}"
        self.samples: list[dict] = []
        self.events: list[tuple[float, str]] = []
        self.stop_sampling = threading.Event()
        self.procs: list[subprocess.Popen] = []

    def note(self, what: str, at: float | None = None):
        at = at or time.time()
        self.events.append((at, what))
        print(f"drill: {clock(at)} {what}", flush=True)

    def run_bin(self, *args, env=None):
        return subprocess.run([self.bin, *args], capture_output=True, text=True,
                              env={**os.environ, "KAFKA_BROKERS": self.brokers, **(env or {})})

    # --- setup ----------------------------------------------------------------------------

    def setup(self):
        self.own_broker(self.tmp)
        for topic, parts in ((self.topic, 12), (f"{self.topic}.dlq", 1)):
            r = self.run_bin("topic", "create", topic, "--partitions", str(parts))
            if r.returncode != 0:
                sys.exit(f"drill: cannot create topic {topic}: {r.stderr}")
        self.psql(self.admin_url, f"CREATE DATABASE {self.name}")
        port = free_port()
        config = self.tmp / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 5s, evaluation_interval: 5s}\n"
            f"rule_files: [{ROOT / 'deploy/prometheus/alerts.yml'}]\n"
            "scrape_configs:\n"
            "  - job_name: streamsre-consumer\n"
            f"    static_configs: [{{targets: ['{self.metrics_addr}']}}]\n")
        self.prom_url = f"http://127.0.0.1:{port}"
        self.procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=open(self.tmp / "prometheus.log", "w")))
        self.log_path = self.tmp / "consumer.log"
        self.consumer = subprocess.Popen(
            [self.bin, "consume", "--topic", self.topic, "--dlq-topic", f"{self.topic}.dlq",
             "--group", self.group, "--metrics-addr", self.metrics_addr, "--debug-addr", "off",
             "--log-format", "json", "--summary-format", "json"],
            stdout=open(self.tmp / "consumer.out", "w"), stderr=open(self.log_path, "w"),
            env={**os.environ, "KAFKA_BROKERS": self.brokers, "DATABASE_URL": self.db_url,
                 "KAFKA_OPTS": GROUP_OPTS})
        self.procs.append(self.consumer)
        deadline = time.time() + 90
        while http(f"http://{self.metrics_addr}/readyz")[0] != 200:
            if self.consumer.poll() is not None or time.time() > deadline:
                sys.exit(f"drill: the consumer never became ready; see {self.log_path}")
            time.sleep(0.5)
        threading.Thread(target=self.sample, daemon=True).start()

    def sample(self):
        while not self.stop_sampling.is_set():
            t = time.time()
            status, body = http(f"http://{self.metrics_addr}/metrics")
            ready, _ = http(f"http://{self.metrics_addr}/readyz")
            self.samples.append({
                "t": t, "ready": ready,
                "lag": metric(body, "consumer_lag_all_partitions"),
                "postgres_up": metric(body, "dependency_up", 'dependency="postgres"'),
                "success": metric(body, "events_processed_total", 'result="success"'),
                "dlq": metric(body, "events_processed_total", 'result="dlq"'),
                "breaker": metric(body, "sink_circuit_state"),
            })
            self.stop_sampling.wait(max(0.0, 1.0 - (time.time() - t)))

    # --- the run --------------------------------------------------------------------------

    def run(self):
        a = self.args
        self.setup()
        self.start = time.time()
        self.note(f"load starts: {a.rate} events/s for {a.duration}s into {self.topic} (12 partitions)")
        producer = subprocess.Popen(
            [self.bin, "produce", "--topic", self.topic, "--rate", str(a.rate),
             "--duration", f"{a.duration}s", "--seed", "11"],
            stdout=subprocess.PIPE, stderr=open(self.tmp / "producer.log", "w"), text=True,
            env={**os.environ, "KAFKA_BROKERS": self.brokers})
        self.procs.append(producer)
        time.sleep(a.fault_at)
        self.fault()
        out, _ = producer.communicate(timeout=a.duration + 300)
        m = re.search(r"acked=(\d+) failed=(\d+)", out)
        self.produced = int(m.group(1))
        self.note(f"load ends: {self.produced} events acknowledged by the broker")
        deadline = time.time() + 900
        while True:
            r = self.run_bin("lag", "--group", self.group, "--topic", self.topic, "--json")
            lag = json.loads(r.stdout)["total_lag"] if r.returncode == 0 else None
            if lag == 0:
                break
            if time.time() > deadline:
                sys.exit(f"drill: lag still {lag} 15 minutes after the load ended")
            time.sleep(1)
        self.drained = time.time()
        self.note("the group has committed everything produced (lag 0 on the broker)", self.drained)
        time.sleep(12)  # two more scrapes and rule evaluations
        self.alerts = self.query_alerts()
        self.stop_sampling.set()
        self.consumer.send_signal(signal.SIGTERM)
        self.consumer.wait(60)
        self.count()
        self.report()

    def fault(self):
        a = self.args
        if a.drill == "postgres-down":
            version = sorted(os.listdir("/etc/postgresql"), key=int)[-1]
            ctl = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
            began = time.time()
            subprocess.run([*ctl, "stop", "-m", "fast"], check=True)
            self.note(f"fault: PostgreSQL stopping (pg_ctlcluster {version} main stop -m fast; "
                      f"returned after {time.time() - began:.1f}s)", began)
            time.sleep(a.down)
            began = time.time()
            subprocess.run([*ctl, "start"], check=True)
            self.note(f"fault removed: PostgreSQL starting after {a.down}s down "
                      f"(pg_ctlcluster start returned after {time.time() - began:.1f}s)", began)
        else:
            per_burst = a.poison // a.bursts
            self.poison = per_burst * a.bursts
            for i in range(a.bursts):
                r = self.run_bin("chaos", "poison", "--topic", self.topic, "--count", str(per_burst))
                if r.returncode != 0:
                    sys.exit(f"drill: chaos poison failed: {r.stderr}")
                self.note(f"fault: {per_burst} poison messages published (burst {i + 1} of {a.bursts})")
                time.sleep(a.burst_every)

    def query_alerts(self) -> list[tuple[str, str, float, float]]:
        q = urllib.parse.urlencode({"query": "ALERTS", "start": self.start - 5,
                                    "end": time.time(), "step": "5"})
        status, body = http(f"{self.prom_url}/api/v1/query_range?{q}", timeout=10)
        if status != 200:
            sys.exit(f"drill: Prometheus did not answer ({status}); see {self.tmp / 'prometheus.log'}")
        out = []
        for series in json.loads(body)["data"]["result"]:
            times = [float(v[0]) for v in series["values"]]
            out.append((series["metric"]["alertname"], series["metric"]["alertstate"], min(times), max(times)))
        return sorted(out, key=lambda a: a[2])

    def count(self):
        q = lambda sql: int(self.psql(self.db_url, sql) or 0)
        self.applied = q("SELECT count(*) FROM reviews")
        self.distinct = q("SELECT count(DISTINCT event_id) FROM reviews")
        self.ledger = q("SELECT count(*) FROM processed_events")
        self.dlq_rows = q("SELECT count(*) FROM dlq_events")
        self.dlq_retries = q("SELECT coalesce(sum(retry_count), 0) FROM dlq_events")
        self.stats = q("SELECT coalesce(sum(review_count), 0) FROM user_stats")
        self.summary = (self.tmp / "consumer.out").read_text().strip().splitlines()[-1:]
        self.psql(self.admin_url, f"DROP DATABASE {self.name}")

    # --- the report -----------------------------------------------------------------------

    def transitions(self):
        """Timeline entries read off the one-second samples."""
        prev = {}
        for s in self.samples:
            for key, says in (
                ("ready", lambda v: f"/readyz answers {v}" if v else "/readyz does not answer"),
                ("postgres_up", lambda v: "dependency_up{dependency=\"postgres\"} = %d" % v if v is not None else None),
                ("breaker", lambda v: f"sink_circuit_state = {v:g} ({['closed', 'half-open', 'open'][int(v)] if v in (0, 1, 2) else '?'})" if v is not None else None),
            ):
                if key in prev and s[key] != prev[key]:
                    text = says(s[key])
                    if text:
                        self.events.append((s["t"], text))
                prev[key] = s[key]
        lags = [s for s in self.samples if s["lag"] is not None]
        if lags:
            peak = max(lags, key=lambda s: s["lag"])
            self.peak_lag = int(peak["lag"])
            self.events.append((peak["t"], f"lag peaks at {self.peak_lag} events (consumer_lag_all_partitions)"))

    def log_events(self):
        """The consumer's first error and warning lines after the fault, from its JSON log."""
        seen = set()
        for line in self.log_path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            level = rec.get("level", "")
            if level not in ("WARN", "ERROR"):
                continue
            msg = rec.get("fields", {}).get("message") or rec.get("message", "")
            key = (level, msg[:40])
            if key in seen or len(seen) >= 6:
                continue
            seen.add(key)
            ts = datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00")).timestamp()
            self.events.append((ts, f"consumer log {level}: {msg[:140]}"))

    def report(self):
        a = self.args
        self.transitions()
        self.log_events()
        for name, state, first, last in self.alerts:
            self.events.append((first, f"alert {name} {state} (until {clock(last)})"))
        self.events.sort()
        expected_dlq = getattr(self, "poison", 0)
        dead = [s["dlq"] for s in self.samples if s["dlq"] is not None]
        self.dlq_sent = int(dead[-1]) if dead else 0
        lost = self.produced - self.distinct
        duplicated = self.applied - self.distinct
        lines = [
            f"# Drill `{a.drill}`: data",
            "",
            f"Generated by `scripts/drill.py {a.drill}` on {datetime.now(timezone.utc):%Y-%m-%d} "
            f"(UTC times), binary `{a.bin}`. Parameters: rate {a.rate}/s for {a.duration}s, fault "
            f"at +{a.fault_at}s" + (f", PostgreSQL down {a.down}s" if a.drill == "postgres-down" else
                                   f", {expected_dlq} poison messages in {a.bursts} bursts {a.burst_every}s apart") + ".",
            "",
            "## Timeline",
            "",
        ]
        for t, what in self.events:
            lines.append(f"- {clock(t)} (+{t - self.start:5.0f}s) {what}")
        drain = self.drained - self.start
        lines += [
            "",
            "## Impact",
            "",
            "| measure | value |",
            "|---|---|",
            f"| events produced (acknowledged by the broker) | {self.produced} |",
            f"| rows in `reviews` | {self.applied} |",
            f"| distinct event ids in `reviews` | {self.distinct} |",
            f"| duplicated (rows − distinct ids) | {duplicated} |",
            f"| lost (produced − distinct ids applied) | {lost} |",
            f"| ledger rows / `user_stats` review total | {self.ledger} / {self.stats} |",
            f"| poison messages sent to the DLQ (`events_processed_total{{result=\"dlq\"}}`; expected {expected_dlq}) | {self.dlq_sent} |",
            f"| rows in `dlq_events` (one per distinct event id) / their `retry_count` total | {self.dlq_rows} / {self.dlq_retries} |",
            f"| peak lag (events waiting) | {getattr(self, 'peak_lag', 'n/a')} |",
            f"| from load start to lag 0 | {drain:.0f} s (the load itself lasts {a.duration} s) |",
            "",
            "Alerts Prometheus raised (evaluation every 5 s, rules from `deploy/prometheus/alerts.yml`):",
            "",
        ]
        lines += [f"- `{n}` {s} from {clock(f)} to {clock(l)}" for n, s, f, l in self.alerts] or ["- none"]
        lines += ["", f"Consumer summary: `{self.summary[0] if self.summary else 'none'}`", ""]
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{a.drill}.md").write_text("\n".join(lines))
        with open(OUT / f"{a.drill}.csv", "w") as f:
            f.write("time,ready,lag,postgres_up,success,dlq,breaker\n")
            for s in self.samples:
                f.write(",".join("" if s[k] is None else (clock(s[k]) if k == "t" else f"{s[k]:g}")
                                 for k in ("t", "ready", "lag", "postgres_up", "success", "dlq", "breaker")) + "\n")
        print(f"drill: wrote {OUT / (a.drill + '.md')} and .csv")
        if lost or duplicated or self.dlq_sent != expected_dlq or self.applied != self.stats:
            sys.exit(f"drill: effects are not exact: lost {lost}, duplicated {duplicated}, "
                     f"sent to the DLQ {self.dlq_sent} (expected {expected_dlq})")

    def cleanup(self):
        self.stop_sampling.set()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.stop_broker()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("drill", choices=["postgres-down", "poison-storm"])
    p.add_argument("--bin", default="target/debug/streamsre")
    p.add_argument("--rate", type=int, default=300, help="events/s of valid load")
    p.add_argument("--duration", type=int, default=240, help="seconds of load")
    p.add_argument("--fault-at", type=int, default=30, help="seconds into the load")
    p.add_argument("--down", type=int, default=150, help="postgres-down: seconds PostgreSQL stays down")
    p.add_argument("--poison", type=int, default=2000, help="poison-storm: poison messages in all")
    p.add_argument("--bursts", type=int, default=4)
    p.add_argument("--burst-every", type=int, default=15)
    drill = Drill(p.parse_args())
    try:
        drill.run()
    finally:
        drill.cleanup()


if __name__ == "__main__":
    main()
