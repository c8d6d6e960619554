#!/usr/bin/env bash
# `make run`: the whole product on this machine — broker, database, `fleetlog up` and a
# small simulated fleet. Ctrl-C stops everything this script started.
source "$(dirname "$0")/lib.sh"

DATA="$ROOT/.data"
BROKER_PORT="${BROKER_PORT:-9092}"
BROKER_CONTROLLER_PORT="${BROKER_CONTROLLER_PORT:-$((BROKER_PORT + 1))}"
PROFILE="${PROFILE:-debug}"
SCOOTERS="${SCOOTERS:-30}"
DEMO="${DEMO:-on}"

ensure_build_deps
ensure_kafka
ensure_postgres

say "building fleetlog ($PROFILE)"
if [ "$PROFILE" = release ]; then cargo build --release --bin fleetlog; else cargo build --bin fleetlog; fi
FLEETLOG="$ROOT/target/$PROFILE/fleetlog"

cleanup() {
  trap - EXIT INT TERM
  stop_pidfile "$DATA/simulate.pid"
  stop_pidfile "$DATA/fleetlog.pid"
  stop_broker "$DATA/broker"
  say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$DATA"
start_broker "$DATA/broker" "$BROKER_PORT" "$BROKER_CONTROLLER_PORT"
export KAFKA_BROKERS="127.0.0.1:$BROKER_PORT"

say "creating topics and migrating the database"
"$FLEETLOG" topics create >/dev/null
"$FLEETLOG" migrate

"$FLEETLOG" up &
echo $! >"$DATA/fleetlog.pid"
api="http://127.0.0.1:8080"
for _ in $(seq 1 100); do
  curl -fsS "$api/readyz" >/dev/null 2>&1 && break
  kill -0 "$(cat "$DATA/fleetlog.pid")" 2>/dev/null || die "fleetlog up exited; see its log above"
  sleep 0.2
done

if [ "$DEMO" = off ]; then
  # A small fleet speaking all three protocols, moving around Seoul (not registered).
  "$FLEETLOG" simulate --protocol mixed --scooters "$SCOOTERS" --interval 5 &
else
  # The living demo (src/demo/): the same fleet registered as vehicles, zones, a demo
  # operator and riders using the API; it prints the console login and an MDS token.
  "$FLEETLOG" demo --scooters "$SCOOTERS" &
fi
echo $! >"$DATA/simulate.pid"

cat >&2 <<BANNER

  fleetlog is running (Ctrl-C stops everything).

    fleet       $SCOOTERS simulated scooters (Teltonika :5027, Omni :5028, GT06 :5023)
    registry    http://127.0.0.1:8081/subjects
    readiness   $api/readyz
    metrics     $api/metrics
    broker      $KAFKA_BROKERS   Apache Kafka $KAFKA_VERSION (data in .data/broker/data, log .data/broker/server.log)
    database    ${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/fleetlog}

BANNER
wait "$(cat "$DATA/fleetlog.pid")"
