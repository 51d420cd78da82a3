#!/usr/bin/env bash
# Starts LocalStack (run.sh) in the background, waits until it is healthy and prints its endpoint.
# Writes LOCALSTACK_HOME/localstack-<port>.pid and .log; stop.sh stops it by that pid.
#   LOCALSTACK_PORT  port on 127.0.0.1 (default 4566)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LS_HOME="${LOCALSTACK_HOME:-$(cd "$HERE/.." && pwd)/.venv-localstack}"
PORT="${LOCALSTACK_PORT:-4566}"
export LOCALSTACK_HOME="$LS_HOME" LOCALSTACK_PORT="$PORT"
pidfile="$LS_HOME/localstack-$PORT.pid"
log="$LS_HOME/localstack-$PORT.log"
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "LocalStack already runs on 127.0.0.1:$PORT (pid $(cat "$pidfile"))"
    exit 0
fi
# setsid: LocalStack and what it starts (DynamoDB Local, kinesis-local, Lambda runtimes) form
# one process group, whose id is LocalStack's pid.
setsid "$HERE/run.sh" >"$log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"
for _ in $(seq 1 240); do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "LocalStack exited, see $log" >&2
        tail -20 "$log" >&2
        rm -f "$pidfile"
        exit 1
    fi
    if curl -sf -m 2 "http://127.0.0.1:$PORT/_localstack/health" >/dev/null; then
        echo "LocalStack (pid $pid) on http://127.0.0.1:$PORT"
        exit 0
    fi
    sleep 0.5
done
echo "LocalStack did not become healthy within 120 s, see $log" >&2
exit 1
