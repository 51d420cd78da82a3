"""The write units of one card payment (one split: create, authorize, capture) through the real
api and projections handlers on DynamoDB Local, billed by AWS's rules (bench.write_units): a
change that costs a payment more units fails here. One payment alone in its stream batch is the
dearest case for the read models (nothing shared with other payments)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bench.dynamodb_read_models import scenario
from bench.write_units import Meter, install, item_size, write_units

from projections.stores import dynamodb_stream

pytestmark = pytest.mark.integration


@pytest.fixture
def meter(dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Meter]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
    # One heartbeat a process, the warm-up's: the payment's batch writes none.
    monkeypatch.setattr(dynamodb_stream, "HEARTBEAT_SECONDS", 3600.0)
    counting = install(dynamodb_endpoint)
    yield counting
    counting.uninstall()


def test_one_payment_alone_in_its_batch(dynamodb_endpoint: str, meter: Meter) -> None:
    run = scenario(dynamodb_endpoint, meter, "one", 1, 1, False, True)
    assert run.payments == 1
    # Three payment events, the payable shard's posting and the idempotency record: one
    # transaction of five items, two units each.
    assert run.events_wcu == 10
    assert run.idempotency_bytes < 1024
    # The payments row and its two GSI entries; a balance counter and a history chunk for
    # each of the manufacturer, the platform fees and the provider receivable; the report day.
    assert run.read_model_wcu == 10
    assert run.read_model_wcu <= 12  # the bound for a batch of one payment


def test_items_are_billed_by_the_kilobyte() -> None:
    item = {"pk": {"S": "x" * 1000}, "n": {"N": "12345"}}
    assert item_size(item) == 2 + 1000 + 1 + 4
    assert write_units(item_size(item)) == 1
    assert write_units(1025) == 2
