from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(container: ContainerDep) -> dict[str, Any]:
    """Liveness plus how far the read models trail the event store."""
    return {"status": "ok", "projections": container.freshness()}
