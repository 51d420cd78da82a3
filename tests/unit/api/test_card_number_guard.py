from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.card_numbers import contains_card_number
from api.guard import body_has_card_number, target_has_card_number


def body_contains_card_number(body: bytes) -> bool:
    return body_has_card_number(body, frozenset())


def luhn_valid(digits: str) -> bool:
    return contains_card_number(digits.rjust(13, "0"))


@pytest.mark.parametrize(
    "text",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "3782 822463 10005",  # Amex 4-6-5
        '{"x": 5555555555554444}',
        "tok_4000056655665556",
        "6011111111111117 ",
        # A card number inside a longer run is found (issue 11: every 13-19 digit window).
        "42424242424242424242424",
    ],
)
def test_card_numbers_are_found(text: str) -> None:
    assert contains_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "4242424242423",  # 13 digits failing Luhn (longer runs have more windows to try)
        "pm_card_visa",
        "2026-03-10 2026-03-11",
        "order 12345",
        '{"amount": 10000, "currency": "USD"}',
    ],
)
def test_other_values_pass(text: str) -> None:
    assert not contains_card_number(text)


@given(st.uuids())
def test_our_own_ids_never_look_like_card_numbers(value: uuid.UUID) -> None:
    """In the places ids go (path segments, id filters), in their exact shape."""
    scope = {
        "type": "http",
        "path": f"/v1/payments/pay_{value.hex}",
        "query_string": f"manufacturer_id=mfr_{value.hex}".encode(),
        "headers": [],
    }
    assert not target_has_card_number(scope)


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


@pytest.mark.parametrize(
    "body",
    [
        (
            '{"payment_method": "' + "".join(f"\\u{ord(c):04x}" for c in "4111111111111111") + '"}'
        ).encode(),
        b'{"metadata": {"note": "card4111111111111111"}}',
        b'{"metadata": {"4111111111111111": "key"}}',
        b'[{"x": ["a", 4111111111111111]}]',
    ],
)
def test_card_numbers_hidden_in_json_are_found(body: bytes) -> None:
    assert body_contains_card_number(body)


@given(st.uuids())
def test_our_ids_in_json_bodies_pass(value: uuid.UUID) -> None:
    body = (
        f'{{"manufacturer_id": "mfr_{value.hex}", '
        f'"splits": [{{"manufacturer_id": "mfr_{value.hex}", "amount": 1}}]}}'
    )
    assert not body_contains_card_number(body.encode())
