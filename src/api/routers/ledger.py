from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from api.currencies import CURRENCY_SCHEMA
from api.deps import Caller, QueriesDep, needs
from api.listings import LIST_RESPONSES, AccountList, AccountSummary, Cursor, answer_list
from api.negotiation import CSV_ALTERNATIVE, prefers_csv
from api.request_rules import REQUEST_RULES
from api.schemas import (
    MOMENT_SCHEMA,
    BalanceOut,
    FreshnessOut,
    TrialBalanceCurrency,
    TrialBalanceLine,
    TrialBalanceOut,
)
from ledger.application.queries import Queries
from ledger.domain.accounts import balance_normal, normal_balance

router = APIRouter(prefix="/v1", tags=["ledger"], dependencies=REQUEST_RULES)

AsOf = Annotated[
    str | None, Query(description="ISO 8601 date-time with zone", json_schema_extra=MOMENT_SCHEMA)
]
TRIAL_BALANCE_COLUMNS = (
    "currency",
    "account",
    "debits",
    "credits",
    "balance",
    "normal_balance",
    "balance_normal",
)


@router.get(
    "/accounts/{name}/balance", response_model=BalanceOut, dependencies=[needs(Queries.balance)]
)
def account_balance(
    name: str,
    principal: Caller,
    queries: QueriesDep,
    currency: Annotated[str, Query(min_length=3, max_length=3, json_schema_extra=CURRENCY_SCHEMA)],
    as_of: AsOf = None,
) -> BalanceOut:
    """An account's balance (debits - credits), now or as of a moment in the past, and the
    same balance on the account's normal side (`balance_normal`: a payable reads positive)."""
    debits, credits, moment = queries.balance(principal, name, currency, as_of)
    return BalanceOut(
        account=name,
        currency=currency,
        debits=debits,
        credits=credits,
        balance=debits - credits,
        normal_balance=normal_balance(name),
        balance_normal=balance_normal(name, debits, credits),
        as_of=moment,
        freshness=FreshnessOut(**queries.freshness()),
    )


@router.get(
    "/ledger/trial-balance",
    response_model=TrialBalanceOut,
    responses=CSV_ALTERNATIVE,
    dependencies=[needs(Queries.trial_balance)],
)
def trial_balance(
    principal: Caller,
    queries: QueriesDep,
    as_of: AsOf = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Every account's balance per currency, now or as of a moment (postings at or before it);
    each currency's balances sum to zero. CSV with `Accept: text/csv`."""
    rows, moment = queries.trial_balance(principal, as_of)
    grouped: dict[str, list[TrialBalanceLine]] = defaultdict(list)
    for row in rows:
        grouped[row["currency"]].append(
            TrialBalanceLine(
                account=row["account"],
                debits=row["debits"],
                credits=row["credits"],
                balance=row["debits"] - row["credits"],
                normal_balance=normal_balance(row["account"]),
                balance_normal=balance_normal(row["account"], row["debits"], row["credits"]),
            )
        )
    if prefers_csv(accept):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(TRIAL_BALANCE_COLUMNS)
        for code, lines in sorted(grouped.items()):
            for line in lines:
                writer.writerow([code, *(getattr(line, c) for c in TRIAL_BALANCE_COLUMNS[1:])])
        return Response(out.getvalue(), media_type="text/csv")
    currencies = []
    for code, lines in sorted(grouped.items()):
        debits = sum(line.debits for line in lines)
        credits = sum(line.credits for line in lines)
        currencies.append(
            TrialBalanceCurrency(
                currency=code,
                accounts=lines,
                total_debits=debits,
                total_credits=credits,
                balanced=debits == credits,
            )
        )
    body = TrialBalanceOut(
        as_of=moment, currencies=currencies, freshness=FreshnessOut(**queries.freshness())
    )
    return Response(body.model_dump_json(), media_type="application/json")


@router.get(
    "/ledger/accounts",
    response_model=AccountList,
    responses=LIST_RESPONSES,
    dependencies=[needs(Queries.accounts_page)],
)
def list_accounts(
    request: Request,
    principal: Caller,
    queries: QueriesDep,
    prefix: Annotated[
        str | None,
        Query(max_length=200, description="Only accounts whose name starts with this."),
    ] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AccountList | Response:
    """Every account with postings, one row per currency, by account name then currency, with
    its debits, credits and balance (debits - credits; see the chart of accounts for signs). A
    bound key lists only its own accounts. JSON, or CSV with `Accept: text/csv`."""
    page = queries.accounts_page(principal, prefix=prefix, cursor=cursor, limit=limit)
    data = [AccountSummary(**row, balance=row["debits"] - row["credits"]) for row in page.rows]
    return answer_list(request, AccountList, data, page.next_cursor, queries.freshness())
