"""What the console stands on: who a key is, the dead-letter queues over HTTP (admin), the
pages and docs served from the package with a Content-Security-Policy, and the Bearer scheme."""

from __future__ import annotations

import re

import pytest

from api.card_numbers import contains_card_number
from tests.conftest import Api


def test_a_key_learns_who_it_is_never_its_secret(api: Api) -> None:
    m = api.manufacturer(api.key("admin"))
    bound = api.key("finance:read", manufacturer=m)
    me = api.client.get("/v1/keys/me", headers=bound).json()
    assert me["scopes"] == ["finance:read"]
    assert me["manufacturer_id"] == m
    assert me["key_id"].startswith("key_")
    assert bound["Authorization"][7:] not in str(me)
    platform = api.client.get("/v1/keys/me", headers=api.key("payouts:approve")).json()
    assert platform["manufacturer_id"] is None
    assert api.client.get("/v1/keys/me").status_code == 401


def _dead_letter(api: Api, queue: str, body: str, error: str) -> None:
    workflows = api.container.workflows
    assert workflows is not None
    store = workflows.queue
    store.send(queue, body)
    (message,) = store.receive(queue, visibility_seconds=60)
    store.dead_letter(message.receipt, error)


def test_a_dead_letter_whose_id_reads_like_a_card_number_is_redriven_by_id(api: Api) -> None:
    """Queue ids are digits by design (a schedule's armed moment in ms, SQS's UUIDs): naming
    one for redrive is not a card number, anywhere else in any body the same digits still are."""
    admin = api.key("admin")
    # A 13-digit armed moment that the guard reads as a card number (its own check decides).
    armed = next(a for a in (f"411111111111{d}" for d in "0123456789") if contains_card_number(a))
    message_id = f"schedule:payout-schedule:{armed}"
    workflows = api.container.workflows
    assert workflows is not None
    workflows.queue.send("billing", '{"n": "scheduled"}', dedupe_id=message_id)
    (message,) = workflows.queue.receive("billing", visibility_seconds=60)
    workflows.queue.dead_letter(message.receipt, "RuntimeError: timed out")
    path = "/v1/operations/queues/billing/redrive"
    elsewhere = api.client.post(path, json={"note": message_id}, headers=admin)
    assert elsewhere.status_code == 422
    assert "card" in elsewhere.text.lower()
    moved = api.client.post(path, json={"message_ids": [message_id]}, headers=admin)
    assert moved.json() == {"queue": "billing", "redriven": 1}
    other = api.client.post("/v1/manufacturers", json={"message_ids": [message_id]}, headers=admin)
    assert other.status_code == 422
    assert "card" in other.text.lower()


def test_dead_letter_queues_list_their_last_error_and_redrive(api: Api) -> None:
    admin = api.key("admin")
    _dead_letter(api, "billing", '{"n": "one"}', "first failure")
    _dead_letter(api, "billing", '{"n": "two"}', "ValueError: newest failure")
    states = {
        s["queue"]: s for s in api.client.get("/v1/operations/queues", headers=admin).json()["data"]
    }
    assert states["billing"]["dead_letters"] == 2
    assert states["billing"]["last_error"] == "ValueError: newest failure"
    assert states["payout-execution"] == {
        "queue": "payout-execution",
        "dead_letters": 0,
        "last_error": None,
    }
    letters = api.client.get("/v1/operations/queues/billing/dead-letters", headers=admin).json()
    assert [d["body"] for d in letters["data"]] == [{"n": "one"}, {"n": "two"}]
    first = letters["data"][0]["message_id"]
    moved = api.client.post(
        "/v1/operations/queues/billing/redrive", json={"message_ids": [first]}, headers=admin
    )
    assert moved.json() == {"queue": "billing", "redriven": 1}
    left = api.client.get("/v1/operations/queues/billing/dead-letters", headers=admin).json()
    assert [d["error"] for d in left["data"]] == ["ValueError: newest failure"]
    everything = api.client.post("/v1/operations/queues/billing/redrive", headers=admin)
    assert everything.json()["redriven"] == 1


def test_only_an_admin_sees_or_redrives_dead_letters(api: Api) -> None:
    _dead_letter(api, "billing", "{}", "boom")
    finance = api.key("finance:read", "payments:read", "payouts:approve", "refunds:approve")
    for method, path in (
        ("GET", "/v1/operations/queues"),
        ("GET", "/v1/operations/queues/billing/dead-letters"),
        ("POST", "/v1/operations/queues/billing/redrive"),
    ):
        response = api.client.request(method, path, headers=finance)
        assert response.status_code == 403, path
        assert response.headers["content-type"].startswith("application/problem+json")
    workflows = api.container.workflows
    assert workflows is not None
    assert len(workflows.queue.dead_letters("billing")) == 1


def test_an_unknown_queue_is_a_404_that_names_the_queues(api: Api) -> None:
    admin = api.key("admin")
    for method, path in (
        ("GET", "/v1/operations/queues/nope/dead-letters"),
        ("POST", "/v1/operations/queues/nope/redrive"),
    ):
        response = api.client.request(method, path, headers=admin)
        assert response.status_code == 404
        assert "billing" in response.json()["detail"]
    bad = api.client.post(
        "/v1/operations/queues/billing/redrive", json={"message_ids": "all"}, headers=admin
    )
    assert bad.status_code == 422
    for path in (
        "/v1/keys/me?verbose=1",
        "/v1/operations/queues?queue=billing",
        "/v1/operations/queues/billing/dead-letters?limit=5&offset=1",
    ):
        unknown = api.client.get(path, headers=admin)
        assert unknown.status_code == 422, path
        assert unknown.json()["type"] == "urn:ledger:problem:unknown-query-parameter"
    assert api.client.get(
        "/v1/operations/queues/billing/dead-letters?limit=5", headers=admin
    ).is_success


def test_the_openapi_document_declares_the_bearer_scheme(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["apiKey"]["description"],
    }
    payments = document["paths"]["/v1/payments"]["get"]
    assert payments["security"] == [{"apiKey": []}]
    assert "authorization" not in {p["name"].lower() for p in payments.get("parameters", [])}
    assert "security" not in document["paths"]["/healthz"]["get"]
    # Case-insensitive scheme and surrounding space, as HTTP allows.
    key = api.key("payments:read")["Authorization"][7:]
    assert api.client.get("/v1/payments", headers={"Authorization": f"bearer {key}"}).is_success
    basic = api.client.get("/v1/payments", headers={"Authorization": f"Basic {key}"})
    assert basic.status_code == 401
    assert basic.json()["type"] == "urn:ledger:problem:unauthenticated"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/console/"])
def test_pages_load_only_their_own_scripts_under_a_csp(api: Api, path: str) -> None:
    page = api.client.get(path)
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "unsafe-eval" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    # No inline script and nothing from another origin: every src and href is this server's.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert not re.match(r"^(https?:)?//", url), url
        if not url.startswith(("data:", "#")):
            target = url if url.startswith("/") else f"/console/{url}"
            assert api.client.get(target).status_code == 200, target


def test_the_console_is_strict_and_api_answers_are_not_pages(api: Api) -> None:
    console = api.client.get("/console/app.js")
    assert console.headers["content-type"].startswith("text/javascript")
    assert "style-src 'self';" in console.headers["content-security-policy"]
    answer = api.client.get("/healthz")
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    refused = api.client.get("/v1/payments")  # a problem answer carries it too
    assert refused.headers["content-security-policy"].startswith("default-src 'none'")
    assert api.client.get("/console", follow_redirects=False).headers["location"] == "/console/"


def test_vendored_assets_are_the_pinned_versions() -> None:
    from api.console import DOCS_DIR

    versions = (DOCS_DIR / "VERSIONS").read_text().split()
    assert versions == ["uplot@1.6.32", "swagger-ui-dist@5.35.0", "redoc@2.5.4"]
    redoc = (DOCS_DIR / "redoc" / "redoc.standalone.js").read_text()
    assert "cdn.redoc.ly/redoc/logo" not in redoc
