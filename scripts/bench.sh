#!/usr/bin/env bash
# `make bench`: the hot-path benchmarks in a release build, each against a broker of its
# own (fresh storage, a free port), so figures never include earlier data.
source "$(dirname "$0")/lib.sh"

ensure_build_deps
ensure_tansu
ensure_postgres
say "building fleetlog (release)"
cargo build --release --bin fleetlog
FLEETLOG="$ROOT/target/release/fleetlog"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/fleetlog_bench}"
export RUST_LOG="${RUST_LOG:-error}"

run_with_broker() {
  local port dir
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  dir="$ROOT/.data/bench-$$-$1"
  start_broker "$dir" "$port"
  KAFKA_BROKERS="127.0.0.1:$port" "$FLEETLOG" bench "$@" || status=$?
  stop_pidfile "$dir/tansu.pid"
  rm -rf "$dir"
  return "${status:-0}"
}

trap 'trap - EXIT; for f in "$ROOT"/.data/bench-$$-*/tansu.pid; do stop_pidfile "$f"; done' EXIT
trap 'exit 130' INT TERM

run_with_broker ingest
echo
run_with_broker projection
echo
run_with_broker commands
