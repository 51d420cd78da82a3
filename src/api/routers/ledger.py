from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Caller, QueriesDep, needs
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
