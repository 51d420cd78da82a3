"""Lambda cold start: import time of the `api` and `projections` handler modules from the built
deployment package, next to a bare FastAPI + Mangum module that also imports boto3 and creates a
DynamoDB client (what any DynamoDB-backed handler needs), imported the same way in the same run
(target: at most 1.5x). Each import runs in a fresh CPython 3.12 process (the Lambda runtime's
version), several times, median reported.

The package is built for this machine's architecture (the import must run here), with boto3
bundled (the Lambda runtime provides it there). On Lambda the handler modules also build their
container during import (the init phase), so the first request does not wait for it: the
"init phase" rows import them as Lambda would, with AWS_LAMBDA_FUNCTION_NAME and the tables
named (no network call is made: no provider secret is configured).

    python -m bench.cold_start [--runs N] [--python PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARE = """
from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel

app = FastAPI()


class Body(BaseModel):
    amount: int
    currency: str


@app.post("/echo")
def echo(body: Body) -> Body:
    return body


handler = Mangum(app, lifespan="off")

import boto3  # noqa: E402

dynamodb = boto3.client("dynamodb", region_name="us-east-1")
"""
TIMER = (
    "import time, importlib, sys; t = time.perf_counter(); "
    "importlib.import_module(sys.argv[1]); print(time.perf_counter() - t)"
)
MODULES = {
    "bare FastAPI + Mangum + boto3 client": ("bare_lambda", False),
    "api handler": ("ledger.lambdas.api", False),
    "projections handler": ("ledger.lambdas.projections", False),
    "api handler, init phase": ("ledger.lambdas.api", True),
    "projections handler, init phase": ("ledger.lambdas.projections", True),
}
ON_LAMBDA = {
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "LEDGER_PERSISTENCE": "dynamodb",
    "LEDGER_EVENTS_TABLE": "events",
    "LEDGER_SNAPSHOTS_TABLE": "snapshots",
    "LEDGER_READ_MODELS_TABLE": "read-models",
}


def find_python312(given: str | None) -> str | None:
    pyenv = sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    for candidate in (given, *map(str, pyenv), shutil.which("python3.12")):
        if candidate and subprocess.run([candidate, "-c", "pass"], check=False).returncode == 0:
            return candidate
    return None


def build_package(folder: Path) -> Path:
    arch = "x86_64" if platform.machine() in ("x86_64", "AMD64") else "arm64"
    target = folder / "lambda.zip"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_lambda_package.py"),
            "--output",
            str(target),
            "--with-boto3",
        ],
        check=True,
        env={**os.environ, "LAMBDA_ARCH": arch},
        stdout=subprocess.DEVNULL,
    )
    return target


def import_seconds(python: str, path: Path, module: str, on_lambda: bool) -> float:
    env = {"PATH": os.environ.get("PATH", ""), **(ON_LAMBDA if on_lambda else {})}
    result = subprocess.run(
        [python, "-I", "-c", f"import sys; sys.path.insert(0, {str(path)!r}); " + TIMER, module],
        capture_output=True,
        text=True,
        check=True,
        cwd=path,
        env=env,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", help="a CPython 3.12 interpreter")
    args = parser.parse_args()
    python = find_python312(args.python)
    if python is None:
        print("cold start: no CPython 3.12 found here (pass --python); not measured")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        package = build_package(root)
        unpacked = root / "package"
        with zipfile.ZipFile(package) as archive:
            archive.extractall(unpacked)
        (unpacked / "bare_lambda.py").write_text(BARE)
        print("Lambda cold start: module import from the deployment package")
        print(f"  interpreter: {python} ({platform.machine()}), {args.runs} fresh processes each")
        medians = {}
        for label, (module, on_lambda) in MODULES.items():
            import_seconds(python, unpacked, module, on_lambda)  # warm the OS file cache
            times = [import_seconds(python, unpacked, module, on_lambda) for _ in range(args.runs)]
            medians[label] = statistics.median(times)
            print(f"  {label:<40}{medians[label] * 1000:8.0f} ms")
        bare = medians["bare FastAPI + Mangum + boto3 client"]
        for label in MODULES:
            if label.startswith("bare"):
                continue
            ratio = medians[label] / bare
            verdict = "met" if ratio <= 1.5 else "MISSED"
            print(f"  {label} / bare = {ratio:.2f}x (target <= 1.5x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
