"""CSV cells a spreadsheet opens safely: text it would run as a formula (a name of
'=HYPERLINK(...)') gets a leading apostrophe (OWASP, CSV injection). Numbers are left alone, so
a negative balance stays -7312."""

from __future__ import annotations

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA) else text
