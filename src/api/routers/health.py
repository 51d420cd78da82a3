"""Health for people and monitors (/healthz) and readiness for load balancers (/readyz)."""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from api.deps import HealthDep, ReadyDep
from api.request_rules import REQUEST_RULES

router = APIRouter(tags=["health"], dependencies=REQUEST_RULES)
log = logging.getLogger(__name__)


@router.get("/healthz")
def healthz(health: HealthDep) -> dict[str, Any]:
    """Liveness (always 200 while the process answers) and status: `ok`, or `degraded` with
    its `problems` while a dead-letter queue holds anything (`dead_letters`, per queue) or the
    read models trail by over a minute (`projections.lag_seconds`, the age of the oldest event
    not yet applied); and how the event store makes a commit durable."""
    return health()


class ReadyOut(BaseModel):
    status: Literal["ready", "unavailable"]
    reason: str | None = Field(None, description="Why not ready: the failing check's error type.")


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={
        503: {
            "model": ReadyOut,
            "description": "Not ready: the event store or the read models do not answer",
        }
    },
)
def readyz(ready: ReadyDep) -> JSONResponse:
    """For load balancers: 200 while the event store and the read models answer (uvicorn
    serves nothing before startup has caught the read models up); 503 otherwise: take the
    instance out of rotation. A degraded ledger is still ready."""
    try:
        ready()
    except Exception as error:
        log.warning("not ready: %s", type(error).__name__)
        return JSONResponse({"status": "unavailable", "reason": type(error).__name__}, 503)
    return JSONResponse({"status": "ready"})
