"""Settlement and reconciliation on the AWS runtime (DynamoDB Local): a provider payout booked
into the DynamoDB event store, projected from the table's stream into the DynamoDB read models,
and a reconciliation run recorded and read back through the `api` Lambda (Mangum)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger.application.ports import ProviderCapabilities, ProviderResult
from ledger.application.processes.reconciliation import ReconciliationInput, reconcile
from ledger.application.processes.settlements import Settlement, book_settlement
from ledger.bootstrap import Container
from ledger.domain.settlement import ProviderTransaction
from tests.integration.test_aws_runtime import PROJECTED, ApiClient, _project, aws
from tests.support.dynamodb_tables import read_stream
from tests.support.lambda_events import LambdaContext, http_api_event
from tests.support.providers import ScriptedProviderBase
from tests.support.seed import create_payment, register

pytestmark = pytest.mark.integration
__all__ = ["aws"]  # the fixture


class Linked(ScriptedProviderBase):
    capabilities = ProviderCapabilities(sends_webhooks=True, remote=False)

    def authorize(self, request: Any) -> ProviderResult:
        return ProviderResult("succeeded", f"pi_{request.payment_method}", fee=30)


def _balance(api: ApiClient, account: str) -> int:
    event = http_api_event(
        "GET", f"/v1/accounts/{account}/balance", headers=api.headers, query={"currency": "USD"}
    )
    response = api.handler(event, LambdaContext())
    assert response["statusCode"] == 200, response["body"]
    balance: int = json.loads(response["body"])["balance"]
    return balance


def test_a_payout_is_booked_projected_and_reconciled_on_dynamodb(aws: dict[str, Any]) -> None:
    container: Container = aws["container"]
    engine = container.engine
    engine.register_provider("stripe", Linked())
    maker = register(engine, name="A", fee_bps=0, refund_fee_policy="keep_fee")
    m = f"mfr_{maker.id.hex}"
    paid = create_payment(engine, m, 1000, provider="stripe", payment_method="one")
    lines = [
        ProviderTransaction("txn_1", "charge", 1000, 30, "USD", reference="pi_one"),
        ProviderTransaction("txn_2", "charge", 500, 20, "USD", reference="pi_nobody"),
        ProviderTransaction("txn_po", "payout", -1450, 0, "USD"),
    ]
    outcome = book_settlement(
        engine, Settlement("stripe", "po_aws", "USD", 1450, lines, "2026-03-11")
    )
    assert outcome.endswith("20 USD of provider fees not booked before")
    assert book_settlement(
        engine, Settlement("stripe", "po_aws", "USD", 1450, lines, "2026-03-11")
    ).endswith("already booked")
    run = reconcile(engine, ReconciliationInput("stripe", "payout po_aws", "USD", lines, 1450))

    assert _project(aws, read_stream(aws["endpoint"], aws["tables"]["stream_arn"])) == PROJECTED
    secret, _ = container.keys.create(["finance:read"])
    api = ApiClient(container, secret)
    assert _balance(api, "platform:cash") == 1450
    assert _balance(api, "platform:expense:provider_fees") == 30 + 20
    assert _balance(api, "provider:stripe:receivable") == -500  # the charge it never saw
    status, body = api.call("GET", f"/v1/reconciliation/runs/rec_{run.id.hex}")
    assert status == 200, body
    assert body["totals"]["matched_net"] == 970
    assert body["breaks_count"] == {"missing_in_ledger": 1}
    assert body["matched"][0]["ledger"]["payment_id"] == f"pay_{paid.id.hex}"
    status, listed = api.call("GET", "/v1/reconciliation/runs")
    assert [r["id"] for r in listed["data"]] == [body["id"]]
