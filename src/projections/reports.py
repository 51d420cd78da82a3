"""Manufacturer reports: per day and per month, per currency, from the read models."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from ledger.domain import accounts
from projections.store import ReadModelStore

FIELDS = ("gross_captured", "fees", "refunds", "disputes_lost", "net_payable", "payouts")


def month_bounds(period: str) -> tuple[date, date]:
    """'YYYY-MM' -> (first day, first day of next month)."""
    year, month = (int(part) for part in period.split("-"))
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def _owed(store: ReadModelStore, manufacturer_id: str, currency: str, before: date) -> int:
    """Payable balance owed to the manufacturer at the start of `before` (credit balance)."""
    account = accounts.manufacturer_payable(manufacturer_id)
    debits, credits = store.balance(
        account, currency, f"{(before - timedelta(days=1)).isoformat()}T23:59:59.999999Z"
    )
    return credits - debits


def _with_net(row: dict[str, Any]) -> dict[str, Any]:
    row["net_payable"] = row["gross_captured"] - row["fees"] - row["refunds"] - row["disputes_lost"]
    return row


def manufacturer_report(
    store: ReadModelStore, manufacturer_id: str, start: date, end: date
) -> list[dict[str, Any]]:
    """One section per currency for [start, end): opening and closing payable balances, totals,
    and day and month breakdowns. Reconciles: opening + net_payable - payouts = closing."""
    day_rows = store.report_days(manufacturer_id, start.isoformat(), end.isoformat())
    by_currency: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in day_rows:
        by_currency[row["currency"]].append(row)
    sections = []
    for currency in sorted(set(by_currency) | set(store.currencies_of(manufacturer_id))):
        days = []
        months: dict[str, dict[str, int]] = {}
        totals = dict.fromkeys(("gross_captured", "fees", "refunds", "disputes_lost", "payouts"), 0)
        for row in by_currency.get(currency, []):
            day = date.fromisoformat(row["day"])
            values = {k: int(row[k]) for k in totals}
            closing = _owed(store, manufacturer_id, currency, day + timedelta(days=1))
            days.append(
                _with_net({"day": row["day"], **values, "closing_payable_balance": closing})
            )
            month = months.setdefault(row["day"][:7], dict.fromkeys(totals, 0))
            for key, value in values.items():
                month[key] += value
                totals[key] += value
        opening = _owed(store, manufacturer_id, currency, start)
        closing = _owed(store, manufacturer_id, currency, end)
        if not days and opening == 0 and closing == 0:
            continue
        month_rows = []
        for period, values in sorted(months.items()):
            _m_start, m_end = month_bounds(period)
            month_rows.append(
                _with_net(
                    {
                        "month": period,
                        **values,
                        "closing_payable_balance": _owed(
                            store, manufacturer_id, currency, min(m_end, end)
                        ),
                    }
                )
            )
        sections.append(
            {
                "currency": currency,
                "opening_payable_balance": opening,
                **_with_net(dict(totals)),
                "closing_payable_balance": closing,
                "days": days,
                "months": month_rows,
            }
        )
    return sections


def report_csv(manufacturer_id: str, sections: list[dict[str, Any]]) -> str:
    """Rows per day, then per month, then the period total; amounts in minor units."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["manufacturer_id", "currency", "granularity", "period", *FIELDS, "closing_payable_balance"]
    )
    for section in sections:
        for row in section["days"]:
            writer.writerow(
                [manufacturer_id, section["currency"], "day", row["day"]]
                + [row[f] for f in FIELDS]
                + [row["closing_payable_balance"]]
            )
        for row in section["months"]:
            writer.writerow(
                [manufacturer_id, section["currency"], "month", row["month"]]
                + [row[f] for f in FIELDS]
                + [row["closing_payable_balance"]]
            )
        writer.writerow(
            [manufacturer_id, section["currency"], "total", ""]
            + [section[f] for f in FIELDS]
            + [section["closing_payable_balance"]]
        )
    return out.getvalue()
