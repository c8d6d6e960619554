# shellcheck shell=bash
# Shared steps of `make run` and `make test`: install what a fresh machine lacks, make
# sure PostgreSQL runs, start and stop an Apache Kafka broker. Sourced, never run directly.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Apache Kafka, pinned in scripts/kafka/pom.xml; its jars are resolved from Maven Central
# once and cached outside the repository, so every clone on this machine shares them.
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/scripts/kafka/pom.xml")"
export KAFKA_HOME="${KAFKA_HOME:-$HOME/.cache/fleetlog/kafka-$KAFKA_VERSION}"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

# Debian packages the build needs (C toolchain for librdkafka and libsql).
ensure_build_deps() {
  local missing=()
  command -v cc >/dev/null || missing+=(gcc)
  command -v make >/dev/null || missing+=(make)
  command -v perl >/dev/null || missing+=(perl)
  command -v python3 >/dev/null || missing+=(python3 python3-venv)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing build dependencies: ${missing[*]}"
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them and retry"
  as_root apt-get update -qq && as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A JDK (17+, Kafka 4.x) and Maven, from Debian's packages if the machine lacks them.
ensure_java() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} for the Kafka broker"
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install a JDK 17+ and Maven and retry"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The broker's jars (kafka_2.13 and its runtime dependencies, plus log4j2's SLF4J binding),
# resolved from Maven Central with the machine's Maven once (about 30 s) into $KAFKA_HOME.
ensure_kafka() {
  ensure_java
  if [ -f "$KAFKA_HOME/.complete" ]; then return 0; fi
  say "resolving Apache Kafka $KAFKA_VERSION from Maven Central once (cached in $KAFKA_HOME)"
  rm -rf "$KAFKA_HOME/libs.part"
  mkdir -p "$KAFKA_HOME"
  mvn -B -q -Dstyle.color=never -f "$ROOT/scripts/kafka/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs.part" \
    || die "could not resolve Apache Kafka $KAFKA_VERSION with Maven (see its output above)"
  rm -rf "$KAFKA_HOME/libs" && mv "$KAFKA_HOME/libs.part" "$KAFKA_HOME/libs"
  touch "$KAFKA_HOME/.complete"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pg_up() {
  if command -v pg_isready >/dev/null; then pg_isready -q -h 127.0.0.1 -p 5432; else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; fi
}

# PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres on loopback: start it if
# it is down, install it if the machine has none, allow user postgres on 127.0.0.1 without
# a password if it asks for one, or say exactly what is missing.
ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then return 0; fi   # the user points elsewhere
  if ! pg_up; then
    if ! { command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql)" ]; }; then
      command -v apt-get >/dev/null && as_root true 2>/dev/null ||
        die "PostgreSQL is not reachable on 127.0.0.1:5432 and cannot be installed here. Install PostgreSQL 15+ or set DATABASE_URL to a server you have."
      say "installing PostgreSQL (none on this machine)"
      as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(pg_cluster_version)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
    pg_up || die "PostgreSQL did not start on 127.0.0.1:5432 (see /var/log/postgresql/)"
  fi
  pg_trusts && return 0
  local hba="/etc/postgresql/$(pg_cluster_version)/main/pg_hba.conf"
  [ -f "$hba" ] || die "PostgreSQL on 127.0.0.1:5432 asks user 'postgres' for a password. Allow it on loopback (trust) or set DATABASE_URL with credentials."
  say "allowing user postgres on loopback without a password ($hba)"
  as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(pg_cluster_version)" main reload
  for _ in $(seq 1 20); do pg_trusts && return 0; sleep 0.5; done
  die "PostgreSQL on 127.0.0.1:5432 still asks user 'postgres' for a password; see $hba"
}

pg_cluster_version() { ls /etc/postgresql | sort -V | tail -n1; }

# Whether user postgres connects on 127.0.0.1 without a password (never prompts).
pg_trusts() { psql -w -q -h 127.0.0.1 -U postgres -d postgres -Atc 'SELECT 1' >/dev/null 2>&1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_broker DIR PORT [CONTROLLER_PORT]: one Kafka node (broker and controller) on
# 127.0.0.1:PORT with its storage in DIR/data (formatted once, kept across restarts), log in
# DIR/server.log, pid in DIR/broker.pid. Returns once the broker answers; says why when it
# does not start.
start_broker() {
  local dir="$1" port="$2" cport="${3:-}"
  mkdir -p "$dir"
  if [ -f "$dir/broker.pid" ] && kill -0 "$(cat "$dir/broker.pid")" 2>/dev/null; then
    say "broker already running (pid $(cat "$dir/broker.pid"))"; return 0
  fi
  port_open "$port" && die "port $port is taken by another process; stop it or set BROKER_PORT"
  if [ -z "$cport" ]; then cport="$(free_port)"; fi
  port_open "$cport" && die "controller port $cport is taken by another process; stop it or set BROKER_CONTROLLER_PORT"
  say "starting Apache Kafka $KAFKA_VERSION on 127.0.0.1:$port (storage $dir/data, log $dir/server.log)"
  local logged; logged="$(stat -c %s "$dir/server.log" 2>/dev/null || echo 0)"
  # Its own session keeps the terminal's Ctrl-C from reaching it: it is stopped last.
  setsid "$ROOT/scripts/kafka/node.sh" --dir "$dir" --port "$port" --controller-port "$cport" \
    >>"$dir/broker.out" 2>&1 </dev/null &
  echo $! >"$dir/broker.pid"
  wait_broker "$dir" "$port" "$logged"
}

# wait_broker DIR PORT LOGGED: until the node logs (past byte LOGGED of its log, which
# earlier runs wrote) that it started, and its port answers; at most 90 s.
wait_broker() {
  local dir="$1" port="$2" logged="$3" pid
  pid="$(cat "$dir/broker.pid")"
  for _ in $(seq 1 450); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$dir/broker.out" "$dir/server.log" 2>/dev/null >&2 || true
      die "the Kafka broker exited while starting (logs: $dir/broker.out, $dir/server.log). If the storage is from another Kafka version or cluster, 'make clean' deletes it."
    fi
    if tail -c +"$((logged + 1))" "$dir/server.log" 2>/dev/null | grep -q "Kafka Server started" &&
      port_open "$port"; then return 0; fi
    sleep 0.2
  done
  tail -n 30 "$dir/server.log" 2>/dev/null >&2 || true
  die "the Kafka broker did not answer on 127.0.0.1:$port within 90 s (log: $dir/server.log)"
}

# stop_pidfile FILE [SECONDS]: stop the process named in FILE (TERM, then KILL after
# SECONDS, 5 by default), remove FILE.
stop_pidfile() {
  local file="$1" grace="${2:-5}" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((grace * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# stop_broker DIR: a clean shutdown of the node started by start_broker (up to 30 s, so the
# next start need not recover its logs), then SIGKILL.
stop_broker() { stop_pidfile "$1/broker.pid" 30; }

# The Python tools the tests use as independent peers, in a venv, installed once per
# requirements file.
ensure_python_tools() {
  local venv="$ROOT/tests/python/.venv" req="$ROOT/tests/python/requirements.txt"
  [ -f "$req" ] || return 0
  if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
  if ! cmp -s "$req" "$venv/.installed" 2>/dev/null; then
    say "installing Python test tools ($req)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.installed"
  fi
  export TEST_PYTHON="$venv/bin/python"
}

# The console's browser test: Debian's Chromium (playwright-core drives it; no browser is
# downloaded) and the script's node_modules from tests/browser/package-lock.json,
# installed again when the lock file is newer.
ensure_browser_tools() {
  local dir="$ROOT/tests/browser"
  [ -f "$dir/package-lock.json" ] || return 0
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Chromium for the console's browser test"
    command -v apt-get >/dev/null || die "no /usr/bin/chromium and no apt-get: install Chromium and retry"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  command -v npm >/dev/null || die "the console's browser test needs Node.js 20+ and npm: install them and retry"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    say "installing the browser test's packages (npm ci in tests/browser)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) && touch "$dir/node_modules"
  fi
}

# The load tools of `make bench`: wrk (HTTP) from Debian's packages; pgbench comes with
# PostgreSQL.
ensure_bench_tools() {
  command -v wrk >/dev/null && return 0
  say "installing wrk for the API benchmark"
  command -v apt-get >/dev/null || die "no wrk and no apt-get: install wrk and retry"
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
