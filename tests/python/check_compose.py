"""Check docker-compose.yml against the code and against itself.

Usage: check_compose.py <docker-compose.yml> <fleetlog binary>
Prints one line per check and exits non-zero on the first inconsistency.

What it checks:
- every fleetlog service runs a real subcommand with real flags (`fleetlog <args> --help`
  must succeed), a projector a projection the binary has, and the binary accepts the
  service's environment (`fleetlog config`; unknown FLEETLOG_* keys fail). The settings
  `fleetlog config` prints are what the checks below read, so defaults count too;
- the Kafka cluster: 3 nodes of the image version scripts/kafka/pom.xml pins, unique node
  ids, each broker and controller, one cluster id, quorum voters that name every node by
  its service and controller port the same way on every node, advertised addresses that
  are the node's own, internal topics replicated on at most as many nodes as there are
  and with a min ISR below their replication factor;
- every KAFKA_BROKERS / SCHEMA_REGISTRY_URL / DATABASE_URL host is a service of the file
  (the brokers: every node's advertised address, the registry: a `fleetlog registry`
  service, the database: the PostgreSQL service with its user and database);
- FLEETLOG_KAFKA__REPLICATION_FACTOR at most the number of brokers and above their
  min.insync.replicas;
- decoders' transactional ids, gateways' ids and processors' owners are unique; at least
  two instances of each processor kind (gateway, decoder, commands, every projection)
  and an API and a registry;
- only the API and the gateways publish ports, and only their listeners' ports;
- every depends_on names a service.

`check(compose, binary, root)` does the work on a parsed file, so tests can run it on
broken copies (check_compose_test.py).
"""

import json
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import yaml

FLEETLOG_IMAGE = "fleetlog:latest"
KAFKA_IMAGE = "apache/kafka"
KAFKA_NODES = 3
PROCESSOR_KINDS = ("gateway", "decoder", "commands")
# Internal topics' replication settings on the nodes, each with its min ISR (if any).
INTERNAL_REPLICATION = {
    "KAFKA_DEFAULT_REPLICATION_FACTOR": "KAFKA_MIN_INSYNC_REPLICAS",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": None,
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR":
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR",
}
REQUIRED_INTERNAL = ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                     "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                     "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR")


class CheckFailed(Exception):
    """The compose file is inconsistent; the message says where."""


def fail(message):
    raise CheckFailed(message)


# ---- compose interpolation: ${VAR}, ${VAR:?msg}, ${VAR?msg}, ${VAR:-default}, $$ ----

INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value):
    """The value compose would pass, with a stand-in for a variable the user supplies
    (a secret from .env): long enough for every secret setting's minimum length."""

    def one(match):
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if op in (":-", "-"):
            return arg
        return f"compose-check-stand-in-for-{name.lower()}"

    return INTERPOLATION.sub(one, value)


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: interpolate(str(v)) for k, v in env.items()}


def as_list(command):
    if command is None:
        return []
    return command.split() if isinstance(command, str) else [str(c) for c in command]


# ---- the binary ----

class Binary:
    """The fleetlog binary, asked about subcommands, projections and settings (cached)."""

    def __init__(self, path):
        self.path = path
        self._configs = {}
        self._helps = {}
        self._projections = None

    def _clean_env(self):
        clean = {k: v for k, v in os.environ.items() if not k.startswith("FLEETLOG_")}
        for k in ("DATABASE_URL", "KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "RUST_LOG"):
            clean.pop(k, None)
        return clean

    def accepts(self, args):
        """None when `fleetlog <args> --help` succeeds, else clap's complaint."""
        key = tuple(args)
        if key not in self._helps:
            result = subprocess.run([self.path, *args, "--help"], env=self._clean_env(),
                                    capture_output=True, text=True)
            self._helps[key] = None if result.returncode == 0 else (
                result.stderr.strip() or result.stdout.strip())
        return self._helps[key]

    def projections(self):
        """The projection names, from the binary's own refusal of an unknown one (before
        it touches the database)."""
        if self._projections is None:
            env = {**self._clean_env(), "DATABASE_URL": "postgres://x@127.0.0.1:1/x"}
            result = subprocess.run([self.path, "projector", "compose-check-no-such"],
                                    env=env, capture_output=True, text=True, timeout=30)
            found = re.search(r"expected one of ([a-z_, -]+)", result.stderr)
            if not found:
                fail(f"could not read the projection names from the binary: {result.stderr}")
            self._projections = [n.strip() for n in found.group(1).split(",") if n.strip()]
        return self._projections

    def config(self, env):
        """The settings the binary derives from `env`, or a CheckFailed with its error."""
        key = tuple(sorted(env.items()))
        if key not in self._configs:
            result = subprocess.run([self.path, "config"], env={**self._clean_env(), **env},
                                    capture_output=True, text=True)
            self._configs[key] = (result.returncode, result.stdout, result.stderr.strip())
        code, out, err = self._configs[key]
        if code != 0:
            fail(f"fleetlog rejects its environment: {err}")
        return json.loads(out)


def fleetlog_invocations(service):
    """Each `fleetlog …` argument list the service runs: its command, or the `fleetlog`
    calls of a shell entrypoint."""
    entry = as_list(service.get("entrypoint"))
    if entry[:2] == ["/bin/sh", "-c"] or entry[:2] == ["sh", "-c"]:
        script = " ".join(entry[2:])
        calls = []
        for part in re.split(r"&&|\|\||;|\|", script):
            words = part.split()
            if words and words[0] == "fleetlog":
                calls.append(words[1:])
        if not calls:
            fail("its entrypoint runs no fleetlog command")
        return calls
    if entry and entry[0] not in ("fleetlog", "/usr/local/bin/fleetlog"):
        fail(f"unexpected entrypoint {entry}")
    args = entry[1:] + as_list(service.get("command"))
    return [args or ["up"]]  # the image's CMD


def host_port(address, what):
    host, sep, port = address.strip().rpartition(":")
    if not sep or not port.isdigit():
        fail(f"{what} {address!r} is not host:port")
    return host, int(port)


# ---- Kafka ----

def listeners(value, what):
    out = {}
    for item in value.split(","):
        m = re.fullmatch(r"\s*([A-Za-z_]+)://([^:]*):(\d+)\s*", item)
        if not m:
            fail(f"{what}: cannot read listener {item!r}")
        out[m.group(1)] = (m.group(2), int(m.group(3)))
    return out


def check_kafka(services, root, report):
    nodes = {name: s for name, s in services.items()
             if str(s.get("image", "")).split(":")[0] == KAFKA_IMAGE}
    if len(nodes) != KAFKA_NODES:
        fail(f"expected {KAFKA_NODES} Kafka nodes ({KAFKA_IMAGE}), found {sorted(nodes)}")
    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>",
                       open(os.path.join(root, "scripts/kafka/pom.xml")).read()).group(1)
    ids, voters_seen, cluster_ids, controller_ports = {}, set(), set(), {}
    advertised = {}
    for name, node in nodes.items():
        env = environment(node)
        tag = str(node["image"]).partition(":")[2]
        if tag != pinned:
            fail(f"{name}: image {node['image']} is not the pinned Kafka {pinned} "
                 "(scripts/kafka/pom.xml)")
        node_id = env.get("KAFKA_NODE_ID", "")
        if not node_id.isdigit():
            fail(f"{name}: KAFKA_NODE_ID {node_id!r} is not a node id")
        if node_id in ids:
            fail(f"{name}: KAFKA_NODE_ID {node_id} is also {ids[node_id]}'s")
        ids[node_id] = name
        roles = {r.strip() for r in env.get("KAFKA_PROCESS_ROLES", "").split(",")}
        if roles != {"broker", "controller"}:
            fail(f"{name}: KAFKA_PROCESS_ROLES {sorted(roles)}, expected broker,controller")
        cluster_ids.add(env.get("CLUSTER_ID", ""))
        voters_seen.add(env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", ""))
        own = listeners(env.get("KAFKA_LISTENERS", ""), f"{name} KAFKA_LISTENERS")
        controller = env.get("KAFKA_CONTROLLER_LISTENER_NAMES", "")
        if controller not in own:
            fail(f"{name}: controller listener {controller!r} not among its listeners")
        controller_ports[name] = own[controller][1]
        inter = env.get("KAFKA_INTER_BROKER_LISTENER_NAME", "")
        adv = listeners(env.get("KAFKA_ADVERTISED_LISTENERS", ""),
                        f"{name} KAFKA_ADVERTISED_LISTENERS")
        if inter not in adv:
            fail(f"{name}: inter-broker listener {inter!r} is not advertised")
        host, port = adv[inter]
        hostnames = {name, node.get("hostname")}
        if host not in hostnames or port != own.get(inter, (None, None))[1]:
            fail(f"{name}: advertises {host}:{port}, not its own {inter} listener "
                 f"({name}:{own.get(inter, (None, '?'))[1]})")
        advertised[name] = f"{host}:{port}"
        for rf_key, isr_key in INTERNAL_REPLICATION.items():
            rf = int(env.get(rf_key, "1"))
            if rf > len(nodes):
                fail(f"{name}: {rf_key}={rf} with {len(nodes)} nodes")
            if isr_key and isr_key in env and int(env[isr_key]) >= rf > 1:
                fail(f"{name}: {isr_key}={env[isr_key]} leaves no room for a node down "
                     f"({rf_key}={rf})")
        for key in REQUIRED_INTERNAL:
            if key not in env:
                fail(f"{name}: {key} not set (the broker's default does not fit the cluster)")
    if len(cluster_ids) != 1 or "" in cluster_ids:
        fail(f"the Kafka nodes do not share one CLUSTER_ID: {sorted(cluster_ids)}")
    if len(voters_seen) != 1:
        fail(f"the Kafka nodes name different quorum voters: {sorted(voters_seen)}")
    voters = {}
    for voter in next(iter(voters_seen)).split(","):
        m = re.fullmatch(r"\s*(\d+)@([^:]+):(\d+)\s*", voter)
        if not m:
            fail(f"cannot read quorum voter {voter!r}")
        if m.group(1) in voters:
            fail(f"quorum voter id {m.group(1)} named twice")
        voters[m.group(1)] = (m.group(2), int(m.group(3)))
    if set(voters) != set(ids):
        fail(f"quorum voters {sorted(voters)} are not the node ids {sorted(ids)}")
    for node_id, (host, port) in voters.items():
        name = ids[node_id]
        if host not in (name, nodes[name].get("hostname")):
            fail(f"quorum voter {node_id}@{host}:{port} names {host!r}, but node "
                 f"{node_id} is service {name}")
        if port != controller_ports[name]:
            fail(f"quorum voter {node_id}@{host}:{port}: {name}'s controller listens on "
                 f"{controller_ports[name]}")
    min_isr = max(int(environment(n).get("KAFKA_MIN_INSYNC_REPLICAS", "1"))
                  for n in nodes.values())
    report(f"kafka: {len(nodes)} nodes {sorted(nodes)} (ids {sorted(ids)}), one cluster id, "
           f"voters consistent, Kafka {pinned}")
    return advertised, min_isr


# ---- the whole file ----

def check(compose, binary, root):
    """Check a parsed compose file; returns the report lines, raises CheckFailed."""
    lines = []
    report = lines.append
    services = compose.get("services") or {}
    if not services:
        fail("no services")
    for name, service in services.items():
        deps = service.get("depends_on") or []
        for dep in deps:
            if dep not in services:
                fail(f"{name}: depends_on {dep!r}, which is not a service")

    advertised, min_isr = check_kafka(services, root, report)
    brokers = len(advertised)
    projections = binary.projections()

    fleetlog = {n: s for n, s in services.items() if s.get("image") == FLEETLOG_IMAGE}
    if not fleetlog:
        fail("no fleetlog services found in the compose file")
    kinds = {}  # kind -> [(service, settings)]
    runs = {}  # service -> (invocations, settings)
    for name, service in fleetlog.items():
        try:
            calls = fleetlog_invocations(service)
            for args in calls:
                complaint = binary.accepts(args)
                if complaint:
                    fail(f"`fleetlog {' '.join(args)}` is not a command the binary has: "
                         f"{complaint.splitlines()[0]}")
                if args[:1] == ["projector"] and (len(args) < 2 or args[1] not in projections):
                    fail(f"`fleetlog {' '.join(args)}`: the projections are {projections}")
            runs[name] = (calls, binary.config(environment(service)))
        except CheckFailed as err:
            fail(f"{name}: {err}")
    # The registry services and the port each listens on.
    registries = {name: host_port(settings["http"]["registry_addr"], "registry_addr")[1]
                  for name, (calls, settings) in runs.items() if ["registry"] in calls}
    for name, (calls, settings) in runs.items():
        try:
            check_service_settings(settings, services, advertised, registries, brokers,
                                   min_isr)
        except CheckFailed as err:
            fail(f"{name}: {err}")
        for args in calls:
            kind = args[0] if args[0] != "projector" else f"projector {args[1]}"
            kinds.setdefault(kind, []).append((name, settings))
        report(f"compose service {name}: `fleetlog {' / '.join(' '.join(a) for a in calls)}` ok")

    check_instances(kinds, projections, report)
    check_published_ports(services, kinds, report)
    return lines


def check_service_settings(settings, services, advertised, registries, brokers, min_isr):
    listed = [a.strip() for a in settings["kafka"]["brokers"].split(",") if a.strip()]
    for address in listed:
        host, _ = host_port(address, "KAFKA_BROKERS entry")
        if host not in services:
            fail(f"KAFKA_BROKERS names {host!r}, which is not a service")
        if address not in advertised.values():
            fail(f"KAFKA_BROKERS entry {address} is no Kafka node's advertised address")
    missing = sorted(set(advertised.values()) - set(listed))
    if missing:
        fail(f"KAFKA_BROKERS leaves out {missing}: with a node down it could not bootstrap")

    registry = urlsplit(settings["schema_registry_url"])
    if registry.hostname not in services:
        fail(f"SCHEMA_REGISTRY_URL names {registry.hostname!r}, which is not a service")
    if registry.hostname not in registries:
        fail(f"SCHEMA_REGISTRY_URL names {registry.hostname!r}, which does not run "
             "`fleetlog registry`")
    port = registry.port or (443 if registry.scheme == "https" else 80)
    if port != registries[registry.hostname]:
        fail(f"SCHEMA_REGISTRY_URL port {port}, but {registry.hostname} listens on "
             f"{registries[registry.hostname]}")

    db = urlsplit(settings["database_url"])
    if db.hostname not in services:
        fail(f"DATABASE_URL names {db.hostname!r}, which is not a service")
    pg_env = environment(services[db.hostname])
    pg_user = pg_env.get("POSTGRES_USER", "postgres")
    pg_db = pg_env.get("POSTGRES_DB", pg_user)
    if db.username != pg_user or db.path.lstrip("/") != pg_db:
        fail(f"DATABASE_URL user/database {db.username}/{db.path.lstrip('/')}, but service "
             f"{db.hostname} creates {pg_user}/{pg_db}")

    rf = settings["kafka"]["replication_factor"]
    if rf > brokers:
        fail(f"FLEETLOG_KAFKA__REPLICATION_FACTOR={rf} with {brokers} brokers")
    if rf <= min_isr and brokers > 1:
        fail(f"FLEETLOG_KAFKA__REPLICATION_FACTOR={rf} with min.insync.replicas={min_isr}: "
             "one node down would stop acks=all writes")


def check_instances(kinds, projections, report):
    for kind in (*PROCESSOR_KINDS, *(f"projector {p}" for p in projections)):
        found = kinds.get(kind, [])
        if len(found) < 2:
            fail(f"{len(found)} instance(s) of `fleetlog {kind}` "
                 f"({[n for n, _ in found]}): every processor kind needs at least two")
    for kind in ("api", "registry"):
        if not kinds.get(kind):
            fail(f"no `fleetlog {kind}` service")

    def unique(kind, label, key):
        seen = {}
        for name, settings in kinds.get(kind, []):
            value = key(settings)
            if value in seen:
                fail(f"{name} and {seen[value]} share {label} {value!r}")
            seen[value] = name
        return seen

    decoders = unique("decoder", "the decoder transactional.id",
                      lambda s: f"{s['kafka']['client_id']}-decoder-{s['kafka']['instance_id']}")
    gateways = unique("gateway", "gateway id (FLEETLOG_GATEWAY__GATEWAY_ID)",
                      lambda s: s["gateway"]["gateway_id"])
    for kind in ("commands", *(f"projector {p}" for p in projections)):
        unique(kind, f"the `{kind}` owner (client id and FLEETLOG_KAFKA__INSTANCE_ID)",
               lambda s: f"{s['kafka']['client_id']}-{s['kafka']['instance_id']}")
    report(f"instances: {', '.join(f'{k} ×{len(v)}' for k, v in sorted(kinds.items()))}; "
           f"decoder transactional ids {sorted(decoders)}, gateway ids {sorted(gateways)} "
           "unique")


def check_published_ports(services, kinds, report):
    allowed = {}  # service -> container ports it may publish
    for name, settings in kinds.get("api", []):
        allowed[name] = {host_port(settings["http"]["api_addr"], "api_addr")[1]}
    for name, settings in kinds.get("gateway", []):
        gw = settings["gateway"]
        allowed[name] = {host_port(gw[k], k)[1]
                         for k in ("teltonika_addr", "omni_addr", "gt06_addr")}
    host_ports = {}
    for name, service in services.items():
        for mapping in service.get("ports") or []:
            parts = str(mapping).split("/")[0].split(":")
            container = int(parts[-1])
            host = parts[-2] if len(parts) >= 2 else str(container)
            if container not in allowed.get(name, set()):
                fail(f"{name} publishes port {container}: only the API and the device "
                     "listeners are published")
            if host in host_ports:
                fail(f"{name} and {host_ports[host]} both publish host port {host}")
            host_ports[host] = name
    report(f"published: host ports {sorted(host_ports, key=int)} (API and device listeners only)")


def main():
    compose_path, binary = sys.argv[1], sys.argv[2]
    with open(compose_path) as f:
        compose = yaml.safe_load(f)
    root = os.path.dirname(os.path.abspath(compose_path))
    try:
        for line in check(compose, Binary(binary), root):
            print(line)
    except CheckFailed as err:
        sys.exit(f"{compose_path}: {err}")


if __name__ == "__main__":
    main()
