"""Baseline for the HTTP write-path benchmark: a bare FastAPI app whose one POST endpoint parses
a small JSON body (shaped like a payment) with pydantic and returns it.

It is served like `ledger serve` serves the ledger: `uvicorn.run` with one process, access log
off. Run it with `python -m bench.bare_app --port P` (it binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Literal

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, StrictInt, StrictStr

LOOPBACK = "127.0.0.1"


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


app = FastAPI(title="bench bare app")


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
    args = parser.parse_args(argv)
    uvicorn.run(app, host=LOOPBACK, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
