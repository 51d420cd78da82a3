"""The rules every route applies to a request before it runs: query parameters it does not
declare and bodies that are not JSON where it reads JSON are refused. One dependency, not two:
FastAPI's cost per dependency is paid on every request."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam

from api.media_type import refuse_other_media_types
from api.strict_query import refuse_unknown_query


async def request_rules(request: Request) -> None:
    await refuse_unknown_query(request)
    await refuse_other_media_types(request)


# Declared by every router and by the app itself (for routes added to it later): an
# architecture test checks that every route of the app has it.
REQUEST_RULES: list[DependsParam] = [Depends(request_rules)]
