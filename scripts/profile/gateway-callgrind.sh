#!/usr/bin/env bash
# Instruction counts of the gateway per frame (callgrind: stable on a noisy machine).
#
#   KAFKA_BROKERS=127.0.0.1:PORT scripts/profile/gateway-callgrind.sh BIN OUTDIR [CONNS] [FRAMES]
#
# Runs `BIN registry` and `BIN gateway` (the latter under callgrind), warms up with a few
# frames, zeroes the counters, sends CONNS × FRAMES Teltonika frames (each waits for its
# ACK; scripts/profile/gateway_load.py), dumps, and prints instructions per frame and the
# top functions (inclusive). Needs valgrind, python3, PostgreSQL (DATABASE_URL).
source "$(dirname "$0")/../lib.sh"
BIN="$(realpath "$1")" OUT="$(mkdir -p "$2" && realpath "$2")" CONNS="${3:-100}" FRAMES="${4:-50}"
: "${KAFKA_BROKERS:?set KAFKA_BROKERS}"
export KAFKA_BROKERS DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/fleetlog_profile}"
export FLEETLOG_LOG__FILTER=warn RUST_LOG=warn
reg="$(free_port)" tel="$(free_port)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
export SCHEMA_REGISTRY_URL="http://127.0.0.1:$reg"
FLEETLOG_HTTP__REGISTRY_ADDR="127.0.0.1:$reg" FLEETLOG_HTTP__API_ADDR="127.0.0.1:$(free_port)" \
  "$BIN" registry >"$OUT/registry.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do port_open "$reg" && break; sleep 0.2; done
FLEETLOG_HTTP__API_ADDR="127.0.0.1:$(free_port)" \
  FLEETLOG_GATEWAY__TELTONIKA_ADDR="127.0.0.1:$tel" FLEETLOG_GATEWAY__OMNI_ADDR="127.0.0.1:$(free_port)" \
  FLEETLOG_GATEWAY__GT06_ADDR="127.0.0.1:$(free_port)" FLEETLOG_GATEWAY__MAX_FRAMES_PER_SEC=0 \
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "$BIN" gateway \
  >"$OUT/gateway.log" 2>&1 &
gw=$!; pids+=($gw)
for _ in $(seq 1 600); do port_open "$tel" && break; sleep 0.2; done
port_open "$tel" || die "the gateway did not listen (see $OUT/gateway.log)"
python3 "$ROOT/scripts/profile/gateway_load.py" "127.0.0.1:$tel" 20 5 >/dev/null
callgrind_control -z "$gw" >/dev/null
python3 "$ROOT/scripts/profile/gateway_load.py" "127.0.0.1:$tel" "$CONNS" "$FRAMES" | tee "$OUT/load.txt"
callgrind_control -d "$gw" >/dev/null
sleep 1
dump="$(ls -t "$OUT"/callgrind.out* | grep -v '^$' | head -n1)"
total="$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')"
frames=$((CONNS * FRAMES))
echo "instructions: $total for $frames frames = $((total / frames)) per frame" | tee "$OUT/summary.txt"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | head -n 60 >"$OUT/inclusive.txt"
callgrind_annotate "$dump" 2>/dev/null | head -n 60 >"$OUT/self.txt"
