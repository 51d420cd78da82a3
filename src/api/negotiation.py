"""Content negotiation for lists and reports: JSON, or CSV when the client prefers it.

`Accept` is read as RFC 9110 has it: media ranges with q-values (`text/csv;q=0.9`,
`text/*`, `*/*`); the most specific range that matches a type gives its weight, and a type with
`q=0` is not acceptable. CSV is sent only when it weighs more than JSON; on a tie, or when the
client accepts neither, the answer is JSON (the default representation)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from projections.spreadsheet import safe_text

JSON = "application/json"
CSV = "text/csv"
# A route's `responses=` when it answers CSV on request as well as JSON.
CSV_ALTERNATIVE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {CSV: {"schema": {"type": "string"}}},
        "description": "JSON, or CSV with `Accept: text/csv` (q-values honoured).",
    }
}


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    found = []
    for part in accept.split(",")[:50]:
        media, *params = (piece.strip() for piece in part.split(";"))
        if "/" not in media:
            continue
        kind, _, sub = media.lower().partition("/")
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    weight = 0.0
        found.append((kind, sub, weight))
    return found


def weight(accept: str | None, media_type: str) -> float:
    """How much the client wants `media_type` (1.0 when it sends no Accept)."""
    if not accept:
        return 1.0
    kind, _, sub = media_type.partition("/")
    best: tuple[int, float] | None = None  # (specificity, q)
    for range_kind, range_sub, q in _ranges(accept):
        if (range_kind, range_sub) == (kind, sub):
            specificity = 2
        elif range_kind == kind and range_sub == "*":
            specificity = 1
        elif (range_kind, range_sub) == ("*", "*"):
            specificity = 0
        else:
            continue
        if best is None or specificity > best[0]:
            best = (specificity, q)
    return 0.0 if best is None else best[1]


def wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept")
    return weight(accept, CSV) > weight(accept, JSON)


def csv_text(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """RFC 4180 CSV with a header row; list values joined with ';', None as empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    """Numbers as they are (a negative balance stays -7312); text that a spreadsheet would run
    as a formula (a reason of '=HYPERLINK(...)') is prefixed with an apostrophe (OWASP)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        value = ";".join(str(item) for item in value)
    return safe_text(str(value))


def csv_response(
    columns: Sequence[str], rows: Iterable[dict[str, Any]], headers: dict[str, str]
) -> Response:
    return Response(csv_text(columns, rows), media_type="text/csv", headers=headers)


def prefers_csv(accept: str | None) -> bool:
    """wants_csv for a route that reads the Accept header as a parameter."""
    return weight(accept, CSV) > weight(accept, JSON)
