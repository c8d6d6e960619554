#!/usr/bin/env bash
# `make bench`: the hot-path benchmarks in a release build, each against a broker of its
# own (fresh storage, a free port), so figures never include earlier data.
# `scripts/bench.sh projection` (or any of ingest, projection, commands, api, export, rebuild, scale)
# runs only those.
source "$(dirname "$0")/lib.sh"

BENCHES=("$@")
[ ${#BENCHES[@]} -gt 0 ] || BENCHES=(ingest projection commands api export rebuild scale)

ensure_build_deps
ensure_kafka
ensure_postgres
ensure_bench_tools
say "building fleetlog (release)"
cargo build --release --bin fleetlog
FLEETLOG="$ROOT/target/release/fleetlog"

# The Node.js peer of `bench ingest` (bench/node-bridge), copied under target/ with its
# node_modules from its package-lock.json (npm ci again when the lock changes).
prepare_node_peer() {
  local src="$ROOT/bench/node-bridge" dst="$ROOT/target/node-bridge"
  command -v node >/dev/null && command -v npm >/dev/null ||
    die "bench ingest runs a Node.js peer: install Node.js 20+ and npm and retry"
  mkdir -p "$dst"
  cp "$src/bridge.js" "$src/package.json" "$dst/"
  if ! cmp -s "$src/package-lock.json" "$dst/package-lock.json" || [ ! -d "$dst/node_modules" ]; then
    say "installing the Node.js peer's packages (npm ci in $dst)"
    cp "$src/package-lock.json" "$dst/"
    (cd "$dst" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  export BENCH_NODE_PEER="$dst"
}
for b in "${BENCHES[@]}"; do [ "$b" != ingest ] || prepare_node_peer; done
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/fleetlog_bench}"
export RUST_LOG="${RUST_LOG:-error}"

run_with_broker() {
  local port dir status=0
  port="$(free_port)"
  dir="$ROOT/.data/bench-$$-$1"
  start_broker "$dir" "$port"
  KAFKA_BROKERS="127.0.0.1:$port" "$FLEETLOG" bench "$@" || status=$?
  stop_broker "$dir"
  rm -rf "$dir"
  return "$status"
}

trap 'trap - EXIT; for d in "$ROOT"/.data/bench-$$-*/; do stop_broker "$d"; done' EXIT
trap 'exit 130' INT TERM

for i in "${!BENCHES[@]}"; do
  [ "$i" -eq 0 ] || echo
  run_with_broker "${BENCHES[$i]}"
done
