#!/usr/bin/env python3
"""Read a fleetlog topic with Confluent's own Python client, as a third party would.

Consumes every partition of --topic from the beginning with confluent-kafka, decodes each
value with confluent_kafka.schema_registry.avro.AvroDeserializer (the writer schema is
fetched from --registry by the id in the Confluent wire-format header), and prints one JSON
array on stdout: [{"topic", "partition", "offset", "key", "schema_id", "headers", "value"}].
Bytes print as arrays of integers and UUIDs as text, as serde_json prints fleetlog's Rust
types. Exits 1 when fewer than --count records arrive within --timeout seconds.
"""

import argparse
import datetime
import json
import sys
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def to_json(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    raise TypeError(f"cannot print {type(value).__name__} as JSON")


def text(raw):
    return None if raw is None else raw.decode("utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--brokers", required=True, help="bootstrap servers, host:port[,...]")
    parser.add_argument("--registry", required=True, help="schema registry base URL")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=1, help="records to wait for")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")
    args = parser.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": f"confluent-client-{uuid.uuid4().hex}",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
    })
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": args.registry}))
    deadline = time.monotonic() + args.timeout

    metadata = consumer.list_topics(args.topic, timeout=args.timeout)
    topic = metadata.topics[args.topic]
    if topic.error is not None:
        sys.exit(f"topic {args.topic}: {topic.error}")
    consumer.assign([
        TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in sorted(topic.partitions)
    ])

    records = []
    try:
        while len(records) < args.count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                sys.exit(f"consume failed: {msg.error()}")
            headers = msg.headers() or []
            context = SerializationContext(msg.topic(), MessageField.VALUE, headers)
            payload = msg.value()
            records.append({
                "topic": msg.topic(),
                "partition": msg.partition(),
                "offset": msg.offset(),
                "key": text(msg.key()),
                "schema_id": int.from_bytes(payload[1:5], "big"),
                "headers": {key: text(value) for key, value in headers},
                "value": deserialize(payload, context),
            })
    finally:
        consumer.close()

    print(json.dumps(records, default=to_json))
    if len(records) < args.count:
        print(f"only {len(records)} of {args.count} records within {args.timeout}s",
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
