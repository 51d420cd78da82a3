from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import QueriesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(queries: QueriesDep) -> dict[str, Any]:
    """Liveness plus how far the read models trail the event store."""
    return {"status": "ok", "projections": queries.freshness()}
