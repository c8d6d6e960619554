# shellcheck shell=bash
# Shared steps of `make run` and `make test`: install what a fresh machine lacks, make
# sure PostgreSQL runs, start and stop a Tansu broker. Sourced, never run directly.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
# Cached outside the repository so every clone on this machine shares one build.
TANSU_ROOT="${TANSU_ROOT:-$HOME/.cache/fleetlog/tansu-$TANSU_VERSION}"
TANSU_BIN="$TANSU_ROOT/bin/tansu"
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

# The broker binary, built once (about 10 minutes on two cores) and cached.
ensure_tansu() {
  if [ -x "$TANSU_BIN" ]; then return 0; fi
  say "building Tansu $TANSU_VERSION once (about 10 minutes; cached in $TANSU_ROOT)"
  cargo install "tansu@$TANSU_VERSION" --locked --features libsql --root "$TANSU_ROOT" \
    || die "could not build Tansu $TANSU_VERSION (see the cargo output above)"
}

pg_up() {
  if command -v pg_isready >/dev/null; then pg_isready -q -h 127.0.0.1 -p 5432; else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; fi
}

# PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres: start it if it is
# down, install it if the machine has none, or say exactly what is missing.
ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then return 0; fi   # the user points elsewhere
  pg_up && return 0
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  elif command -v apt-get >/dev/null && as_root true 2>/dev/null; then
    say "installing PostgreSQL (none on this machine)"
    as_root apt-get update -qq && as_root apt-get install -y -qq postgresql >/dev/null
    local ver; ver="$(ls /etc/postgresql | head -n1)"
    local hba="/etc/postgresql/$ver/main/pg_hba.conf"
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && return 0; sleep 1; done
  die "PostgreSQL is not reachable on 127.0.0.1:5432. Install PostgreSQL 15+ with trust auth for user 'postgres' on 127.0.0.1, or set DATABASE_URL to a server you have."
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_broker DIR PORT: a Tansu broker storing in DIR/tansu.db, pid in DIR/tansu.pid.
start_broker() {
  local dir="$1" port="$2"
  mkdir -p "$dir"
  if [ -f "$dir/tansu.pid" ] && kill -0 "$(cat "$dir/tansu.pid")" 2>/dev/null; then
    say "broker already running (pid $(cat "$dir/tansu.pid"))"; return 0
  fi
  port_open "$port" && die "port $port is taken by another process; stop it or set BROKER_PORT"
  say "starting Tansu on 127.0.0.1:$port (storage $dir/tansu.db)"
  # Tansu resolves sqlite:// paths against its working directory. Its own session keeps
  # the terminal's Ctrl-C from reaching it: it is stopped last, after fleetlog.
  (cd "$dir" && exec setsid "$TANSU_BIN" broker \
      --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "sqlite://tansu.db" >>"$dir/tansu.log" 2>&1) &
  echo $! >"$dir/tansu.pid"
  local up=0
  for _ in $(seq 1 100); do port_open "$port" && { up=1; break; }; sleep 0.1; done
  if [ "$up" = 0 ]; then
    tail -n 20 "$dir/tansu.log" >&2
    die "the broker did not start (log: $dir/tansu.log)"
  fi
  if [ "${TANSU_HEADER_INDEX:-1}" = 1 ]; then index_tansu_headers "$dir/tansu.db"; fi
}

# index_tansu_headers DB: Tansu 0.6.0 keeps record headers in SQLite without an index on
# (topition, offset_id), so every fetched record's headers are found by scanning all headers
# stored: consumers slow down as the log grows and the broker ends up pinned at 100 % CPU
# (docs/operations.md). Add that index once the broker has created its tables (SQLite lets
# a second process change the schema). TANSU_HEADER_INDEX=0 runs the broker as shipped.
index_tansu_headers() {
  python3 - "$1" <<'PY' || die "could not index the broker's header table in $1"
import sqlite3, sys, time
for _ in range(200):
    try:
        c = sqlite3.connect(sys.argv[1], timeout=10)
        c.execute("CREATE INDEX IF NOT EXISTS header_topition_offset_idx ON header (topition, offset_id)")
        c.commit()
        sys.exit(0)
    except sqlite3.OperationalError:
        time.sleep(0.05)
sys.exit("no header table in " + sys.argv[1])
PY
}

# stop_pidfile FILE: stop the process named in FILE (TERM, then KILL), remove FILE.
stop_pidfile() {
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

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
