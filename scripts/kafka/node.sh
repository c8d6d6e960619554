#!/usr/bin/env bash
# One Apache Kafka node in KRaft mode (broker and controller in one process), run in the
# foreground: writes DIR/server.properties, formats DIR/data once (kept across restarts),
# then execs the JVM, so the caller's process is the broker (SIGKILL kills it). The one
# place that knows how to run a node: `scripts/lib.sh start_broker` (make run, test,
# bench) and the tests' harness (`tests/src/broker.rs`, single nodes and 3-node clusters)
# both call it.
#
#   node.sh --dir DIR --port PORT --controller-port PORT
#           [--node-id 1] [--voters 1@127.0.0.1:CPORT,...] [--cluster-id ID]
#           [--replication 1]
#
# The jars come from `ensure_kafka` (scripts/lib.sh) in $KAFKA_HOME/libs; KAFKA_HEAP sets
# the heap (default 512m, at most 1g on these machines). The log is DIR/server.log.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")"
KAFKA_HOME="${KAFKA_HOME:-$HOME/.cache/fleetlog/kafka-$KAFKA_VERSION}"

dir="" port="" cport="" node_id=1 voters="" cluster_id="" replication=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2" ;;
    --port) port="$2" ;;
    --controller-port) cport="$2" ;;
    --node-id) node_id="$2" ;;
    --voters) voters="$2" ;;
    --cluster-id) cluster_id="$2" ;;
    --replication) replication="$2" ;;
    *) echo "node.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
[ -n "$dir" ] && [ -n "$port" ] && [ -n "$cport" ] || {
  echo "node.sh: --dir, --port and --controller-port are required" >&2; exit 2; }
[ -f "$KAFKA_HOME/.complete" ] || {
  echo "node.sh: no Kafka jars in $KAFKA_HOME (run: source scripts/lib.sh && ensure_kafka)" >&2; exit 1; }
command -v java >/dev/null || { echo "node.sh: no java on PATH (JDK 17+ needed)" >&2; exit 1; }
voters="${voters:-$node_id@127.0.0.1:$cport}"
min_isr=$(( replication > 1 ? 2 : 1 ))
mkdir -p "$dir/data"
dir="$(cd "$dir" && pwd)"

# Defaults that hurt a 2-core machine are lowered: 50 partitions each for the offsets and
# transaction topics, a 3 s delay before the first group rebalance, 8 I/O threads.
cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=4
default.replication.factor=$replication
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$replication
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.retention.hours=-1
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
unclean.leader.election.enable=false
PROPS

java_opts=(
  "-Xms${KAFKA_HEAP:-512m}" "-Xmx${KAFKA_HEAP:-512m}"
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=file:$HERE/log4j2.properties"
  "-Dkafka.logs.dir=$dir"
  -cp "$KAFKA_HOME/libs/*"
)
if [ ! -f "$dir/data/meta.properties" ]; then
  # URL-safe base64 of 16 random bytes, never starting with "-" (read as an option).
  cluster_id="${cluster_id:-$(python3 -c '
import base64, uuid
while True:
    i = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not i.startswith("-"): print(i); break')}"
  java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$dir/server.properties" --ignore-formatted >"$dir/format.log" 2>&1 || {
    cat "$dir/format.log" >&2; echo "node.sh: could not format $dir/data" >&2; exit 1; }
fi
exec java "${java_opts[@]}" kafka.Kafka "$dir/server.properties"
