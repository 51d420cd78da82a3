from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.deps import Caller, QueriesDep, needs
from api.listings import LIST_RESPONSES, AccountList, AccountSummary, Cursor, answer_list
from api.schemas import (
    BalanceOut,
    FreshnessOut,
    TrialBalanceCurrency,
    TrialBalanceLine,
    TrialBalanceOut,
)
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1", tags=["ledger"])


@router.get(
    "/accounts/{name}/balance", response_model=BalanceOut, dependencies=[needs(Queries.balance)]
)
def account_balance(
    name: str,
    principal: Caller,
    queries: QueriesDep,
    currency: Annotated[str, Query(min_length=3, max_length=3)],
    as_of: Annotated[str | None, Query(description="ISO 8601 date-time with zone")] = None,
) -> BalanceOut:
    """An account's balance (debits - credits), now or as of a moment in the past."""
    debits, credits, moment = queries.balance(principal, name, currency, as_of)
    return BalanceOut(
        account=name,
        currency=currency,
        debits=debits,
        credits=credits,
        balance=debits - credits,
        as_of=moment,
        freshness=FreshnessOut(**queries.freshness()),
    )


@router.get(
    "/ledger/trial-balance",
    response_model=TrialBalanceOut,
    dependencies=[needs(Queries.trial_balance)],
)
def trial_balance(principal: Caller, queries: QueriesDep) -> TrialBalanceOut:
    """Every account's balance per currency; each currency's balances sum to zero."""
    rows = queries.trial_balance(principal)
    freshness = FreshnessOut(**queries.freshness())
    grouped: dict[str, list[TrialBalanceLine]] = defaultdict(list)
    for row in rows:
        grouped[row["currency"]].append(
            TrialBalanceLine(
                account=row["account"],
                debits=row["debits"],
                credits=row["credits"],
                balance=row["debits"] - row["credits"],
            )
        )
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
    return TrialBalanceOut(currencies=currencies, freshness=freshness)


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
