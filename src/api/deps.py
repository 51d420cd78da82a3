"""Request dependencies as Annotated aliases: who is calling (authentication only: the
application checks scopes), the narrow parts of the application a route uses, and `Send`, which
runs a command under the request's Idempotency-Key and answers in HTTP's terms."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.responses import Response

from api.problems import PROBLEM_JSON, problem_body, render_error
from ledger.application.api_keys import ApiKeys
from ledger.application.bank_accounts import BankAccountSealer
from ledger.application.engine import Command, Engine
from ledger.application.ports import WebhookSource
from ledger.application.principal import Principal, scopes_of
from ledger.application.queries import Queries
from ledger.application.replies import Idempotency, Reply
from ledger.application.settlement_reports import SettlementReports
from ledger.bootstrap import Container
from ledger.domain.errors import DomainError

T = TypeVar("T")
IDEMPOTENCY_KEY_PATTERN = "^[!-~]{1,255}$"  # visible ASCII
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
REFUSED = 409  # a stored refusal is always a refused transition


class ApiError(Exception):
    """An HTTP-level problem raised before any command runs (auth, headers, query values)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def _engine(request: Request) -> Engine:
    return _container(request).engine


async def _queries(request: Request) -> Queries:
    return _container(request).queries


async def _keys(request: Request) -> ApiKeys:
    return _container(request).keys


async def _vault(request: Request) -> BankAccountSealer | None:
    return _container(request).vault


async def _settlement_reports(request: Request) -> SettlementReports:
    return _container(request).settlement_reports


async def _webhook_sources(request: Request) -> dict[str, WebhookSource]:
    return _container(request).webhook_sources


EngineDep = Annotated[Engine, Depends(_engine)]


async def _health(request: Request) -> Callable[[], dict[str, Any]]:
    return _container(request).health


def _ready(request: Request) -> Callable[[], None]:
    return _container(request).ready


QueriesDep = Annotated[Queries, Depends(_queries)]
KeysDep = Annotated[ApiKeys, Depends(_keys)]
HealthDep = Annotated[Callable[[], dict[str, Any]], Depends(_health)]
ReadyDep = Annotated[Callable[[], None], Depends(_ready)]
VaultDep = Annotated[BankAccountSealer | None, Depends(_vault)]
SettlementReportsDep = Annotated[SettlementReports, Depends(_settlement_reports)]
WebhookSourcesDep = Annotated[dict[str, WebhookSource], Depends(_webhook_sources)]


# Declared as the OpenAPI document's Bearer scheme, so /docs has an Authorize button; a missing
# or malformed header is answered below (a problem, not FastAPI's own 403).
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key from `ledger keys create`, sent as `Authorization: Bearer <key>`.",
)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _authenticated(request: Request, keys: ApiKeys, credentials: Credentials) -> Principal:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "unauthenticated", "Send an API key as 'Authorization: Bearer <key>'.")
    principal = keys.authenticate(credentials.credentials.strip())
    if principal is None:
        raise ApiError(401, "unauthenticated", "The API key is not valid.")
    # What request.state.key_id = ... does, without building a State object a request.
    request.scope.setdefault("state", {})["key_id"] = principal.key_id
    return principal


async def get_principal(
    request: Request, keys: Annotated[ApiKeys, Depends(_keys)], credentials: Credentials = None
) -> Principal:
    return _authenticated(request, keys, credentials)


Caller = Annotated[Principal, Depends(get_principal)]


def needs(use_case: Callable[..., object]) -> params.Depends:
    """A route dependency: the caller holds a scope the use case requires, checked before the
    request's body is read, so a key without it learns nothing about what it sent."""
    scopes = scopes_of(use_case)

    async def check(principal: Caller) -> None:
        principal.require(*scopes)

    checked: params.Depends = Depends(check)
    return checked


def fingerprint(request: Request, body: BaseModel | None) -> str:
    """What a keyed request said: a retry must say the same."""
    canonical = (
        json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        if body is not None
        else ""
    )
    return hashlib.sha256(f"{request.method} {url_path(request)}\n{canonical}".encode()).hexdigest()


def url_path(request: Request) -> str:
    """request.url.path (what fingerprints were made of) without building the whole URL on every
    keyed request: Starlette escapes three characters of the scope's path, and urlsplit drops
    tabs and line breaks."""
    path: str = request.scope["path"]
    for dropped in "\t\r\n":
        path = path.replace(dropped, "")
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


def answer(reply: Reply, status: int) -> Response:
    """A reply in HTTP's terms: the route's status, or a stored refusal as its problem."""
    headers = {"Idempotent-Replayed": "true"} if reply.replayed else {}
    if reply.refusal is not None:
        body = problem_body(REFUSED, reply.refusal, reply.body)
        return Response(body, status_code=REFUSED, media_type=PROBLEM_JSON, headers=headers)
    return Response(reply.body, status_code=status, media_type="application/json", headers=headers)


class Sender:
    """Runs a route's command: keyed by the request's Idempotency-Key when it has one (required
    for money moves), its result rendered with the route's response model."""

    def __init__(
        self,
        engine: Engine,
        request: Request,
        principal: Principal,
        key: str | None,
        *,
        required: bool = True,
    ) -> None:
        self._engine = engine
        self._request = request
        self.principal = principal
        self._key = key
        self._required = required

    def _idempotency(self, body: BaseModel | None) -> Idempotency:
        if self._key is None:
            raise ApiError(
                400,
                "idempotency-key-missing",
                "This request moves money: send an Idempotency-Key header (a unique value per "
                "operation, reused only to retry it).",
            )
        if not _IDEMPOTENCY_KEY.match(self._key):
            raise ApiError(
                400,
                "idempotency-key-invalid",
                "Idempotency-Key must be 1-255 visible ASCII characters.",
            )
        return Idempotency(
            self.principal.account,
            self._key,
            fingerprint(self._request, body),
            legacy_account=self.principal.key_id,
        )

    def __call__(
        self,
        command: Command[T],
        render: Callable[[T], BaseModel],
        *,
        status: int = 200,
        body: BaseModel | None = None,
    ) -> Response:
        keyed = self._idempotency(body) if self._key is not None or self._required else None
        try:
            reply = self._engine.run(command, _rendered(render), keyed)
        except DomainError as error:
            return _problem(error)
        return answer(reply, status)

    async def run(
        self,
        command: Command[T],
        render: Callable[[T], BaseModel],
        *,
        status: int = 200,
        body: BaseModel | None = None,
    ) -> Response:
        """The same from an async route: the event loop only waits for the command writer."""
        keyed = self._idempotency(body) if self._key is not None or self._required else None
        try:
            reply = await self._engine.run_async(command, _rendered(render), keyed)
        except DomainError as error:
            return _problem(error)
        return answer(reply, status)


def _rendered(render: Callable[[T], BaseModel]) -> Callable[[T], str]:
    return lambda result: render(result).model_dump_json()


def _problem(error: DomainError) -> Response:
    code, text = render_error(error)
    return Response(text, status_code=code, media_type=PROBLEM_JSON)


IDEMPOTENCY_KEY = "Idempotency-Key"
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY,
        description="A unique value per operation (1-255 visible ASCII characters), reused only "
        "to retry it: a retry with the same key and body replays the first response.",
    ),
]


async def get_sender(
    request: Request, principal: Caller, idempotency_key: IdempotencyKeyHeader = None
) -> Sender:
    """For requests that move money: an Idempotency-Key is required (400 without one)."""
    return Sender(_container(request).engine, request, principal, idempotency_key)


async def get_optional_key_sender(
    request: Request, principal: Caller, idempotency_key: IdempotencyKeyHeader = None
) -> Sender:
    """For changes that move no money: keyed when the client sends an Idempotency-Key."""
    engine = _container(request).engine
    return Sender(engine, request, principal, idempotency_key, required=False)


Send = Annotated[Sender, Depends(get_sender)]
SendKeyOptional = Annotated[Sender, Depends(get_optional_key_sender)]
# The dependencies that run commands (the OpenAPI document declares their answers), and those of
# them that require an Idempotency-Key.
SENDERS: set[Callable[..., object]] = {get_sender, get_optional_key_sender}
KEY_REQUIRED: set[Callable[..., object]] = {get_sender}
# The `sending(...)` dependencies, called as (request, credentials, idempotency_key) by
# api.hot_routes for the requests it answers itself.
HOT_SENDERS: set[Callable[..., object]] = set()


def sending(use_case: Callable[..., object]) -> params.Depends:
    """needs(use_case), Caller and Send in one dependency, for the routes every payment takes:
    each dependency FastAPI solves costs the event loop tens of microseconds a request. The
    caller is `sender.principal`."""
    scopes = scopes_of(use_case)

    async def sender(
        request: Request,
        credentials: Credentials = None,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Sender:
        container = _container(request)
        principal = _authenticated(request, container.keys, credentials)
        principal.require(*scopes)
        return Sender(container.engine, request, principal, idempotency_key)

    SENDERS.add(sender)
    KEY_REQUIRED.add(sender)
    HOT_SENDERS.add(sender)
    depends: params.Depends = Depends(sender)
    return depends
