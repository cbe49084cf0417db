"""Does a broker do what a transactional DLQ needs (KIP-98/KIP-447 through librdkafka)?

Consumes 10 records, then with a transactional producer: an aborted transaction, a committed
one carrying 5 records and the consumer's offsets (send_offsets_to_transaction), what
read_committed and read_uncommitted readers then see, and whether a second producer with the
same transactional.id fences the first. Prints `ok`/`FAIL` per step and stops at the first
failure. Needs `pip install confluent-kafka`.

    python3 tools/tansu/probes/transactions.py 127.0.0.1:9092
"""
import sys, time, uuid
from confluent_kafka import Producer, Consumer, TopicPartition, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

b = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"
t_in, t_out, group = f"txin-{uuid.uuid4().hex[:6]}", f"txout-{uuid.uuid4().hex[:6]}", f"txg-{uuid.uuid4().hex[:6]}"
a = AdminClient({"bootstrap.servers": b})
for f in a.create_topics([NewTopic(t_in, 1, 1), NewTopic(t_out, 1, 1)]).values():
    f.result()
p = Producer({"bootstrap.servers": b})
for i in range(10):
    p.produce(t_in, f"m{i}".encode())
p.flush(10)
c = Consumer({"bootstrap.servers": b, "group.id": group, "enable.auto.commit": False,
              "auto.offset.reset": "earliest", "isolation.level": "read_committed",
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000})
c.subscribe([t_in])
msgs = []
deadline = time.time() + 60
while len(msgs) < 10 and time.time() < deadline:
    m = c.poll(0.5)
    if m and not m.error():
        msgs.append(m)
print("consumed", len(msgs))
tp = Producer({"bootstrap.servers": b, "transactional.id": f"probe-{group}", "enable.idempotence": True})
def step(name, f):
    t0 = time.time()
    try:
        r = f(); print(f"ok   {name} ({time.time()-t0:.2f}s)"); return r
    except KafkaException as e:
        print(f"FAIL {name}: {e}"); sys.exit(1)
step("init_transactions", lambda: tp.init_transactions(30))
# transaction 1: aborted
step("begin_transaction", tp.begin_transaction)
tp.produce(t_out, b"aborted")
step("abort_transaction", lambda: tp.abort_transaction(30))
# transaction 2: committed, with offsets
step("begin_transaction", tp.begin_transaction)
for m in msgs[:5]:
    tp.produce(t_out, b"committed-" + m.value())
offs = [TopicPartition(t_in, 0, msgs[4].offset() + 1)]
step("send_offsets_to_transaction", lambda: tp.send_offsets_to_transaction(offs, c.consumer_group_metadata(), 30))
step("commit_transaction", lambda: tp.commit_transaction(30))
print("committed offset:", c.committed([TopicPartition(t_in, 0)], 10))
def read_back(isolation: str, seconds: float) -> list:
    """Everything in t_out as a reader with `isolation` sees it."""
    reader = Consumer({"bootstrap.servers": b, "group.id": f"{group}-{isolation}",
                       "auto.offset.reset": "earliest", "isolation.level": isolation})
    reader.assign([TopicPartition(t_out, 0, 0)])
    seen, deadline = [], time.time() + seconds
    while time.time() < deadline:
        m = reader.poll(0.5)
        if m and not m.error():
            seen.append(m.value())
    return seen
print("read_committed sees", read_back("read_committed", 15))
print("read_uncommitted sees", read_back("read_uncommitted", 10))
# zombie fencing: a second producer with the same id fences the first
tp2 = Producer({"bootstrap.servers": b, "transactional.id": f"probe-{group}"})
step("init_transactions (second instance)", lambda: tp2.init_transactions(30))
try:
    tp.begin_transaction(); tp.produce(t_out, b"zombie"); tp.commit_transaction(10)
    print("FAIL the fenced producer committed")
except KafkaException as e:
    print("ok   the old producer is fenced:", e)
