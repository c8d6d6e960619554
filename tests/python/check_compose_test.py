"""check_compose.py can fail: deliberately broken copies of docker-compose.yml are refused,
each for the reason it was broken, and the real file passes.

Usage: check_compose_test.py <docker-compose.yml> <fleetlog binary>
Prints one line per broken copy and exits non-zero if one was not refused (or refused
for another reason).
"""

import json
import os
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_compose as cc  # noqa: E402


def services_running(compose, *args):
    """The services whose command is `fleetlog <args>`."""
    return [n for n, s in compose["services"].items()
            if s.get("image") == cc.FLEETLOG_IMAGE and cc.as_list(s.get("command")) == list(args)]


def env(compose, service):
    return compose["services"][service]["environment"]


def duplicate_decoder_instance(c):
    first, second = services_running(c, "decoder")[:2]
    env(c, second)["FLEETLOG_KAFKA__INSTANCE_ID"] = env(c, first)["FLEETLOG_KAFKA__INSTANCE_ID"]


def duplicate_gateway_id(c):
    first, second = services_running(c, "gateway")[:2]
    env(c, second)["FLEETLOG_GATEWAY__GATEWAY_ID"] = env(c, first)["FLEETLOG_GATEWAY__GATEWAY_ID"]


def voter_names_missing_node(c):
    for name in ("kafka-1", "kafka-2", "kafka-3"):
        voters = env(c, name)["KAFKA_CONTROLLER_QUORUM_VOTERS"]
        env(c, name)["KAFKA_CONTROLLER_QUORUM_VOTERS"] = voters.replace("3@kafka-3", "3@kafka-4")


def voters_differ_between_nodes(c):
    env(c, "kafka-2")["KAFKA_CONTROLLER_QUORUM_VOTERS"] = "1@kafka-1:9093,2@kafka-2:9093"


def duplicate_node_id(c):
    env(c, "kafka-3")["KAFKA_NODE_ID"] = env(c, "kafka-1")["KAFKA_NODE_ID"]


def two_kafka_nodes(c):
    del c["services"]["kafka-3"]
    for service in c["services"].values():
        service.get("depends_on", {}).pop("kafka-3", None)


def replication_above_brokers(c):
    for name in services_running(c, "decoder"):
        env(c, name)["FLEETLOG_KAFKA__REPLICATION_FACTOR"] = "4"


def broker_host_not_a_service(c):
    env(c, "api")["KAFKA_BROKERS"] = "kafka-1:9092,kafka-2:9092,redpanda:9092"


def registry_host_not_a_service(c):
    env(c, "api")["SCHEMA_REGISTRY_URL"] = "http://redpanda:8081"


def database_host_not_a_service(c):
    env(c, "api")["DATABASE_URL"] = "postgres://fleetlog:fleetlog@db:5432/fleetlog"


def one_rides_projector(c):
    del c["services"][services_running(c, "projector", "rides")[1]]


def unknown_projection(c):
    c["services"][services_running(c, "projector", "rides")[1]]["command"] = ["projector", "ride"]


def unknown_subcommand(c):
    c["services"]["api"]["command"] = ["serve-api"]


def unknown_flag(c):
    c["services"]["api"]["command"] = ["api", "--port", "8080"]


def unknown_setting(c):
    env(c, "api")["FLEETLOG_API__NO_SUCH_SETTING"] = "1"


def postgres_published(c):
    c["services"]["postgres"]["ports"] = ["5432:5432"]


def kafka_version_not_pinned(c):
    for name in ("kafka-1", "kafka-2", "kafka-3"):
        c["services"][name]["image"] = "apache/kafka:3.9.0"


# (what is broken, how, a phrase the refusal must contain)
BROKEN = [
    ("duplicated decoder instance id", duplicate_decoder_instance, "decoder transactional.id"),
    ("duplicated gateway id", duplicate_gateway_id, "gateway id"),
    ("a quorum voter naming a missing node", voter_names_missing_node, "names 'kafka-4'"),
    ("nodes naming different voters", voters_differ_between_nodes, "different quorum voters"),
    ("duplicated Kafka node id", duplicate_node_id, "KAFKA_NODE_ID"),
    ("two Kafka nodes", two_kafka_nodes, "expected 3 Kafka nodes"),
    ("replication factor above the brokers", replication_above_brokers,
     "REPLICATION_FACTOR=4 with 3 brokers"),
    ("KAFKA_BROKERS naming no service", broker_host_not_a_service, "'redpanda', which is not"),
    ("SCHEMA_REGISTRY_URL naming no service", registry_host_not_a_service,
     "'redpanda', which is not"),
    ("DATABASE_URL naming no service", database_host_not_a_service, "'db', which is not"),
    ("one instance of a projector", one_rides_projector, "at least two"),
    ("an unknown projection", unknown_projection, "the projections are"),
    ("an unknown subcommand", unknown_subcommand, "not a command the binary has"),
    ("an unknown flag", unknown_flag, "not a command the binary has"),
    ("an unknown FLEETLOG_* setting", unknown_setting, "rejects its environment"),
    ("PostgreSQL published", postgres_published, "postgres publishes port 5432"),
    ("a Kafka image other than the pinned version", kafka_version_not_pinned, "pinned Kafka"),
]


def main():
    compose_path, binary_path = sys.argv[1], sys.argv[2]
    with open(compose_path) as f:
        original = yaml.safe_load(f)
    root = os.path.dirname(os.path.abspath(compose_path))
    binary = cc.Binary(binary_path)
    cc.check(original, binary, root)  # the real file passes
    failures = 0
    for what, breaking, expected in BROKEN:
        # JSON round trip: a copy sharing nothing (YAML anchors load as shared objects).
        broken = json.loads(json.dumps(original))
        breaking(broken)
        try:
            cc.check(broken, binary, root)
            print(f"NOT CAUGHT: {what}")
            failures += 1
        except cc.CheckFailed as err:
            if expected not in str(err):
                print(f"CAUGHT FOR ANOTHER REASON: {what}: {err} (expected {expected!r})")
                failures += 1
            else:
                print(f"caught: {what}: {err}")
    # The command line too: a broken file on disk makes the checker exit non-zero.
    broken = json.loads(json.dumps(original))
    duplicate_decoder_instance(broken)
    with tempfile.NamedTemporaryFile("w", prefix=".check-compose-", suffix=".yml", dir=root, delete=False) as f:
        yaml.safe_dump(broken, f)
    try:
        result = subprocess.run(
            [sys.executable, os.path.join(os.path.dirname(__file__), "check_compose.py"),
             f.name, binary_path], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    if result.returncode == 0 or "decoder transactional.id" not in result.stderr:
        print(f"NOT CAUGHT on the command line: exit {result.returncode}, {result.stderr}")
        failures += 1
    else:
        print(f"caught on the command line: exit {result.returncode}")
    if failures:
        sys.exit(f"{failures} broken copies were not refused as expected")


if __name__ == "__main__":
    main()
