#!/usr/bin/env bash
# The cargo runner of `make test` (CARGO_TARGET_<triple>_RUNNER): runs one test binary
# ("$@") with a deadline, so one hung test costs minutes, not the whole CI run. Past
# TEST_BINARY_TIMEOUT_S (default 900) — TEST_SUITE_TIMEOUT_S (default 2400) for the one
# binary of end-to-end tests, `suite`, which holds them all — it prints every thread's
# stack of the hung process (with gdb when the machine has it) and kills it; cargo then
# reports that binary as failed and, with --no-fail-fast, goes on with the next one. What
# the test started (its brokers, fleetlog processes) is killed with it: nothing is left
# running. Which test hung: libtest names every test running for over 60 s.
case "$(basename "$1")" in
  suite-*) limit="${TEST_SUITE_TIMEOUT_S:-2400}" ;;
  *) limit="${TEST_BINARY_TIMEOUT_S:-900}" ;;
esac

"$@" &
pid=$!

watch() {
  local waited=0
  while [ "$waited" -lt "$limit" ]; do
    sleep 1
    kill -0 "$pid" 2>/dev/null || return 0
    waited=$((waited + 1))
  done
  echo "test-watchdog: $(basename "$1") still running after ${limit}s (TEST_BINARY_TIMEOUT_S): killing it" >&2
  if command -v gdb >/dev/null; then
    echo "test-watchdog: the stacks of its threads:" >&2
    timeout 60 gdb -p "$pid" -batch -ex "thread apply all bt" 2>/dev/null |
      grep -E '^(Thread |#[0-9]+ )' | cut -c1-240 >&2
  fi
  kill -KILL $(descendants "$pid") "$pid" 2>/dev/null
}

# Every process below $1, children first.
descendants() {
  local child
  for child in $(pgrep -P "$1"); do
    descendants "$child"
    echo "$child"
  done
}
watch "$1" &
watcher=$!

wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
exit "$status"
