"""Card numbers (PANs) in any spelling, so none is ever stored or logged.

The rule: after Unicode NFKC normalisation, with every Unicode decimal digit read as its ASCII
digit and percent-escapes decoded, any 13 to 19 digits that pass the Luhn check, with any
non-alphanumeric characters between them (spaces, tabs, dots, slashes, underscores, dashes,
no-break and zero-width spaces, ...), is a card number. Letters end a run of digits; every window
of 13 to 19 digits of a longer run is checked. Within a JSON document the string values of one
object (or array) are also read together, in order, so a number split across two values is
found. The ledger's own ids are exempt only in their exact canonical shape.

False positives this accepts: 13+ digits separated only by punctuation pass the Luhn check one
time in ten and are refused, for example a date and time written with a space and an offset
("2026-12-02 14:32:36+00:00"), or numeric strings side by side in one object ({"a": "123456",
"b": "7890123"}). Send times as ISO 8601 with "T" and "Z".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

MIN_DIGITS = 13
MAX_DIGITS = 19
_OUR_ID = re.compile(
    r"^(?:mfr|pay|po|key|sub)_[0-9a-f]{32}$|^(?:re|dp)_[0-9a-f]{32}_[1-9][0-9]{0,5}$"
)
# 13 digits that no letter interrupts, in ASCII: text without one holds no card number (the
# common case, decided by one regular expression instead of the walk below).
_ASCII_RUN = re.compile(r"[0-9](?:[^A-Za-z0-9]*[0-9]){12}")
# Luhn: a digit in a doubled place counts as 2d, less 9 when that is over 9.
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def is_our_id(text: str) -> bool:
    return _OUR_ID.match(text) is not None


def normalized(text: str) -> str:
    """NFKC, then every Unicode decimal digit (Arabic-Indic, Devanagari, ...) as ASCII."""
    folded = unicodedata.normalize("NFKC", text)
    if folded.isascii():
        return folded
    out = []
    for char in folded:
        value = unicodedata.decimal(char, None)
        out.append(str(value) if value is not None and not char.isascii() else char)
    return "".join(out)


def digit_runs(text: str) -> Iterator[list[int]]:
    """Runs of digits that no letter interrupts (anything else between them is a separator)."""
    run: list[int] = []
    for char in text:
        if "0" <= char <= "9":
            run.append(ord(char) - 48)
        elif char.isalpha():
            if len(run) >= MIN_DIGITS:
                yield run
            run = []
    if len(run) >= MIN_DIGITS:
        yield run


def _has_luhn_window(digits: list[int]) -> bool:
    """Whether any window of 13-19 digits passes Luhn, in linear time: prefix sums of the digits
    counted as if every even (even_doubled) or every odd place were doubled."""
    even_doubled = [0]
    odd_doubled = [0]
    for index, digit in enumerate(digits):
        doubled = _DOUBLED[digit]
        even_doubled.append(even_doubled[-1] + (doubled if index % 2 == 0 else digit))
        odd_doubled.append(odd_doubled[-1] + (digit if index % 2 == 0 else doubled))
    for end in range(MIN_DIGITS, len(digits) + 1):
        # The last digit of a window is never doubled: the places of the other parity are.
        sums = odd_doubled if (end - 1) % 2 == 0 else even_doubled
        for length in range(MIN_DIGITS, min(MAX_DIGITS, end) + 1):
            if (sums[end] - sums[end - length]) % 10 == 0:
                return True
    return False


def contains_card_number(text: str) -> bool:
    """Whether text holds a card number in any spelling (see the module docstring)."""
    if text.isascii() and "%" not in text and _ASCII_RUN.search(text) is None:
        return False
    variants = {text}
    if "%" in text:
        variants.add(unquote(text))
    for variant in variants:
        for run in digit_runs(normalized(variant)):
            if _has_luhn_window(run):
                return True
    return False


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) else None


# Where a JSON body may carry one of the ledger's ids: the value is exempt there (and only
# there) when it is an id in its exact shape. An id-shaped value anywhere else (metadata, a
# reason) is read like any text: "mfr_" + 32 digits is as much a card number as 32 digits.
ID_PATHS = frozenset({("manufacturer_id",), ("splits", "*", "manufacturer_id")})
Path = tuple[str, ...]


def json_contains_card_number(
    document: Any, exempt: frozenset[Path] = frozenset(), id_paths: frozenset[Path] = ID_PATHS
) -> bool:
    """Every key and value of a decoded JSON document (escapes like \u0034 are decoded), and
    the string values of each object or array read together in order. Values at exempt paths
    (bank account numbers on the one route that takes them) are skipped; at id_paths a canonical
    id is exempt. Iterative, so a document's depth cannot exhaust the stack (the guard bounds
    it too)."""
    stack: list[tuple[Path, Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        if path in exempt or (path in id_paths and isinstance(node, str) and is_our_id(node)):
            continue
        if isinstance(node, dict):
            if any(contains_card_number(str(key)) for key in node):
                return True
            children = [((*path, str(key)), item) for key, item in node.items()]
        elif isinstance(node, list):
            children = [((*path, "*"), item) for item in node]
        else:
            text = _scalar_text(node)
            if text is not None and contains_card_number(text):
                return True
            continue
        together = [
            item
            for child, item in children
            if isinstance(item, str)
            and child not in exempt
            and not (child in id_paths and is_our_id(item))
        ]
        # Joined as they are: a separator between two values changes no run of digits, and a
        # percent-escape split across them still decodes.
        if len(together) > 1 and contains_card_number("".join(together)):
            return True
        stack.extend(children)
    return False
