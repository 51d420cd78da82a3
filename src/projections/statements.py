"""Manufacturer statements and the platform P&L per accounting period (a calendar month, UTC),
computed from statement lines and the closes of the books. Pure: both stores serve the rows.

Each line has an effective time (when it happened; a late provider report says so) and a
recorded time. A line is *booked* into its effective period, unless that period was already
closed when the line was recorded: then it is booked into the first period open at that time,
as an adjustment that names the original. So:
- issued (the books as booked): a closed period holds exactly what was booked into it before
  it closed, forever; an open period is the same view, still moving (`current`).
- restated: every line in its effective period, as if everything had arrived on time.
In both views opening + movements = closing, and the last closing is the payable balance."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from projections.changes import LINE_KINDS
from projections.spreadsheet import safe_text

View = Literal["issued", "restated", "current"]
# Statement figures, each signed by its effect on what the platform owes the manufacturer.
MOVEMENTS = ("sales", "platform_fees", "refunds", "fees_returned", "disputes_lost", "payouts")
_FIGURE_OF = {
    "sale": "sales",
    "platform_fee": "platform_fees",
    "refund": "refunds",
    "fee_returned": "fees_returned",
    "dispute_lost": "disputes_lost",
    "payout": "payouts",
    "other": "adjustments",
}
_DISPUTE_FIGURE = {"dispute_opened": "disputes_opened", "dispute_won": "disputes_won"}
PNL_FIGURES = ("fee_revenue", "fees_returned", "provider_fees", "dispute_losses")
STATEMENT_ROWS = ("opening_balance", *MOVEMENTS, "adjustments", "closing_balance")
LINE_COLUMNS = (
    "currency",
    "kind",
    "amount",
    "source_type",
    "source_id",
    "payment_id",
    "effective_at",
    "recorded_at",
    "effective_period",
    "booked_period",
    "adjustment",
)


def next_period(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year + (month == 12):04d}-{month % 12 + 1:02d}"


def window(period: str) -> tuple[str, str]:
    """The period's start and the next one's, as the read models' time text. A line recorded
    before the start is booked before the period in either view (a close can only close months
    that have ended, and a line is never effective after it is recorded), so it counts only in
    the opening balance; a line effective from the end on is never in the period nor before.
    A statement so needs the lines recorded from the start and effective before the end, one
    by one, and the sum of the rest."""
    return f"{period}-01T00:00:00.000000Z", f"{next_period(period)}-01T00:00:00.000000Z"


@dataclass(frozen=True, slots=True)
class Books:
    """The closes of the books, each closing its period and every period before it."""

    closes: tuple[tuple[str, str], ...]  # (closed_at, period), by closed_at

    @classmethod
    def of(cls, rows: Iterable[dict[str, Any]]) -> Books:
        return cls(tuple(sorted((row["closed_at"], row["period"]) for row in rows)))

    def closed_through(self, at: str | None = None) -> str | None:
        """The last period closed at moment `at` (None: now)."""
        periods = [p for closed_at, p in self.closes if at is None or closed_at <= at]
        return max(periods) if periods else None

    def closed_at(self, period: str) -> str | None:
        """When period was closed (by its own close or a later period's), or None if open."""
        times = [closed_at for closed_at, p in self.closes if p >= period]
        return min(times) if times else None

    def booked_period(self, effective_period: str, recorded_at: str) -> str:
        through = self.closed_through(recorded_at)
        if through is None or effective_period > through:
            return effective_period
        return next_period(through)


def _amounts(row: dict[str, Any]) -> dict[str, int]:
    return {kind: int(row.get(kind) or 0) for kind in LINE_KINDS if row.get(kind)}


def _placed(lines: list[dict[str, Any]], books: Books) -> list[dict[str, Any]]:
    placed = []
    for row in lines:
        effective_period = row["effective_at"][:7]
        placed.append(
            {
                **row,
                "effective_period": effective_period,
                "booked_period": books.booked_period(effective_period, row["recorded_at"]),
                "amounts": _amounts(row),
            }
        )
    return placed


def _figures(
    lines: list[dict[str, Any]],
    period: str,
    key: str,
    adjusting: bool,
    opening: dict[str, int] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per currency: opening, movements, adjustments, closing, disputes, and the detail.
    opening: what lines not given moved before the period, per currency (see window)."""
    sections: dict[str, dict[str, Any]] = {}

    def section(currency: str) -> dict[str, Any]:
        if currency not in sections:
            sections[currency] = {
                "currency": currency,
                **dict.fromkeys(STATEMENT_ROWS, 0),
                "disputes_opened": {"count": 0, "amount": 0},
                "disputes_won": {"count": 0, "amount": 0},
                "lines": [],
            }
        return sections[currency]

    for currency, moved in (opening or {}).items():
        section(currency)["opening_balance"] += moved
    for line in lines:
        where = line[key]
        if where > period:
            continue
        figures = section(line["currency"])
        money = sum(v for k, v in line["amounts"].items() if k in _FIGURE_OF)
        if where < period:
            figures["opening_balance"] += money
            continue
        late = adjusting and line["booked_period"] != line["effective_period"]
        for kind, amount in line["amounts"].items():
            if kind in _FIGURE_OF:
                figures["adjustments" if late else _FIGURE_OF[kind]] += amount
            elif kind in _DISPUTE_FIGURE:
                figures[_DISPUTE_FIGURE[kind]]["amount"] += amount
                figures[_DISPUTE_FIGURE[kind]]["count"] += 1
            else:
                continue
            figures["lines"].append(
                {
                    "kind": kind,
                    "amount": amount,
                    "source_type": line["source_type"],
                    "source_id": line["source_id"],
                    "payment_id": line["payment_id"],
                    "effective_at": line["effective_at"],
                    "recorded_at": line["recorded_at"],
                    "effective_period": line["effective_period"],
                    "booked_period": line["booked_period"],
                    "adjustment": late and kind in _FIGURE_OF,
                }
            )
    for figures in sections.values():
        figures["closing_balance"] = figures["opening_balance"] + sum(
            figures[f] for f in (*MOVEMENTS, "adjustments")
        )
    return sections


def statement(
    lines: list[dict[str, Any]],
    closes: Iterable[dict[str, Any]],
    period: str,
    view: View,
    opening: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """A manufacturer's statement for period, one section per currency it has lines in: from
    all its lines, or from those window(period) selects and the opening of the rest."""
    books = Books.of(closes)
    placed = _placed(lines, books)
    if view == "restated":
        sections = _figures(placed, period, "effective_period", False, opening)
    else:
        sections = _figures(placed, period, "booked_period", True, opening)
    return [sections[c] for c in sorted(sections)]


def difference(
    restated: list[dict[str, Any]], issued: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """restated - issued, per currency and figure (only currencies where something differs)."""
    by_currency: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATEMENT_ROWS, 0))
    for sign, sections in ((1, restated), (-1, issued)):
        for section in sections:
            for row in STATEMENT_ROWS:
                by_currency[section["currency"]][row] += sign * section[row]
    return [
        {"currency": currency, **values}
        for currency, values in sorted(by_currency.items())
        if any(values.values())
    ]


def pnl(
    lines: list[dict[str, Any]], closes: Iterable[dict[str, Any]], period: str, view: View
) -> list[dict[str, Any]]:
    """The platform's P&L for period per currency: fee revenue less fees returned, provider fees
    and dispute losses, as positive figures; late lines (booked view) are adjustments."""
    books = Books.of(closes)
    key = "effective_period" if view == "restated" else "booked_period"
    sections: dict[str, dict[str, Any]] = {}
    for line in _placed(lines, books):
        if line[key] != period:
            continue
        figures = sections.setdefault(
            line["currency"],
            {"currency": line["currency"], **dict.fromkeys((*PNL_FIGURES, "adjustments"), 0)},
        )
        late = view != "restated" and line["booked_period"] != line["effective_period"]
        for kind in PNL_FIGURES:
            income = line["amounts"].get(kind, 0)
            if late:
                figures["adjustments"] += income
            else:
                figures[kind] += income if kind == "fee_revenue" else -income
    for figures in sections.values():
        figures["net"] = (
            figures["fee_revenue"]
            - figures["fees_returned"]
            - figures["provider_fees"]
            - figures["dispute_losses"]
            + figures["adjustments"]
        )
    return [sections[c] for c in sorted(sections)]


# ----- CSV ---------------------------------------------------------------------------------
def statement_csv(
    manufacturer_id: str, name: str, period: str, view: str, sections: list[dict[str, Any]]
) -> str:
    """One row per figure: the file alone reconciles (opening + the rows between = closing)."""
    name = safe_text(name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["manufacturer_id", "manufacturer_name", "period", "view", "currency", "line", "amount"]
    )
    for section in sections:
        for row in STATEMENT_ROWS:
            writer.writerow(
                [manufacturer_id, name, period, view, section["currency"], row, section[row]]
            )
        for kind in ("disputes_opened", "disputes_won"):
            for part in ("count", "amount"):
                writer.writerow(
                    [
                        manufacturer_id,
                        name,
                        period,
                        view,
                        section["currency"],
                        f"{kind}_{part}",
                        section[kind][part],
                    ]
                )
    return out.getvalue()


def lines_csv(manufacturer_id: str, period: str, sections: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["manufacturer_id", "period", *LINE_COLUMNS])
    for section in sections:
        for line in section["lines"]:
            writer.writerow(
                [manufacturer_id, period, section["currency"], *(line[c] for c in LINE_COLUMNS[1:])]
            )
    return out.getvalue()


PNL_COLUMNS = ("period", "view", "currency", *PNL_FIGURES, "adjustments", "net")


def pnl_csv(period: str, view: str, sections: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PNL_COLUMNS)
    for section in sections:
        writer.writerow([period, view, *(section[c] for c in PNL_COLUMNS[2:])])
    return out.getvalue()
