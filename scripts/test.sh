#!/usr/bin/env bash
# `make test`: the same setup as `make run` with a broker of its own (fresh storage, a
# free port), then the whole test suite against it. Leaves nothing running.
source "$(dirname "$0")/lib.sh"

ensure_build_deps
ensure_kafka
ensure_postgres
ensure_python_tools
ensure_browser_tools

port="$(free_port)"
DATA="$ROOT/.data/test-$$"
cleanup() {
  trap - EXIT INT TERM
  stop_pidfile "$DATA/broker.pid" 2   # its storage is deleted: no clean shutdown needed
  rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_broker "$DATA" "$port"
export KAFKA_BROKERS="127.0.0.1:$port"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/fleetlog_test}"

# Databases of earlier runs (each test makes its own, and the suite's own fleetlog_test,
# which may hold migrations of another checkout) are dropped before this run starts.
if command -v psql >/dev/null; then
  if [ "$DATABASE_URL" = "postgres://postgres@127.0.0.1:5432/fleetlog_test" ]; then
    dropdb -h 127.0.0.1 -U postgres --if-exists --force fleetlog_test
  fi
  psql -q -h 127.0.0.1 -U postgres -d postgres -Atc \
    "SELECT datname FROM pg_database WHERE datname LIKE 'fleetlog_test_%'" |
    while read -r db; do dropdb -h 127.0.0.1 -U postgres --if-exists "$db" || true; done
fi

say "building"
cargo build --workspace --bins
"$ROOT/target/debug/fleetlog" topics create >/dev/null
"$ROOT/target/debug/fleetlog" migrate >/dev/null

say "testing against the broker on $KAFKA_BROKERS and PostgreSQL"
# Every test binary prints its own result line; the last line here adds them all up
# (also kept in target/test-summary.txt; the whole output in target/cargo-test.log), so the run closes on the whole suite's count.
log="$ROOT/target/cargo-test.log"
# Each test binary runs under scripts/test-watchdog.sh: a hung one is killed after
# TEST_BINARY_TIMEOUT_S (default 900 s; TEST_SUITE_TIMEOUT_S, 2400 s, for the end-to-end
# suite) with its threads' stacks printed, and the rest run.
triple="$(rustc -vV | sed -n 's/^host: //p')"
export "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUNNER=$ROOT/scripts/test-watchdog.sh"
status=0
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($i == "passed;") p += $(i - 1); if ($i == "failed;") f += $(i - 1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log" | tee "$ROOT/target/test-summary.txt"
exit "$status"
