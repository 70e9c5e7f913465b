#!/usr/bin/env bash
# Runs the test command twice: the whole suite on the embedded SQLite, then the database-heavy
# parts against a throwaway PostgreSQL server (Debian's packages) on a loopback port, as the
# scaled-out configuration uses it. The server lives in a temp dir and is stopped at exit.
set -euo pipefail
"$@"

initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$initdb" ]; then
  echo "PostgreSQL is not installed; run 'make system-deps'." >&2
  exit 1
fi
bindir=$(dirname "$initdb")
dir=$(mktemp -d /tmp/zegel-pg.XXXXXX)
chmod 755 "$dir"
port=$((20000 + RANDOM % 20000))
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
cleanup() { as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
as_pg "$bindir/initdb" -D "$dir/data" -A trust -U zegel >/dev/null
as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" start >/dev/null
echo "PostgreSQL on 127.0.0.1:$port: running the database tests again against it."
DATABASE_URL="postgres://zegel@127.0.0.1:$port/postgres" "$@" -m "not browser" tests/messaging tests/notify tests/api tests/audit tests/portal tests/sender tests/dlp_integration tests/dlp_admin tests/orgs tests/cli tests/directory
