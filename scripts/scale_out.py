#!/usr/bin/env python3
"""Scale-out, measured: 1, 2 and 4 consumers in one group on a 12-partition topic
(`make scale-out`; the stack from `make up` must be running). Writes docs/scale-out.md.

Two measurements, each with a Tansu broker of its own (fresh sqlite storage) and a topic,
group and database of its own:
- **Drain.** COUNT events are produced first; then N consumers start together and drain them
  into Postgres. Throughput is COUNT over the time from the first applied event to the group's
  lag reaching 0. The database must then hold each event exactly once.
- **Joins.** A steady load runs while members join one at a time (1 → 2 → 4). The summed
  `events_processed_total` of the running members is sampled every 100 ms; a join's pause is
  the longest stretch, from the join until the group is consuming again, in which it did not
  move.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drill import GROUP_OPTS, ROOT, StackRun, free_port, http, metric  # noqa: E402


class Run(StackRun):
    def __init__(self, args, label):
        super().__init__(args, f"scale_{label}")
        self.members: list[tuple[subprocess.Popen, str]] = []
        self.env = {**os.environ, "KAFKA_BROKERS": self.brokers}

    def __enter__(self):
        self.workdir = Path(tempfile.mkdtemp(prefix="scale-out-"))
        self.own_broker(self.workdir)
        self.env["KAFKA_BROKERS"] = self.brokers
        for topic, parts in ((self.name, 12), (f"{self.name}.dlq", 1)):
            subprocess.run([self.bin, "topic", "create", topic, "--partitions", str(parts)],
                           check=True, capture_output=True, env=self.env)
        self.psql(self.admin_url, f"CREATE DATABASE {self.name}")
        return self

    def __exit__(self, *exc):
        for p, _ in self.members:
            if p.poll() is None:
                p.terminate()
                p.wait(60)
        self.psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.stop_broker()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def produce(self, *args) -> subprocess.Popen:
        return subprocess.Popen([self.bin, "produce", "--topic", self.name, "--seed", "5", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=self.env)

    def join(self) -> str:
        addr = f"127.0.0.1:{free_port()}"
        log = open(self.workdir / f"member-{len(self.members)}.log", "w")
        p = subprocess.Popen(
            [self.bin, "consume", "--topic", self.name, "--dlq-topic", f"{self.name}.dlq",
             "--group", self.name, "--metrics-addr", addr, "--debug-addr", "off",
             "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=log,
            env={**self.env, "DATABASE_URL": self.db_url, "KAFKA_OPTS": GROUP_OPTS})
        self.members.append((p, addr))
        return addr

    def handovers(self) -> list[tuple[float, str, list[int]]]:
        """Every member's `partitions revoked` / `partitions assigned` log lines, in time order:
        (time, "revoked" | "assigned", partitions)."""
        events = []
        for i in range(len(self.members)):
            for line in (self.workdir / f"member-{i}.log").read_text().splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                kind = {"partitions revoked": "revoked", "partitions assigned": "assigned"}.get(rec.get("message"))
                if kind:
                    t = datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00")).timestamp()
                    events.append((t, kind, json.loads(rec["parts"])))
        return sorted(events)

    def processed(self) -> float:
        total = 0.0
        for _, addr in self.members:
            _, body = http(f"http://{addr}/metrics", timeout=1)
            total += metric(body, "events_processed_total", 'result="success"') or 0.0
        return total

    def lag(self) -> int | None:
        r = subprocess.run([self.bin, "lag", "--group", self.name, "--topic", self.name, "--json"],
                           capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)["total_lag"]

    def exact(self, produced: int) -> tuple[int, int]:
        rows = int(self.psql(self.db_url, "SELECT count(*) FROM reviews"))
        distinct = int(self.psql(self.db_url, "SELECT count(DISTINCT event_id) FROM reviews"))
        if rows != produced or distinct != produced:
            sys.exit(f"scale-out: {self.name}: {rows} rows, {distinct} distinct, {produced} produced")
        return rows, distinct


def drain(args, n: int) -> dict:
    with Run(args, f"drain{n}") as run:
        p = run.produce("--count", str(args.count), "--rate", "0")
        out, _ = p.communicate(timeout=600)
        assert f"acked={args.count} failed=0" in out, out
        for _ in range(n):
            run.join()
        first = None
        deadline = time.time() + 900
        while True:
            if first is None and run.processed() > 0:
                first = time.time()
            if first is not None and run.lag() == 0:
                break
            if time.time() > deadline:
                sys.exit(f"scale-out: {n} consumers did not drain {args.count} events in 15 minutes")
            time.sleep(0.2)
        seconds = time.time() - first
        run.exact(args.count)
        return {"n": n, "seconds": seconds, "eps": args.count / seconds}


def joins(args) -> list[dict]:
    out = []
    with Run(args, "joins") as run:
        load = run.produce("--rate", str(args.rate), "--duration", f"{args.join_load}s")
        run.join()
        time.sleep(args.settle)
        for n in (2, 3, 4):
            run.join()
            joined = time.time()
            last_value, last_move, longest = run.processed(), joined, 0.0
            while time.time() - joined < args.settle:
                time.sleep(0.1)
                value = run.processed()
                now = time.time()
                if value > last_value:
                    longest = max(longest, now - last_move)
                    last_value, last_move = value, now
            out.append({"members": n, "pause": longest, "joined": joined})
        sent, _ = load.communicate(timeout=args.join_load + 300)
        produced = int(re.search(r"acked=(\d+) failed=0", sent).group(1))
        deadline = time.time() + 600
        while run.lag() != 0:
            if time.time() > deadline:
                sys.exit("scale-out: the join run did not drain in 10 minutes")
            time.sleep(0.5)
        run.exact(produced)
        events = run.handovers()
        for j in out:
            # Each partition revoked after this join waits until some member is assigned it.
            window = [e for e in events if j["joined"] <= e[0] < j["joined"] + args.settle]
            gaps = []
            for t, kind, parts in window:
                if kind != "revoked":
                    continue
                for p in parts:
                    nxt = next((u for u, k, ps in window if u >= t and k == "assigned" and p in ps), None)
                    if nxt is not None:
                        gaps.append(nxt - t)
            j["handover"] = max(gaps) if gaps else None
        out.append({"exact": produced})
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default="target/release/streamsre")
    p.add_argument("--count", type=int, default=60000)
    p.add_argument("--rate", type=int, default=1000, help="joins: events/s of steady load")
    p.add_argument("--join-load", type=int, default=120, help="joins: seconds of load")
    p.add_argument("--settle", type=int, default=25, help="joins: seconds between joins")
    args = p.parse_args()
    results = [drain(args, n) for n in (1, 2, 4)]
    pauses = joins(args)
    base = results[0]["eps"]
    lines = [
        "# Scale-out: 1, 2 and 4 consumers in one group",
        "",
        f"Generated by `scripts/scale_out.py` (`make scale-out`) on {datetime.now(timezone.utc):%Y-%m-%d}, "
        f"binary `{args.bin}`, on this {os.cpu_count()}-core machine, each run on a Tansu broker of "
        "its own (sqlite storage) and the stack's PostgreSQL 15. Topic of 12 partitions; sink: PostgreSQL (each member its own pool).",
        "",
        f"## Drain of {args.count} events",
        "",
        "| consumers | seconds | events/s | of 1 consumer | exactly once |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r['n']} | {r['seconds']:.1f} | {r['eps']:.0f} | {r['eps'] / base:.2f} | yes |" for r in results]
    exact = pauses.pop()["exact"]
    lines += [
        "",
        f"## Joins under {args.rate} events/s",
        "",
        "| join | partitions idle in the handover (revoked → assigned, longest) | longest stop of the whole group's processing |",
        "|---|---|---|",
    ]
    for x in pauses:
        handover = "no rebalance seen" if x["handover"] is None else f"{x['handover']:.1f} s"
        lines.append(f"| {x['members'] - 1} → {x['members']} members | {handover} | {x['pause']:.1f} s |")
    lines += ["", f"All {exact} events of the join run were applied exactly once.", ""]
    (ROOT / "docs/scale-out.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
