"""Card numbers in any spelling are refused before anything is stored or logged (issue 11, items
6-10). For any Luhn-valid number, written with any separators, in Unicode digits, inside a
longer run of digits or an id-shaped value, split across two values, percent-encoded, in the
body, a header or the Idempotency-Key: 422, and neither the SQLite files nor the log hold it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.card_numbers import contains_card_number
from ledger.bootstrap import build
from ledger.settings import Settings

SEPARATORS = [" ", "  ", "\t", "\n", ".", "/", "_", ",", "-", "\u00a0", "\u2013", "\u200b"]
DIGIT_ZEROS = [0x30, 0xFF10, 0x0660, 0x06F0, 0x0966]  # ASCII, full-width, Arabic-Indic, ...


def _luhn_check_digit(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


@st.composite
def pans(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.text("0123456789", min_size=length - 1, max_size=length - 1))
    return body + _luhn_check_digit(body)


@st.composite
def spellings(draw: st.DrawFn, pan: str) -> str:
    """The number as someone might slip it in."""
    zero = draw(st.sampled_from(DIGIT_ZEROS))
    digits = [chr(zero + int(d)) for d in pan]
    if draw(st.booleans()):  # grouped, any separator, groups of 1 to 8
        out, index = [], 0
        separator = draw(st.sampled_from(SEPARATORS))
        while index < len(digits):
            size = draw(st.integers(1, 8))
            out.append("".join(digits[index : index + size]))
            index += size
        text = separator.join(out)
    else:
        text = "".join(digits)
    shape = draw(st.sampled_from(["plain", "glued", "longer run", "id-shaped", "percent"]))
    if shape == "glued":
        text = "order" + text + "x"
    elif shape == "longer run":
        text = (
            draw(st.text("0123456789", max_size=3)) + text + draw(st.text("0123456789", max_size=3))
        )
    elif shape == "id-shaped" and zero == 0x30 and len(text) <= 32:
        text = "mfr_" + text + "0" * (32 - len(text))
    elif shape == "percent":
        text = quote(text, safe="")
    return text


@pytest.fixture(scope="module")
def ledger(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    folder = tmp_path_factory.mktemp("pci")
    container = build(Settings(db=folder / "ledger.sqlite3", workflows=False))
    with TestClient(create_app(container, follow=False)) as client:
        secret, _ = container.keys.create(["admin"])
        auth = {"Authorization": f"Bearer {secret}"}
        made = client.post("/v1/manufacturers", json={"name": "M", "fee_bps": 0}, headers=auth)
        auth["X-Manufacturer"] = made.json()["id"]
        yield client, auth, folder
    container.close()


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _stored(folder: Path, pan: str) -> bool:
    return any(pan.encode() in path.read_bytes() for path in folder.glob("*.sqlite3*"))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), pan=pans())
def test_any_spelling_anywhere_is_refused_and_nothing_kept(
    ledger: tuple[TestClient, dict[str, str], Path], data: st.DataObject, pan: str
) -> None:
    client, auth, folder = ledger
    manufacturer = auth["X-Manufacturer"]
    headers = {k: v for k, v in auth.items() if k != "X-Manufacturer"}
    spelled = data.draw(spellings(pan), "spelling")
    where = data.draw(
        st.sampled_from(["metadata", "metadata key", "split", "idempotency", "header", "query"])
    )
    metadata: dict[str, str] = {}
    key = "idem-" + data.draw(st.uuids()).hex
    if where == "metadata":
        metadata = {"note": spelled}
    elif where == "metadata key":
        metadata = {spelled[:40]: "x"} if len(spelled) <= 40 else {"note": spelled}
    elif where == "split":
        cut = data.draw(st.integers(1, len(spelled) - 1))
        metadata = {"first": spelled[:cut], "second": spelled[cut:]}
    elif (
        where == "idempotency" and spelled.isascii() and "\n" not in spelled and " " not in spelled
    ):
        key = spelled
    elif where == "header" and spelled.isascii() and spelled.isprintable():
        headers["X-Note"] = spelled
    else:
        metadata = {"note": spelled}
    body = {
        "amount": 100,
        "currency": "USD",
        "customer_id": "cus_1",
        "payment_method": "pm_tok_visa",
        "splits": [{"manufacturer_id": manufacturer, "amount": 100}],
        "metadata": metadata,
    }
    params = {"note": spelled} if where == "query" else None
    lines = Lines()
    logging.getLogger().addHandler(lines)
    try:
        answer = client.post(
            "/v1/payments",
            json=body,
            params=params,
            headers={**headers, "Idempotency-Key": key},
        )
    finally:
        logging.getLogger().removeHandler(lines)
    assert answer.status_code == 422, (where, spelled, answer.text)
    assert answer.json()["type"] == "urn:ledger:problem:card-number-rejected"
    assert not _stored(folder, pan)
    assert not any(pan in line for line in lines.lines)


@given(pans())
def test_the_rule_finds_every_generated_number(pan: str) -> None:
    assert contains_card_number(pan)
    assert contains_card_number(f"x {pan[:6]} {pan[6:]} y")


def test_an_id_whose_hex_holds_a_luhn_run_passes_where_ids_go() -> None:
    """One id in a few hundred has hex digits that read as a card number: where ids go (paths,
    account names in paths, id fields and filters) it passes; anywhere else it is text."""
    from api.guard import body_has_card_number, target_has_card_number

    unlucky = "mfr_4111111111111111abcdefabcdefabcd"
    scope = {
        "type": "http",
        "path": f"/v1/accounts/manufacturer:{unlucky}:payable/balance",
        "query_string": f"manufacturer_id={unlucky}".encode(),
        "headers": [],
    }
    assert not target_has_card_number(scope)
    split = f'{{"splits": [{{"manufacturer_id": "{unlucky}", "amount": 1}}]}}'.encode()
    assert not body_has_card_number(split, frozenset())
    assert body_has_card_number(f'{{"metadata": {{"ref": "{unlucky}"}}}}'.encode(), frozenset())
    assert target_has_card_number({**scope, "query_string": f"note={unlucky}".encode()})


def test_provider_signature_headers_on_webhooks_are_not_read() -> None:
    """A webhook's signature is random hex that can hold a Luhn run: webhooks are signed by the
    provider and never stored, so their headers (like their bodies) are not read."""
    from api.guard import target_has_card_number

    lucky_hex = "t=1796223053,v1=4111111111111111abcdef"
    webhook = {"type": "http", "path": "/v1/webhooks/stripe", "query_string": b""}
    headers = [(b"stripe-signature", lucky_hex.encode())]
    assert not target_has_card_number({**webhook, "headers": headers})
    assert target_has_card_number({**webhook, "path": "/v1/payments", "headers": headers})
