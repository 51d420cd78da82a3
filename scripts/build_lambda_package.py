#!/usr/bin/env python3
"""Build build/lambda.zip: the ONE deployment package of every Lambda function (api,
projections, publisher and one worker per workflow queue).

The dependencies are installed for the Lambda runtime, not for this interpreter: wheels for
CPython 3.12 on manylinux (glibc <= 2.34, Amazon Linux 2023) and the architecture in LAMBDA_ARCH
(arm64, the Terraform default, or x86_64). The project's own packages (ledger, api, projections)
are copied from src/. The zip is deterministic: sorted entries, fixed timestamps and modes.

boto3 and botocore are left out on purpose: every Lambda Python runtime ships them, the code
uses only long-stable APIs (DynamoDB items and transactions, EventBridge PutEvents, Secrets
Manager), and botocore alone is most of a package's unzipped size and cold-start download.
Pass --with-boto3 to bundle them (pinned by the resolver) where a newer SDK is ever needed.

Usage: python scripts/build_lambda_package.py [--output build/lambda.zip] [--with-boto3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("ledger", "api", "projections")
LAMBDA_PYTHON = "3.12"
# Lambda's python3.12 runtime runs on Amazon Linux 2023 (glibc 2.34): any of these wheels runs.
MANYLINUX_TAGS = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")
ARCHITECTURES = {"arm64": "aarch64", "x86_64": "x86_64"}
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
ZIPPED_LIMIT = 50 * 1024 * 1024  # direct upload of a zip
UNZIPPED_LIMIT = 250 * 1024 * 1024  # function code plus layers, unzipped
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
STRIPPED_DIRS = {"__pycache__", "tests", "test"}
STRIPPED_SUFFIXES = (".pyc", ".pyo")


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise SystemExit(f"cannot read a package name from {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def runtime_requirements(with_boto3: bool) -> list[str]:
    """[project].dependencies of pyproject.toml (the Lambda modules need mangum and powertools,
    which are listed there too), without what the Lambda runtime provides."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    names = {requirement_name(r) for r in requirements}
    for needed in ("mangum", "aws-lambda-powertools"):
        if needed not in names:
            raise SystemExit(f"{needed} must be in [project].dependencies of pyproject.toml")
    if with_boto3:
        return requirements
    return [r for r in requirements if requirement_name(r) not in RUNTIME_PROVIDED]


def pip_install(requirements: list[str], target: Path, arch: str) -> None:
    machine = ARCHITECTURES[arch]
    platforms = [arg for tag in MANYLINUX_TAGS for arg in ("--platform", f"{tag}_{machine}")]
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-warn-conflicts",
        "--root-user-action=ignore",
        "--no-compile",
        "--target",
        str(target),
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON,
        *platforms,
        "--only-binary=:all:",
        *requirements,
    ]
    print(f"pip: {len(requirements)} requirements for cp{LAMBDA_PYTHON} manylinux {machine}")
    subprocess.run(command, check=True)  # noqa: S603  argv built here: this interpreter's pip


def remove_runtime_provided(target: Path) -> None:
    """A dependency may still pull boto3/botocore in (aws-xray-sdk wants botocore): the runtime's
    own copy is the one that loads, so drop ours."""
    for entry in target.iterdir():
        name = entry.name.split("-")[0].lower()
        if name in RUNTIME_PROVIDED:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def copy_project(target: Path) -> None:
    for package in PROJECT_PACKAGES:
        source = ROOT / "src" / package
        if not (source / "__init__.py").is_file():
            raise SystemExit(f"src/{package} is not a package")
        shutil.copytree(source, target / package)


def kept(relative: Path) -> bool:
    if relative.parts[0] == "bin":  # console scripts, with this machine's interpreter path
        return False
    if any(part in STRIPPED_DIRS for part in relative.parts[:-1]):
        return False
    return not relative.name.endswith(STRIPPED_SUFFIXES)


def write_zip(source: Path, output: Path) -> tuple[int, int, int]:
    """Deterministic zip of `source`; returns (entries, unzipped bytes, zipped bytes)."""
    files = sorted(
        (path for path in source.rglob("*") if path.is_file() and kept(path.relative_to(source))),
        key=lambda path: path.relative_to(source).as_posix(),
    )
    unzipped = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = os.access(path, os.X_OK)
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            info.create_system = 3  # unix, so the modes above are honoured
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    partial.replace(output)
    return len(files), unzipped, output.stat().st_size


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "lambda.zip")
    parser.add_argument("--with-boto3", action="store_true", help="bundle boto3/botocore too")
    args = parser.parse_args()

    arch = os.environ.get("LAMBDA_ARCH", "arm64")
    if arch not in ARCHITECTURES:
        raise SystemExit(f"LAMBDA_ARCH must be one of {sorted(ARCHITECTURES)}, not {arch!r}")

    staging = ROOT / "build" / f"lambda-{arch}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    pip_install(runtime_requirements(args.with_boto3), staging, arch)
    if not args.with_boto3:
        remove_runtime_provided(staging)
    copy_project(staging)

    entries, unzipped, zipped = write_zip(staging, args.output)
    shutil.rmtree(staging)

    print(f"{args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}:")
    print(f"  architecture {arch}, python {LAMBDA_PYTHON}, {entries} files")
    print(f"  zipped   {megabytes(zipped):>9} of {megabytes(ZIPPED_LIMIT)} (direct upload limit)")
    print(f"  unzipped {megabytes(unzipped):>9} of {megabytes(UNZIPPED_LIMIT)} (code + layers)")
    over = []
    if zipped > ZIPPED_LIMIT:
        over.append("zipped size is over Lambda's direct upload limit (upload through S3)")
    if unzipped > UNZIPPED_LIMIT:
        over.append("unzipped size is over Lambda's 250 MB limit")
    for problem in over:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
