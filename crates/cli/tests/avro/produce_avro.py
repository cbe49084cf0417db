"""Produces review events as Confluent-framed Avro with the real confluent-kafka
AvroSerializer, which registers the writer schema with the registry at --registry.

Writer schemas (--schema):
  v1     event_id as a uuid logical string, ts as timestamp-millis, plus a field the event
         model does not know (added with a default): resolvable.
  v2     event_id as a plain string, ts as an RFC 3339 string, no extra field: resolvable.
  micros ts as timestamp-micros: resolvable.
  broken the payload record left out: the review mapping finds no rating (DLQ).

Prints "produced N" when every message is acknowledged.
"""
import argparse
import datetime
import uuid

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

PAYLOAD = {
    "name": "payload",
    "type": {
        "type": "record",
        "name": "ReviewPayload",
        "fields": [
            {"name": "review_id", "type": "string"},
            {"name": "rating", "type": "int"},
            {"name": "text", "type": "string"},
        ],
    },
}


def schema(variant):
    uuid_type = {"type": "string", "logicalType": "uuid"} if variant != "v2" else "string"
    ts_type = {
        "v1": {"type": "long", "logicalType": "timestamp-millis"},
        "broken": {"type": "long", "logicalType": "timestamp-millis"},
        "micros": {"type": "long", "logicalType": "timestamp-micros"},
        "v2": "string",
    }[variant]
    fields = [
        {"name": "event_id", "type": uuid_type},
        {"name": "event_type", "type": "string"},
        {"name": "key", "type": "string"},
        {"name": "ts", "type": ts_type},
        {"name": "schema_version", "type": "int"},
    ]
    if variant != "broken":
        fields.append(PAYLOAD)
    if variant == "v1":
        fields.append({"name": "channel", "type": "string", "default": "web"})
    import json

    return json.dumps({"type": "record", "name": "ReviewEvent", "namespace": "streamsre", "fields": fields})


def record(variant, i, seed):
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=i)
    event_id = uuid.uuid5(uuid.NAMESPACE_OID, f"avro-{seed}-{i}")
    r = {
        "event_id": str(event_id),
        "event_type": "review_created",
        "key": f"user:{i % 7}",
        "ts": now if variant != "v2" else now.isoformat().replace("+00:00", "Z"),
        "schema_version": 1,
    }
    if variant != "broken":
        r["payload"] = {"review_id": f"avro-{seed}-{i}", "rating": 1 + i % 5, "text": "avro"}
    if variant == "v1":
        r["channel"] = "app"
    return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--registry", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--schema", default="v1")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    registry = SchemaRegistryClient({"url": args.registry})
    serializer = AvroSerializer(registry, schema(args.schema))
    producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all"})
    failures = []

    def on_delivery(err, _msg):
        if err is not None:
            failures.append(str(err))

    for i in range(args.count):
        value = serializer(record(args.schema, i, args.seed), SerializationContext(args.topic, MessageField.VALUE))
        producer.produce(args.topic, key=f"user:{i % 7}", value=value, on_delivery=on_delivery)
        producer.poll(0)
    remaining = producer.flush(60)
    if remaining or failures:
        raise SystemExit(f"{remaining} undelivered, failures: {failures[:3]}")
    print(f"produced {args.count}")


if __name__ == "__main__":
    main()
