"""Unknown query parameters are refused, never ignored (issue 12, item 7).

One app-wide dependency compares the request's query keys with the parameters the matched route
declares (its own and its dependencies'), so a route added later gets the rule without doing
anything. A parameter that takes one value may appear once: `?status=a&status=b` is refused
rather than silently read as `b`. Enum-valued filters are Literal types, so FastAPI refuses an
unknown value (422 validation-failed) before the route runs."""

from __future__ import annotations

import typing
from dataclasses import dataclass

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.deps import ApiError


@dataclass(frozen=True, slots=True)
class Declared:
    names: frozenset[str]
    repeatable: frozenset[str]


_DECLARED: dict[int, Declared] = {}


def _takes_many(annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, set, tuple, frozenset):
        return True
    return any(_takes_many(arg) for arg in typing.get_args(annotation) if arg is not type(None))


def declared_query(dependant: Dependant) -> Declared:
    """Every query parameter a route reads, through its dependencies."""
    names: set[str] = set()
    repeatable: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            annotation = field.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                for name, inner in annotation.model_fields.items():
                    names.add(inner.alias or name)
                    if _takes_many(inner.annotation):
                        repeatable.add(inner.alias or name)
                continue
            names.add(field.alias)
            if _takes_many(annotation):
                repeatable.add(field.alias)
        pending.extend(current.dependencies)
    return Declared(frozenset(names), frozenset(repeatable))


def _declared_for(route: APIRoute) -> Declared:
    found = _DECLARED.get(id(route))
    if found is None:
        found = _DECLARED[id(route)] = declared_query(route.dependant)
    return found


async def refuse_unknown_query(request: Request) -> None:
    """The app-wide dependency: 422 `unknown-query-parameter` or `repeated-query-parameter`."""
    if not request.scope.get("query_string"):
        return  # nothing to check, and no query string parsed for it
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    declared = _declared_for(route)
    keys = request.query_params.keys()
    unknown = sorted({key for key in keys if key not in declared.names})
    if unknown:
        allowed = ", ".join(sorted(declared.names)) or "none"
        raise ApiError(
            422,
            "unknown-query-parameter",
            f"Unknown query parameter(s): {', '.join(_shown(k) for k in unknown)}. "
            f"This route takes: {allowed}.",
        )
    repeated = sorted(
        {
            key
            for key in keys
            if key not in declared.repeatable and len(request.query_params.getlist(key)) > 1
        }
    )
    if repeated:
        raise ApiError(
            422,
            "repeated-query-parameter",
            f"Query parameter(s) given more than once: {', '.join(repeated)}.",
        )


def _shown(key: str) -> str:
    """A parameter name as the problem repeats it: short and printable (the card guard has
    already refused any card number in the query)."""
    shown = "".join(c if c.isascii() and (c.isalnum() or c in "_-.") else "?" for c in key[:40])
    return f"'{shown}'"
