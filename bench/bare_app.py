"""Baseline for the HTTP write-path benchmark: a bare FastAPI app whose one POST endpoint parses
a small JSON body (shaped like a payment) with pydantic and returns it.

It is served like `ledger serve` serves the ledger: `uvicorn.run` with one process, access log
off, log level warning, and the same number of request threads (`--worker-threads`, the ledger's
LEDGER_WORKER_THREADS, 8 by default). Run it with `python -m bench.bare_app --port P` (it binds
127.0.0.1 only).
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Literal

import uvicorn
from anyio import to_thread
from fastapi import FastAPI
from pydantic import BaseModel, StrictInt, StrictStr

LOOPBACK = "127.0.0.1"
DEFAULT_WORKER_THREADS = 8  # the ledger's default (LEDGER_WORKER_THREADS)


class Split(BaseModel):
    manufacturer_id: StrictStr
    amount: StrictInt


class Echo(BaseModel):
    amount: StrictInt
    currency: StrictStr
    customer_id: StrictStr
    payment_method: StrictStr
    capture_method: Literal["automatic", "manual"]
    splits: list[Split]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # As the ledger's app does: plain `def` routes run on at most this many threads.
    to_thread.current_default_thread_limiter().total_tokens = app.state.worker_threads
    yield


app = FastAPI(title="bench bare app", lifespan=lifespan)
app.state.worker_threads = DEFAULT_WORKER_THREADS


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/echo", response_model=Echo)
def echo(body: Echo) -> Echo:
    # A plain `def`, like the ledger's routes: FastAPI runs it in its thread pool.
    return body


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bare FastAPI baseline for benchmarks.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--worker-threads",
        type=int,
        default=DEFAULT_WORKER_THREADS,
        help="threads serving requests, as LEDGER_WORKER_THREADS for the ledger (%(default)s)",
    )
    args = parser.parse_args(argv)
    app.state.worker_threads = args.worker_threads
    uvicorn.run(app, host=LOOPBACK, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
