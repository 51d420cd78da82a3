"""Provider webhooks: authenticated by the provider's signature (no API key), applied once."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import ApiError, EngineDep, WebhookSourcesDep
from api.request_rules import REQUEST_RULES
from api.schemas import WebhookOut
from ledger.application.engine import Engine
from ledger.application.ports import (
    PayoutReports,
    ProviderEvent,
    WebhookRejected,
    WebhookSource,
)
from ledger.application.processes.provider_events import TRANSIENT, apply_provider_event
from ledger.application.processes.settlements import book_payout, reverse_payout

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], dependencies=REQUEST_RULES)
log = logging.getLogger(__name__)


async def _verified(
    sources: dict[str, WebhookSource], provider: str, request: Request
) -> ProviderEvent | None:
    """The provider's event, its signature checked (None: not one the ledger acts on)."""
    source = sources.get(provider)
    if source is None:
        raise ApiError(404, "not-found", f"no webhooks are configured for '{provider}'")
    payload = await request.body()
    headers = {key.lower(): value for key, value in request.headers.items()}
    try:
        return await run_in_threadpool(source.parse_webhook, payload, headers)
    except WebhookRejected as error:
        raise ApiError(400, "webhook-rejected", str(error)) from None


def _apply(engine: Engine, source: WebhookSource, event: ProviderEvent) -> str:
    if event.kind == "payout_paid":
        if not isinstance(source, PayoutReports):
            return f"ignored: {event.provider} payouts are not booked from webhooks"
        return book_payout(engine, source, event)
    if event.kind in ("payout_failed", "payout_canceled"):
        return reverse_payout(engine, event)
    return apply_provider_event(engine, event)


async def _applied(
    engine: Engine, source: WebhookSource, provider: str, event: ProviderEvent
) -> str:
    try:
        outcome = await run_in_threadpool(_apply, engine, source, event)
    except TRANSIENT as error:
        raise ApiError(503, error.code, error.message) from None
    log.info("webhook %s %s %s: %s", provider, event.event_id, event.kind, outcome)
    return outcome


@router.post("/{provider}", response_model=WebhookOut)
async def receive_webhook(
    provider: str, request: Request, sources: WebhookSourcesDep, engine: EngineDep
) -> WebhookOut:
    """Stripe (`Stripe-Signature`) and PayPal (`PAYPAL-TRANSMISSION-*`, checked with PayPal's
    verify-webhook-signature call). 400: bad signature, nothing recorded. 503: the payment is
    not known yet, or a paid payout's transactions cannot be listed yet (the provider
    retries). 200: applied, or already applied (duplicate). Stripe's `payout.paid` books the
    payout's settlement once per payout id; `payout.failed` and `payout.canceled` reverse it
    (or book nothing if it was not booked)."""
    event = await _verified(sources, provider, request)
    if event is None:
        return WebhookOut(outcome="ignored: not an event the ledger acts on")
    outcome = await _applied(engine, sources[provider], provider, event)
    return WebhookOut(outcome=outcome, event_id=event.event_id, kind=event.kind)
