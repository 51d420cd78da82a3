#!/usr/bin/env bash
# Runs the installed LocalStack (install.sh) in the foreground on 127.0.0.1:LOCALSTACK_PORT
# (default 4566), with the settings of localstack.env. exec: the process that runs LocalStack is
# this one, so whoever started it stops it by this pid (start.sh, the tests' fixture).
#
#   LOCALSTACK_HOME  the installation (default <repo>/.venv-localstack)
#   LOCALSTACK_PORT  port on 127.0.0.1 (default 4566)
#   LOCALSTACK_LISTEN_HOST  address to bind (default 127.0.0.1; the image binds 0.0.0.0)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LS_HOME="${LOCALSTACK_HOME:-$(cd "$HERE/.." && pwd)/.venv-localstack}"
PORT="${LOCALSTACK_PORT:-4566}"
LISTEN_HOST="${LOCALSTACK_LISTEN_HOST:-127.0.0.1}"
[[ -x "$LS_HOME/venv/bin/python" && -f "$LS_HOME/.installed" ]] \
    || { echo "LocalStack is not installed in $LS_HOME: run localstack/install.sh" >&2; exit 1; }

while IFS='=' read -r key value; do
    [[ -z "$key" || "$key" == \#* ]] && continue
    export "$key=$value"
done <"$HERE/localstack.env"

export GATEWAY_LISTEN="$LISTEN_HOST:$PORT"
export LOCALSTACK_HOST="127.0.0.1:$PORT"
export FILESYSTEM_ROOT="$LS_HOME/fs"        # LocalStack's lib/ (DynamoDB Local, Java, ...) lives here
export LAMBDA_LOCAL_PYTHON_3_12="$LS_HOME/lambda-python/bin/python"
export LAMBDA_LOCAL_PYCACHE="$LS_HOME/pycache"
export LAMBDA_LOCAL_CODE_CACHE="$LS_HOME/code"
# Unzipped function code and LocalStack's scratch files: one folder per run, removed by stop.
export TMPDIR="${LOCALSTACK_TMPDIR:-$LS_HOME/tmp/$PORT}"
mkdir -p "$TMPDIR" "$LAMBDA_LOCAL_PYCACHE"
exec "$LS_HOME/venv/bin/python" -m localstack.runtime.main
