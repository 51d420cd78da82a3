#!/usr/bin/env bash
# Stops the LocalStack start.sh started (by the pid in its pid file) and its process group.
#   LOCALSTACK_PORT  port it was started on (default 4566)
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LS_HOME="${LOCALSTACK_HOME:-$(cd "$HERE/.." && pwd)/.venv-localstack}"
PORT="${LOCALSTACK_PORT:-4566}"
pidfile="$LS_HOME/localstack-$PORT.pid"
[[ -f "$pidfile" ]] || { echo "no LocalStack started on port $PORT"; exit 0; }
pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
fi
# Whatever LocalStack left running in its process group (the group id is its pid).
kill -TERM -- "-$pid" 2>/dev/null || true
rm -f "$pidfile"
rm -rf "$LS_HOME/tmp/$PORT"
echo "LocalStack $pid stopped"
