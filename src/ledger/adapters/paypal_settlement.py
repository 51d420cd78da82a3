"""PayPal's Settlement Report (STL), read: a CSV of typed records. RH report header, FH file
header, SH section header (the period and account), CH column headers, SB transaction rows, SF
section footer, SC section record count, RF report footer, RC report record count, FF file
footer. Amounts are minor units of their currency (`1025` USD is $10.25): read as Decimal and
refused unless whole. Anything malformed is a SettlementFileError naming its line, and the
file is refused whole (nothing booked from a part of it)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ledger.domain.errors import InvalidInput
from ledger.domain.money import currency
from ledger.domain.settlement import ProviderTransaction, SettlementFileError, TransactionType

REQUIRED = (
    "Transaction ID",
    "PayPal Reference ID",
    "Transaction Event Code",
    "Transaction  Debit or Credit",
    "Gross Transaction Amount",
    "Gross Transaction Currency",
    "Fee Debit or Credit",
    "Fee Amount",
)
_SPACED = {"Transaction Debit or Credit": "Transaction  Debit or Credit"}  # PayPal's two spaces


@dataclass(frozen=True, slots=True)
class SettlementReport:
    account: str
    period_start: str
    period_end: str
    transactions: list[ProviderTransaction]

    @property
    def report_id(self) -> str:
        return f"STL:{self.account}:{self.period_start}..{self.period_end}"


def _kind(event_code: str) -> TransactionType:
    """PayPal's transaction event codes, by family."""
    if event_code.startswith("T00"):
        return "charge"  # payments received
    if event_code == "T1107":
        return "refund"
    if event_code.startswith(("T11", "T12")):
        return "dispute"  # reversals, chargebacks, adjustments
    if event_code.startswith("T04"):
        return "payout"  # withdrawals to the platform's bank
    if event_code.startswith("T01"):
        return "fee"
    return "other"


def _minor(text: str, line: int, what: str) -> int:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise SettlementFileError(line, f"{what} {text!r} is not a number") from None
    if value != value.to_integral_value():
        raise SettlementFileError(line, f"{what} {text!r} is not a whole number of minor units")
    return int(value)


def _sign(text: str, line: int, what: str) -> int:
    if text.strip() == "CR":
        return 1
    if text.strip() == "DR":
        return -1
    raise SettlementFileError(line, f"{what} must be CR or DR, not {text!r}")


def parse_settlement_report(text: str) -> SettlementReport:
    header: list[str] | None = None
    account = start = end = ""
    rows: list[ProviderTransaction] = []
    in_section = 0
    seen_footer = False
    try:  # newline="": csv reads CR, LF and CRLF endings itself, and CRs inside quoted fields
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:  # csv's own refusals, e.g. a field over its size limit
        raise SettlementFileError(1, f"not readable as CSV: {error}") from None
    if not records or not records[0] or records[0][0] != "RH":
        raise SettlementFileError(1, "not a PayPal settlement report (no RH record first)")
    for number, record in enumerate(records, start=1):
        if not record:
            continue
        kind = record[0]
        if seen_footer:
            raise SettlementFileError(number, "a record after the file footer (FF)")
        if kind == "SH":
            if len(record) < 4:
                raise SettlementFileError(number, "SH needs period start, end and account")
            start, end, account = record[1].strip(), record[2].strip(), record[3].strip()
            in_section = 0
        elif kind == "CH":
            header = [_SPACED.get(name.strip(), name.strip()) for name in record[1:]]
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise SettlementFileError(number, f"CH lacks the column(s) {', '.join(missing)}")
        elif kind == "SB":
            if header is None:
                raise SettlementFileError(number, "a transaction row (SB) before its headers (CH)")
            if len(record) - 1 < len(header):
                raise SettlementFileError(
                    number, f"SB has {len(record) - 1} fields, its headers {len(header)}"
                )
            rows.append(_row(dict(zip(header, record[1:], strict=False)), number))
            in_section += 1
        elif kind == "SC":
            counted = _minor(record[1], number, "SC count") if len(record) > 1 else None
            if counted != in_section:
                raise SettlementFileError(
                    number, f"SC counts {counted} rows, the section has {in_section}"
                )
        elif kind == "FF":
            seen_footer = True
        elif kind not in ("RH", "FH", "SF", "RF", "RC"):
            raise SettlementFileError(number, f"unknown record type {kind!r}")
    if not seen_footer:
        raise SettlementFileError(len(records), "the file footer (FF) is missing: truncated?")
    if not account:
        raise SettlementFileError(1, "no section header (SH) names the account")
    return SettlementReport(account, start, end, rows)


def _row(fields: dict[str, str], line: int) -> ProviderTransaction:
    transaction_id = fields["Transaction ID"].strip()
    if not transaction_id:
        raise SettlementFileError(line, "Transaction ID is empty")
    code = fields["Transaction Event Code"].strip()
    try:
        money = currency(fields["Gross Transaction Currency"].strip())
    except InvalidInput as error:
        raise SettlementFileError(line, str(error)) from None
    gross = _minor(fields["Gross Transaction Amount"], line, "Gross Transaction Amount")
    gross *= _sign(fields["Transaction  Debit or Credit"], line, "Transaction Debit or Credit")
    fee_text = fields["Fee Amount"].strip() or "0"
    fee = _minor(fee_text, line, "Fee Amount")
    if fee:
        # A fee debited from the balance is one PayPal charged (positive here).
        fee *= -_sign(fields["Fee Debit or Credit"], line, "Fee Debit or Credit")
    kind = _kind(code)
    original = fields["PayPal Reference ID"].strip() or None
    return ProviderTransaction(
        id=transaction_id,
        type=kind,
        amount=gross,
        fee=fee,
        currency=money.code,
        reference=original if kind in ("refund", "dispute") else transaction_id,
        refund_reference=transaction_id if kind == "refund" else None,
        line=line,
    )
