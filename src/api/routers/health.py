from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import HealthDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(health: HealthDep) -> dict[str, Any]:
    """Liveness, how far the read models trail the event store, and how the event store makes
    a commit durable (the setting as a live connection reports it)."""
    return health()
