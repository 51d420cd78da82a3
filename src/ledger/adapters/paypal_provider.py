"""PayPal (Orders v2 and Payments v2) through PayPal's official server SDK, `paypalserversdk`.

The flow: the buyer approves a PayPal order outside this system; the order id is the payment's
payment_method. `authorize` first reads the order and refuses (without moving money) an order
whose single purchase unit is not for exactly the requested amount and currency, then authorizes
the order (or captures it when request.capture is True). References:

| call | reference | use it for |
|---|---|---|
| authorize, capture=False | the authorization id | capture, void |
| authorize, capture=True | the capture id | refund |
| capture | the capture id (not the authorization id) | refund |
| void | the voided authorization id | - |
| refund | the refund id | - |

PayPal refunds captures, never authorizations, so after an authorize-then-capture the ledger must
keep the reference returned by capture() and pass it as RefundRequest.provider_reference.

Every money-moving call sends PayPal-Request-Id = the request's idempotency key, so a retry
returns PayPal's first answer and never moves money twice. Statuses: COMPLETED (captures,
refunds) and CREATED (authorizations) succeed; PENDING is pending; DECLINED, DENIED, FAILED are
failed with status_details.reason (or the status). A 422 (or another 4xx PayPal answers about the
payment) is failed with the first `details[].issue`, e.g. INSTRUMENT_DECLINED. 5xx, 408, 409, 429,
401 (our token), timeouts, refused connections and unreadable answers raise ProviderUnavailable:
nothing was decided and the retry reuses the idempotency key. A status this module does not know
is "pending" (a webhook settles it).

Amounts are integer minor units; PayPal wants decimal strings, so they are converted with the
ISO 4217 exponent (the ledger's own `currency()`), integer arithmetic only. Fees come from
seller_receivable_breakdown.paypal_fee, only when it is in the payment's currency.

Webhooks are verified by PayPal's verify-webhook-signature API, which the SDK has no controller
for: `_verify_webhook_signature` sends it through the SDK's own request pipeline (same base URL,
OAuth token, HTTP client and timeout as the controllers), with the received body spliced in
verbatim so PayPal checks the bytes it signed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from apimatic_core.api_call import ApiCall
from apimatic_core.authentication.multiple.single_auth import Single
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from apimatic_core.request_builder import RequestBuilder
from apimatic_core.response_handler import ResponseHandler
from apimatic_core.types.parameter import Parameter
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.http.http_method_enum import HttpMethodEnum
from paypalserversdk.models.capture_request import CaptureRequest as PayPalCaptureRequest
from paypalserversdk.models.money import Money
from paypalserversdk.models.order_authorize_request import OrderAuthorizeRequest
from paypalserversdk.models.order_capture_request import OrderCaptureRequest
from paypalserversdk.models.refund_request import RefundRequest as PayPalRefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from ledger.application.ports import (
    AuthorizationRequest,
    CaptureRequest,
    ProviderCapabilities,
    ProviderEvent,
    ProviderResult,
    ProviderUnavailable,
    RefundRequest,
    VoidRequest,
    WebhookKind,
    WebhookRejected,
)
from ledger.domain.ids import MalformedId, decode, encode, parent_payment
from ledger.domain.money import currency

PROVIDER = "paypal"
VERIFY_WEBHOOK_PATH = "/v1/notifications/verify-webhook-signature"
REPRESENTATION = "return=representation"

# Answers that decided nothing: the caller retries with the same PayPal-Request-Id.
_TRANSIENT_HTTP = frozenset({401, 408, 409, 429})

_AUTHORIZATION_STATUS: dict[str, Literal["succeeded", "failed", "pending"]] = {
    "CREATED": "succeeded",
    "CAPTURED": "succeeded",
    "PARTIALLY_CAPTURED": "succeeded",
    "PENDING": "pending",
    "DENIED": "failed",
    "VOIDED": "failed",
    "EXPIRED": "failed",
}
_CAPTURE_STATUS: dict[str, Literal["succeeded", "failed", "pending"]] = {
    "COMPLETED": "succeeded",
    "PARTIALLY_REFUNDED": "succeeded",
    "REFUNDED": "succeeded",
    "PENDING": "pending",
    "DECLINED": "failed",
    "FAILED": "failed",
}
_REFUND_STATUS: dict[str, Literal["succeeded", "failed", "pending"]] = {
    "COMPLETED": "succeeded",
    "PENDING": "pending",
    "FAILED": "failed",
    "CANCELLED": "failed",
}

# CUSTOMER.DISPUTE.RESOLVED dispute_outcome.outcome_code -> did the merchant keep the money?
# RESOLVED_WITH_PAYOUT: PayPal paid the buyer from its own funds, the merchant is not debited.
# ACCEPTED: the merchant accepted the claim and refunded. Any other code (NONE, a new one) gives
# outcome None: the ledger must not guess and should route the dispute to a person.
DISPUTE_OUTCOMES: dict[str, Literal["won", "lost"]] = {
    "RESOLVED_SELLER_FAVOUR": "won",
    "RESOLVED_WITH_PAYOUT": "won",
    "CANCELED_BY_BUYER": "won",
    "DENIED": "won",
    "RESOLVED_BUYER_FAVOUR": "lost",
    "ACCEPTED": "lost",
}

# PayPal's signature headers (matched case-insensitively) and the verify API's field names.
SIGNATURE_HEADERS = {
    "auth_algo": "paypal-auth-algo",
    "cert_url": "paypal-cert-url",
    "transmission_id": "paypal-transmission-id",
    "transmission_sig": "paypal-transmission-sig",
    "transmission_time": "paypal-transmission-time",
}

_DECIMAL = re.compile(r"(\d+)(?:\.(\d+))?")


def to_paypal_value(amount: int, currency_code: str) -> str:
    """Integer minor units -> PayPal's decimal string: 1050 USD -> "10.50", 500 JPY -> "500",
    1500 KWD -> "1.500"."""
    if type(amount) is not int or amount < 0:
        raise ValueError("amount must be a non-negative integer of minor units")
    exponent = currency(currency_code).exponent
    if exponent == 0:
        return str(amount)
    scale: int = 10**exponent
    units, fraction = divmod(amount, scale)
    return f"{units}.{fraction:0{exponent}d}"


def from_paypal_value(value: str, currency_code: str) -> int:
    """PayPal's decimal string -> integer minor units; more precision than the currency has
    (other than trailing zeros) is refused rather than rounded."""
    exponent = currency(currency_code).exponent
    match = _DECIMAL.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a PayPal amount")
    units, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > exponent:
        if fraction[exponent:].strip("0"):
            raise ValueError(f"{value!r} is more precise than {currency_code} allows")
        fraction = fraction[:exponent]
    scale: int = 10**exponent
    return int(units) * scale + int(fraction.ljust(exponent, "0") or "0")


def _money(amount: int, currency_code: str) -> Money:
    return Money(currency_code=currency_code, value=to_paypal_value(amount, currency_code))


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(value: Any) -> dict[str, Any]:
    return _obj(value[0]) if isinstance(value, list) and value else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _amount(money: Any) -> tuple[int, str] | None:
    """A PayPal money object -> (minor units, currency), or None when absent."""
    body = _obj(money)
    code, value = _text(body.get("currency_code")), _text(body.get("value"))
    if code is None or value is None:
        return None
    return from_paypal_value(value, code), code


def _fee(payment: dict[str, Any], currency_code: str) -> int | None:
    """seller_receivable_breakdown.paypal_fee in minor units, when in the payment's currency."""
    fee = _amount(_obj(payment.get("seller_receivable_breakdown")).get("paypal_fee"))
    if fee is None or fee[1] != currency_code:
        return None
    return fee[0]


def _reason(payment: dict[str, Any], status: str) -> str:
    return _text(_obj(payment.get("status_details")).get("reason")) or status


def _ledger_payment_id(value: Any) -> str | None:
    """custom_id, when it is a ledger payment id (whoever created the order may have put one)."""
    text = _text(value)
    if text is None:
        return None
    try:
        decode("payment", text)
    except MalformedId:
        return None
    return text


def _ledger_refund_id(refund: dict[str, Any]) -> tuple[str | None, str | None]:
    """(ledger refund id, its payment's id) from the custom_id / invoice_id refund() set."""
    for field in ("custom_id", "invoice_id"):
        text = _text(refund.get(field))
        if text is None:
            continue
        try:
            return text, encode("payment", parent_payment(text, "re"))
        except MalformedId:
            continue
    return None, None


def _error_body(error: ApiException) -> dict[str, Any]:
    try:
        return _obj(json.loads(getattr(error.response, "text", "") or ""))
    except ValueError:
        return {}


def _issue(error: ApiException) -> str:
    """PayPal's most specific error code: details[0].issue, else name, else the status."""
    body = _error_body(error)
    issue = _text(_first(body.get("details")).get("issue"))
    return (
        issue
        or _text(body.get("name"))
        or _text(body.get("error"))
        or f"HTTP_{error.response_code}"
    )


class _Refused(Exception):
    """PayPal answered with a permanent refusal (a 4xx about the payment)."""

    def __init__(self, issue: str) -> None:
        super().__init__(issue)
        self.issue = issue


def _check_base_url(base_url: str) -> str:
    """The SDK decodes every answer with jsonpickle, which can run code named in the JSON: only
    https, or plain http to a loopback test server, is accepted."""
    parts = urlsplit(base_url)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("base_url must be https (plain http only for a loopback test server)")
    return base_url.rstrip("/")


class PayPalProvider:
    """PaymentProvider and WebhookSource for PayPal.

    environment picks PayPal's sandbox or live API; base_url (tests: a local fake) overrides it.
    clock: now as an aware datetime, for the webhook replay window of webhook_tolerance_seconds.
    """

    # Payments are linked to the provider's ids, so webhooks naming only those find them.
    capabilities = ProviderCapabilities(sends_webhooks=True)

    def check_payment_method(self, payment_method: str) -> str | None:
        return None  # the provider itself refuses a token it does not know

    provider = PROVIDER

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        webhook_id: str,
        *,
        base_url: str | None = None,
        environment: Literal["sandbox", "live"] = "sandbox",
        timeout_seconds: float = 30.0,
        webhook_tolerance_seconds: int = 300,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not client_id or not client_secret or not webhook_id:
            raise ValueError("client_id, client_secret and webhook_id are required")
        sdk_environment = Environment.PRODUCTION if environment == "live" else Environment.SANDBOX
        config = Configuration(
            timeout=timeout_seconds,
            max_retries=0,  # retries belong to the ledger, with the same idempotency key
            environment=sdk_environment,
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=client_id, o_auth_client_secret=client_secret
            ),
        )
        if base_url is not None:
            # The SDK resolves its base URI as Configuration.environments[environment][server];
            # this instance gets its own table, so every controller (OAuth too) uses base_url.
            config.environments = {sdk_environment: {Server.DEFAULT: _check_base_url(base_url)}}
        self._client = PaypalServersdkClient(config=config)
        self._webhook_id = webhook_id
        self._tolerance = webhook_tolerance_seconds
        self._clock = clock or (lambda: datetime.now(UTC))

    # --- PaymentProvider ---------------------------------------------------------------------

    def authorize(self, request: AuthorizationRequest) -> ProviderResult:
        order_id = request.payment_method
        try:
            mismatch = self._order_mismatch(order_id, request.amount, request.currency)
            if mismatch is not None:
                return ProviderResult(status="failed", reference=order_id, failure_reason=mismatch)
            if request.capture:
                order = self._send(
                    self._client.orders.capture_order,
                    {
                        "id": order_id,
                        "paypal_request_id": request.idempotency_key,
                        "prefer": REPRESENTATION,
                        "body": OrderCaptureRequest(),
                    },
                )
            else:
                order = self._send(
                    self._client.orders.authorize_order,
                    {
                        "id": order_id,
                        "paypal_request_id": request.idempotency_key,
                        "prefer": REPRESENTATION,
                        "body": OrderAuthorizeRequest(),
                    },
                )
        except _Refused as refused:
            return ProviderResult(status="failed", reference=order_id, failure_reason=refused.issue)
        payments = _obj(_first(order.get("purchase_units")).get("payments"))
        kind = "captures" if request.capture else "authorizations"
        payment = _first(payments.get(kind))
        reference = _text(payment.get("id"))
        if reference is None:
            # No payment was made (e.g. the order still needs the payer: PAYER_ACTION_REQUIRED).
            status = _text(order.get("status")) or "NO_PAYMENT"
            return ProviderResult(status="failed", reference=order_id, failure_reason=status)
        table = _CAPTURE_STATUS if request.capture else _AUTHORIZATION_STATUS
        return self._result(payment, reference, table, request.currency, with_fee=request.capture)

    def capture(self, request: CaptureRequest) -> ProviderResult:
        """Captures the authorization (provider_reference) once, for request.amount, as the final
        capture. The reference returned is the capture id: refunds need it."""
        try:
            capture = self._send(
                self._client.payments.capture_authorized_payment,
                {
                    "authorization_id": request.provider_reference,
                    "paypal_request_id": request.idempotency_key,
                    "prefer": REPRESENTATION,
                    "body": PayPalCaptureRequest(
                        amount=_money(request.amount, request.currency), final_capture=True
                    ),
                },
            )
        except _Refused as refused:
            return ProviderResult(
                status="failed", reference=request.provider_reference, failure_reason=refused.issue
            )
        reference = _text(capture.get("id"))
        if reference is None:
            raise ProviderUnavailable("PayPal's capture answer has no capture id")
        return self._result(capture, reference, _CAPTURE_STATUS, request.currency, with_fee=True)

    def void(self, request: VoidRequest) -> ProviderResult:
        try:
            authorization = self._send(
                self._client.payments.void_payment,
                {
                    "authorization_id": request.provider_reference,
                    "paypal_request_id": request.idempotency_key,
                    "prefer": REPRESENTATION,
                },
            )
        except _Refused as refused:
            return ProviderResult(
                status="failed", reference=request.provider_reference, failure_reason=refused.issue
            )
        # 204 (PayPal's minimal answer) has no body: the void succeeded.
        status = _text(authorization.get("status")) or "VOIDED"
        if status == "VOIDED":
            return ProviderResult(status="succeeded", reference=request.provider_reference)
        return ProviderResult(
            status="pending" if status == "PENDING" else "failed",
            reference=request.provider_reference,
            failure_reason=None if status == "PENDING" else status,
        )

    def refund(self, request: RefundRequest) -> ProviderResult:
        """Refunds the capture (provider_reference must be a capture id) by request.amount;
        custom_id and invoice_id carry the ledger refund id back in webhooks."""
        try:
            refund = self._send(
                self._client.payments.refund_captured_payment,
                {
                    "capture_id": request.provider_reference,
                    "paypal_request_id": request.idempotency_key,
                    "prefer": REPRESENTATION,
                    "body": PayPalRefundRequest(
                        amount=_money(request.amount, request.currency),
                        custom_id=request.refund_id,
                        invoice_id=request.refund_id,
                    ),
                },
            )
        except _Refused as refused:
            return ProviderResult(
                status="failed", reference=request.provider_reference, failure_reason=refused.issue
            )
        reference = _text(refund.get("id"))
        if reference is None:
            raise ProviderUnavailable("PayPal's refund answer has no refund id")
        # The refund's seller_payable_breakdown.paypal_fee is fee PayPal gives back, not a cost:
        # it is not reported as this operation's fee.
        return self._result(refund, reference, _REFUND_STATUS, request.currency, with_fee=False)

    # --- WebhookSource -----------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
        lowered = {key.lower(): value for key, value in headers.items()}
        fields: dict[str, str] = {}
        for field, header in SIGNATURE_HEADERS.items():
            value = (lowered.get(header) or "").strip()
            if not value:
                raise WebhookRejected(f"missing {header} header")
            fields[field] = value
        self._check_transmission_time(fields["transmission_time"])
        try:
            text = payload.decode("utf-8")
            event = json.loads(text, parse_constant=_refuse_constant)
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise WebhookRejected("the webhook body is not JSON") from None
        if not isinstance(event, dict):
            raise WebhookRejected("the webhook body is not a JSON object")
        if self._verify_webhook_signature(fields, text) != "SUCCESS":
            raise WebhookRejected("PayPal did not verify the webhook signature")
        return self._translate(event)

    # --- internals ---------------------------------------------------------------------------

    def _send(self, endpoint: Callable[[dict[str, Any]], Any], options: dict[str, Any]) -> Any:
        """Calls an SDK endpoint; answers its JSON body ({} for none), raises _Refused for a
        permanent refusal and ProviderUnavailable when nothing was decided."""
        try:
            response = endpoint(options)
        except ApiException as error:
            status = int(error.response_code)
            if status >= 500 or status in _TRANSIENT_HTTP:
                raise ProviderUnavailable(f"PayPal answered {status}: {_issue(error)}") from error
            raise _Refused(_issue(error)) from error
        except AuthValidationException as error:
            raise ProviderUnavailable("could not get a PayPal access token") from error
        except OSError as error:  # requests' ConnectionError, Timeout, ... are OSErrors
            raise ProviderUnavailable(f"PayPal did not answer: {error}") from error
        text = getattr(response, "text", None) or ""
        if not text.strip():
            return {}
        try:
            body = json.loads(text)
        except ValueError:
            raise ProviderUnavailable("PayPal's answer is not JSON") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable("PayPal's answer is not a JSON object")
        return body

    def _order_mismatch(self, order_id: str, amount: int, currency_code: str) -> str | None:
        """Why the approved order cannot pay this request, or None when it can."""
        order = self._send(self._client.orders.get_order, {"id": order_id})
        units = order.get("purchase_units")
        if not isinstance(units, list) or len(units) != 1:
            return "ORDER_NOT_SINGLE_PURCHASE_UNIT"
        ordered = _amount(_obj(units[0]).get("amount"))
        if ordered != (amount, currency_code):
            return "ORDER_AMOUNT_MISMATCH"
        return None

    @staticmethod
    def _result(
        payment: dict[str, Any],
        reference: str,
        table: Mapping[str, Literal["succeeded", "failed", "pending"]],
        currency_code: str,
        *,
        with_fee: bool,
    ) -> ProviderResult:
        status = _text(payment.get("status")) or ""
        outcome = table.get(status, "pending")
        if outcome == "failed":
            return ProviderResult(
                status="failed", reference=reference, failure_reason=_reason(payment, status)
            )
        fee = _fee(payment, currency_code) if with_fee and outcome == "succeeded" else None
        return ProviderResult(status=outcome, reference=reference, fee=fee)

    def _check_transmission_time(self, value: str) -> None:
        try:
            sent_at = datetime.fromisoformat(value)
        except ValueError:
            raise WebhookRejected("PAYPAL-TRANSMISSION-TIME is not a timestamp") from None
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
        if abs((self._clock() - sent_at).total_seconds()) > self._tolerance:
            raise WebhookRejected("the webhook is outside the replay window")

    def _verify_webhook_signature(self, fields: Mapping[str, str], event_text: str) -> str:
        """POST /v1/notifications/verify-webhook-signature through the SDK's pipeline; answers
        verification_status. The event is spliced in as received (it is a checked JSON object),
        not re-serialized."""
        head = {**fields, "webhook_id": self._webhook_id}
        members = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in head.items())
        body = f'{{{members}, "webhook_event": {event_text}}}'
        call = (
            ApiCall(self._client.global_configuration)
            .request(
                RequestBuilder()
                .server(Server.DEFAULT)
                .path(VERIFY_WEBHOOK_PATH)
                .http_method(HttpMethodEnum.POST)
                .header_param(Parameter().key("Content-Type").value("application/json"))
                .header_param(Parameter().key("accept").value("application/json"))
                .body_param(Parameter().value(body))
                .auth(Single("Oauth2"))
            )
            .response(ResponseHandler().is_api_response(True))
        )
        try:
            answer = self._send(lambda _options: call.execute(), {})
        except _Refused as refused:  # e.g. 400 VALIDATION_ERROR: a malformed header
            raise WebhookRejected(
                f"PayPal refused to verify the webhook: {refused.issue}"
            ) from None
        return _text(answer.get("verification_status")) or ""

    def _translate(self, event: dict[str, Any]) -> ProviderEvent | None:
        event_type = _text(event.get("event_type"))
        event_id = _text(event.get("id"))
        resource = _obj(event.get("resource"))
        if event_type not in _KINDS or event_id is None:
            return None
        try:
            occurred_at = datetime.fromisoformat(str(event.get("create_time")))
        except ValueError:
            occurred_at = self._clock()
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
        kind = _KINDS[event_type]
        common: dict[str, Any] = {
            "provider": PROVIDER,
            "event_id": event_id,
            "kind": kind,
            "occurred_at": occurred_at,
        }
        if kind in ("payment_succeeded", "payment_failed"):
            return _capture_event(common, resource)
        if kind == "refund_succeeded":
            return _refund_event(common, resource)
        return _dispute_event(common, resource)


_KINDS: dict[str, WebhookKind] = {
    "PAYMENT.CAPTURE.COMPLETED": "payment_succeeded",
    "PAYMENT.CAPTURE.DENIED": "payment_failed",
    "PAYMENT.CAPTURE.REFUNDED": "refund_succeeded",
    "CUSTOMER.DISPUTE.CREATED": "dispute_opened",
    "CUSTOMER.DISPUTE.RESOLVED": "dispute_closed",
}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _related(resource: dict[str, Any]) -> dict[str, Any]:
    return _obj(_obj(resource.get("supplementary_data")).get("related_ids"))


def _capture_event(common: dict[str, Any], resource: dict[str, Any]) -> ProviderEvent:
    """payment_reference: the order id (the payment's payment_method); the capture id when
    PayPal did not say which order."""
    capture_id = _text(resource.get("id")) or ""
    order_id = _text(_related(resource).get("order_id")) or capture_id
    money = _amount(resource.get("amount"))
    failed = common["kind"] == "payment_failed"
    return ProviderEvent(
        **common,
        payment_reference=order_id,
        ledger_payment_id=_ledger_payment_id(resource.get("custom_id")),
        amount=money[0] if money else None,
        currency=money[1] if money else None,
        failure_reason=_reason(resource, "DENIED") if failed else None,
        fee=_fee(resource, money[1]) if money and not failed else None,
    )


def _refund_event(common: dict[str, Any], resource: dict[str, Any]) -> ProviderEvent:
    """payment_reference: the order id when PayPal names it, else the refunded capture's id
    (from related_ids or the refund's "up" link)."""
    related = _related(resource)
    capture_id = _text(related.get("capture_id"))
    if capture_id is None:
        for link in resource.get("links") or []:
            href = _text(_obj(link).get("href")) or ""
            if _obj(link).get("rel") == "up" and "/captures/" in href:
                capture_id = href.rstrip("/").rsplit("/", 1)[-1]
    money = _amount(resource.get("amount"))
    refund_id, payment_id = _ledger_refund_id(resource)
    return ProviderEvent(
        **common,
        payment_reference=_text(related.get("order_id")) or capture_id or "",
        ledger_payment_id=payment_id,
        amount=money[0] if money else None,
        currency=money[1] if money else None,
        refund_reference=_text(resource.get("id")),
        ledger_refund_id=refund_id,
    )


def _dispute_event(common: dict[str, Any], resource: dict[str, Any]) -> ProviderEvent:
    """payment_reference: the disputed transaction's seller_transaction_id, which is the
    capture id (dispute webhooks do not carry the order id). amount: the disputed amount."""
    transaction = _first(resource.get("disputed_transactions"))
    money = _amount(resource.get("dispute_amount"))
    outcome = None
    if common["kind"] == "dispute_closed":
        code = _text(_obj(resource.get("dispute_outcome")).get("outcome_code")) or ""
        outcome = DISPUTE_OUTCOMES.get(code)
    return ProviderEvent(
        **common,
        payment_reference=_text(transaction.get("seller_transaction_id")) or "",
        ledger_payment_id=_ledger_payment_id(transaction.get("custom")),
        amount=money[0] if money else None,
        currency=money[1] if money else None,
        dispute_reference=_text(resource.get("dispute_id")),
        outcome=outcome,
        evidence_due_by=_due_date(resource.get("seller_response_due_date")),
    )


def _due_date(value: Any) -> datetime | None:
    """`seller_response_due_date`: when the seller must respond (ISO 8601; UTC if no zone)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
