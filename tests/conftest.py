"""Shared fixtures: an in-memory ledger, an ASGI client, keys, and a clock tests control; and
one DynamoDB Local for the session, for the tests that ask for it (integration, contracts)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.bootstrap import Container, build
from ledger.settings import Settings
from tests.support.servers import dynamodb_local


@dataclass
class ManualClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 10, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def container(clock: ManualClock) -> Iterator[Container]:
    built = build(Settings(persistence="popo"), clock=clock)
    yield built
    built.close()


class Api:
    """A thin test client: keys by name, JSON helpers, fresh Idempotency-Keys."""

    def __init__(self, client: TestClient, container: Container) -> None:
        self.client = client
        self.container = container
        self._keys = count(1)

    def key(self, *scopes: str, manufacturer: str | None = None) -> dict[str, str]:
        secret, _ = self.container.keys.create(list(scopes), manufacturer)
        return {"Authorization": f"Bearer {secret}"}

    def post(self, path: str, body: Any, auth: dict[str, str], idem: str | None = "auto") -> Any:
        headers = dict(auth)
        if idem == "auto":
            headers["Idempotency-Key"] = f"test-{next(self._keys)}"
        elif idem is not None:
            headers["Idempotency-Key"] = idem
        return self.client.post(path, json=body, headers=headers)

    def settle(self) -> int:
        """Run the in-process workflows (refund and payout execution, ...) until idle."""
        return self.container.settle()

    def get(self, path: str, auth: dict[str, str], **params: Any) -> Any:
        return self.client.get(path, headers=auth, params=params)

    def get_json(self, path: str, auth: dict[str, str], **params: Any) -> Any:
        """GET that must answer 200: its JSON body."""
        response = self.get(path, auth, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def patch(self, path: str, body: Any, auth: dict[str, str]) -> Any:
        return self.client.patch(path, json=body, headers=auth)

    def balance(self, auth: dict[str, str], account: str, currency: str = "USD") -> int:
        """The account's balance now (debits minus credits)."""
        value: int = self.get_json(f"/v1/accounts/{account}/balance", auth, currency=currency)[
            "balance"
        ]
        return value

    def posted_to(self, auth: dict[str, str], account: str, currency: str = "USD") -> bool:
        """Whether the account has postings in the currency (one never posted to is a 404)."""
        response = self.get(f"/v1/accounts/{account}/balance", auth, currency=currency)
        assert response.status_code in (200, 404), response.text
        return bool(response.status_code == 200)

    def payable(self, auth: dict[str, str], manufacturer_id: str) -> int:
        """The manufacturer's USD payable balance: negative while the platform owes it."""
        return self.balance(auth, f"manufacturer:{manufacturer_id}:payable")

    def manufacturer(self, auth: dict[str, str], **terms: Any) -> str:
        body = {"name": "Acme", "fee_bps": 250, "refund_fee_policy": "refund_fee", **terms}
        response = self.post("/v1/manufacturers", body, auth)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    @staticmethod
    def payment_body(splits: list[tuple[str, int]], /, **fields: Any) -> dict[str, Any]:
        """A POST /v1/payments body paid by the splits (manufacturer, amount); fields override."""
        return {
            "amount": sum(a for _, a in splits),
            "currency": "USD",
            "customer_id": "cus_1",
            "payment_method": "pm_tok_visa",
            "splits": [{"manufacturer_id": m, "amount": a} for m, a in splits],
            **fields,
        }

    def payment(self, auth: dict[str, str], splits: list[tuple[str, int]], **fields: Any) -> Any:
        response = self.post("/v1/payments", self.payment_body(splits, **fields), auth)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def api(container: Container) -> Iterator[Api]:
    with TestClient(create_app(container, follow=False)) as client:
        yield Api(client, container)


@pytest.fixture
def admin(api: Api) -> dict[str, str]:
    return api.key("admin")


# Any AWS client a test makes talks to an emulator with dummy credentials, never an account.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    """A fresh in-memory DynamoDB Local (with the dummy credentials above), started when a test
    first asks for it."""
    with dynamodb_local() as endpoint:
        yield endpoint
