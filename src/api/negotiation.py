"""Content negotiation for reads that also export CSV: `Accept` with q-values honoured."""

from __future__ import annotations

CSV = "text/csv"
JSON = "application/json"


def _ranked(accept: str) -> list[tuple[float, int, str]]:
    ranked = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranked.append((quality, -position, media.lower()))
    return sorted(ranked, reverse=True)


def wants_csv(accept: str | None) -> bool:
    """True when text/csv ranks above application/json (ties: the earlier one listed)."""
    if not accept:
        return False
    for _quality, _position, media in _ranked(accept):
        if media == CSV:
            return True
        if media in (JSON, "application/*", "*/*", "application/problem+json"):
            return False
    return False
