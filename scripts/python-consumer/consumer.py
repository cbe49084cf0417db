#!/usr/bin/env python3
"""The consumer a user writes in an afternoon, as `make bench`'s peer.

confluent-kafka + psycopg2, one connection, 1,000-message batches, the same three-table SQL
as streamsre (ledger, reviews, per-key aggregate in one transaction), offsets committed after
the database commit. Stops once --count events are in the ledger, then prints one JSON line
with its rate over first fetch → last commit, like `streamsre consume --summary-format json`.

    consumer.py --brokers HOST:PORT --topic T --group G --database-url URL --count N
"""
import argparse
import json
import time

import psycopg2
import psycopg2.extras
from confluent_kafka import Consumer

APPLY = """
WITH input(event_id, review_id, user_key, rating, text, created_at,
           src_topic, src_partition, src_offset) AS (VALUES %s),
fresh AS (
    INSERT INTO processed_events (event_id, processed_at, source_topic, source_partition, source_offset)
    SELECT event_id::uuid, now(), src_topic, src_partition, src_offset FROM input ORDER BY 1
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
),
applied AS (
    INSERT INTO reviews (review_id, event_id, user_key, rating, text, created_at)
    SELECT i.review_id, i.event_id::uuid, i.user_key, i.rating, i.text, i.created_at::timestamptz
    FROM input i JOIN fresh f ON f.event_id = i.event_id::uuid
    RETURNING user_key, rating
),
stats AS (
    INSERT INTO user_stats (user_key, review_count, rating_sum, updated_at)
    SELECT user_key, count(*), sum(rating), now() FROM applied GROUP BY user_key ORDER BY user_key
    ON CONFLICT (user_key) DO UPDATE
        SET review_count = user_stats.review_count + EXCLUDED.review_count,
            rating_sum   = user_stats.rating_sum + EXCLUDED.rating_sum,
            updated_at   = EXCLUDED.updated_at
    RETURNING 1
)
SELECT count(*) FROM fresh
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--brokers", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--database-url", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--batch-size", type=int, default=1000)
    args = p.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    consumer.subscribe([args.topic])
    db = psycopg2.connect(args.database_url)
    applied = 0
    first = last = None
    while applied < args.count:
        messages = consumer.consume(args.batch_size, timeout=1.0)
        if not messages:
            continue
        first = first or time.monotonic()
        rows = []
        for m in messages:
            if m.error():
                raise SystemExit(f"kafka: {m.error()}")
            e = json.loads(m.value())
            rows.append((e["event_id"], e["payload"]["review_id"], e["key"], e["payload"]["rating"],
                         e["payload"]["text"], e["ts"], m.topic(), m.partition(), m.offset()))
        with db.cursor() as cur:
            psycopg2.extras.execute_values(cur, APPLY, rows, page_size=len(rows))
            applied += cur.fetchone()[0]
        db.commit()
        consumer.commit(asynchronous=False)
        last = time.monotonic()
    consumer.close()
    active = last - first
    print(json.dumps({"applied": applied, "active_seconds": active,
                      "throughput_eps": applied / active}, separators=(",", ":")))


if __name__ == "__main__":
    main()
