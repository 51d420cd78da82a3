from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ApiError, ContainerDep, FinanceRead, ReadModelsDep
from api.routers.payments import parse_time
from api.schemas import (
    BalanceOut,
    FreshnessOut,
    TrialBalanceCurrency,
    TrialBalanceLine,
    TrialBalanceOut,
)
from ledger.domain.errors import UnknownCurrency
from ledger.domain.money import currency as lookup_currency

router = APIRouter(prefix="/v1", tags=["ledger"])


@router.get("/accounts/{name}/balance", response_model=BalanceOut)
def account_balance(
    name: str,
    principal: FinanceRead,
    container: ContainerDep,
    read_models: ReadModelsDep,
    currency: Annotated[str, Query(min_length=3, max_length=3)],
    as_of: Annotated[str | None, Query(description="ISO 8601 date-time with zone")] = None,
) -> BalanceOut:
    """An account's balance (debits - credits), now or as of a moment in the past."""
    if principal.manufacturer_id is not None and not name.startswith(
        f"manufacturer:{principal.manufacturer_id}:"
    ):
        raise ApiError(404, "not-found", "no such account")
    try:
        lookup_currency(currency)
    except UnknownCurrency as error:
        raise ApiError(422, error.code, error.message) from None
    moment = parse_time(as_of, "as_of")
    debits, credits = read_models.balance(name, currency, moment)
    return BalanceOut(
        account=name,
        currency=currency,
        debits=debits,
        credits=credits,
        balance=debits - credits,
        as_of=moment,
        freshness=FreshnessOut(**container.freshness()),
    )


@router.get("/ledger/trial-balance", response_model=TrialBalanceOut)
def trial_balance(
    principal: FinanceRead, container: ContainerDep, read_models: ReadModelsDep
) -> TrialBalanceOut:
    """Every account's balance per currency; each currency's balances sum to zero."""
    prefix = None
    if principal.manufacturer_id is not None:
        prefix = f"manufacturer:{principal.manufacturer_id}:"
    freshness = FreshnessOut(**container.freshness())
    rows = read_models.trial_balance(prefix)
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
