"""Request dependencies as Annotated aliases."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from pydantic import BaseModel
from starlette.responses import Response

from api.problems import PROBLEM_JSON, render_error
from ledger.application.errors import Forbidden
from ledger.application.principal import Principal
from ledger.application.service import IdempotencyContext, LedgerService
from ledger.application.unit_of_work import UnitOfWork
from ledger.bootstrap import Container
from ledger.domain.errors import DomainError
from projections.store import ReadModelStore

T = TypeVar("T")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class ApiError(Exception):
    """An HTTP-level problem raised before any command runs (auth, headers, query values)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_service(container: ContainerDep) -> LedgerService:
    return container.service


ServiceDep = Annotated[LedgerService, Depends(get_service)]


async def get_principal(
    service: ServiceDep, request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    if not authorization or not authorization.startswith("Bearer "):
        raise ApiError(401, "unauthenticated", "Send an API key as 'Authorization: Bearer <key>'.")
    principal = service.authenticate(authorization[len("Bearer ") :].strip())
    if principal is None:
        raise ApiError(401, "unauthenticated", "The API key is not valid.")
    request.state.key_id = principal.key_id
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        if not principal.has(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope")
        return principal

    return check


PaymentsRead = Annotated[Principal, Depends(require_scope("payments:read"))]


async def _reads_anything(principal: PrincipalDep) -> Principal:
    if not (principal.has("payments:read") or principal.has("finance:read")):
        raise Forbidden("this API key lacks the 'payments:read' or 'finance:read' scope")
    return principal


AnyRead = Annotated[Principal, Depends(_reads_anything)]
FinanceRead = Annotated[Principal, Depends(require_scope("finance:read"))]
PaymentsWrite = Annotated[Principal, Depends(require_scope("payments:write"))]
AdminKey = Annotated[Principal, Depends(require_scope("admin"))]
PayoutsApprove = Annotated[Principal, Depends(require_scope("payouts:approve"))]
RefundsApprove = Annotated[Principal, Depends(require_scope("refunds:approve"))]


def _idempotency(
    request: Request, principal: Principal, key: str | None, body: Any
) -> IdempotencyContext:
    if key is None:
        raise ApiError(
            400,
            "idempotency-key-missing",
            "This request moves money: send an Idempotency-Key header (a unique value per "
            "operation, reused only to retry it).",
        )
    if not _IDEMPOTENCY_KEY.match(key):
        raise ApiError(
            400,
            "idempotency-key-invalid",
            "Idempotency-Key must be 1-255 visible ASCII characters.",
        )
    canonical = (
        json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        if isinstance(body, BaseModel)
        else ""
    )
    fingerprint = hashlib.sha256(
        f"{request.method} {request.url.path}\n{canonical}".encode()
    ).hexdigest()
    return IdempotencyContext(api_key_id=principal.key_id, key=key, fingerprint=fingerprint)


def run_command(
    request: Request,
    service: LedgerService,
    principal: Principal,
    command: Callable[[UnitOfWork], T],
    render: Callable[[T], BaseModel],
    *,
    status: int,
    idempotency_key: str | None,
    body: BaseModel | None,
    required: bool = True,
) -> Response:
    """Run a command, keyed by Idempotency-Key when given (required for money moves)."""
    context = None
    if idempotency_key is not None or required:
        context = _idempotency(request, principal, idempotency_key, body)
    try:
        result = service.run(
            command,
            lambda value: (status, render(value).model_dump_json()),
            render_error=render_error,
            idempotency=context,
        )
    except DomainError as error:
        code, text = render_error(error)
        return Response(text, status_code=code, media_type=PROBLEM_JSON)
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    media = PROBLEM_JSON if result.status_code >= 400 else "application/json"
    return Response(result.body, status_code=result.status_code, media_type=media, headers=headers)


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required on requests that create or move money; a retry with the same key "
        "and body replays the first response.",
    ),
]


def get_fresh_read_models(container: ContainerDep) -> ReadModelStore:
    return container.fresh_read_models()


ReadModelsDep = Annotated[ReadModelStore, Depends(get_fresh_read_models)]
