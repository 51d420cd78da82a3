"""Which methods a path takes, and 405 with an `Allow` header naming exactly those (issue 11,
item 12).

Starlette's router answers a method no route takes with the methods of the first route whose
path matched, so `/v1/payments` was said to allow only POST; and a literal path fell through to
a templated one for a method it does not take (`PATCH /v1/keys/me` reached
`/v1/keys/{key_id}`). Here every route whose path matches counts, a literal match wins over
templated ones, and a method the path does not take is answered before routing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from re import Pattern
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem

STATIC_METHODS = frozenset({"GET", "HEAD"})  # what the app's mounts (static files) answer


@dataclass(frozen=True, slots=True)
class Target:
    regex: Pattern[str]
    convertors: dict[str, Any]
    methods: frozenset[str]
    path_format: str | None = None

    @property
    def literal(self) -> bool:
        return not self.convertors

    def matches(self, path: str) -> bool:
        found = self.regex.match(path)
        if found is None:
            return False
        try:  # a convertor that refuses its segment means the route does not match
            for name, value in found.groupdict().items():
                self.convertors[name].convert(value)
        except (KeyError, ValueError):
            return False
        return True


def route_path(scope: Scope) -> str:
    """The path the app's routes see: without the root path a proxy (or Lambda stage) adds."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


def targets(routes: Sequence[BaseRoute]) -> list[Target]:
    """Every route of an app (through included routers), as the paths it matches."""
    found = []
    for context in iter_route_contexts(routes):
        regex = getattr(context, "path_regex", None)
        if regex is None:
            continue
        if isinstance(context.original_route, Mount):
            methods = STATIC_METHODS
        else:
            methods = frozenset(context.methods or ())
        path_format = getattr(context, "path_format", None)
        found.append(Target(regex, dict(context.param_convertors), methods, path_format))
    return found


PREFIX_SEGMENTS = 2


def _segments(path: str) -> tuple[str, ...]:
    return tuple(path.split("/")[1 : PREFIX_SEGMENTS + 1])


class MethodTable:
    """The targets indexed by the literal segments their path starts with (up to two: `v1`,
    `payments`), so a request tries the routes under its own prefix, not all of them; the
    answer is exactly `allowed_methods(targets, path)`'s (property-tested)."""

    def __init__(self, table: Sequence[Target]) -> None:
        self._by_prefix: dict[tuple[str, ...], list[Target]] = {}
        for target in table:
            literal: list[str] = []
            for segment in _segments(target.path_format or ""):
                if "{" in segment:
                    break
                literal.append(segment)
            self._by_prefix.setdefault(tuple(literal), []).append(target)

    def allowed(self, path: str) -> frozenset[str] | None:
        segments = _segments(path)
        candidates: list[Target] = []
        for n in range(len(segments) + 1):
            candidates += self._by_prefix.get(segments[:n], ())
        return allowed_methods(candidates, path)


def allowed_methods(table: Sequence[Target], path: str) -> frozenset[str] | None:
    """The methods `path` takes; None when no route has that path (a 404, not a 405)."""
    matching = [target for target in table if target.matches(path)]
    if not matching:
        return None
    literal = [target for target in matching if target.literal]
    return frozenset().union(*(target.methods for target in literal or matching))


def allow_header(methods: frozenset[str]) -> str:
    return ", ".join(sorted(methods))


class MethodGate:
    """Pure ASGI: 405 `method-not-allowed` with `Allow` for a method the path does not take."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes
        self._table: MethodTable | None = None  # built once all routes are in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self._table is None:
                self._table = MethodTable(targets(self.routes))
            allowed = self._table.allowed(route_path(scope))
            if allowed is not None and scope.get("method") not in allowed:
                methods = allow_header(allowed)
                response = problem(405, "method-not-allowed", f"This path takes {methods} only.")
                response.headers["Allow"] = methods
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
