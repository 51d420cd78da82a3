"""NACHA ACH files: write PPD/CCD files, parse them back, and write/parse returns files.

Hand-written on purpose: no maintained Python library does this well. The PyPI packages are
unmaintained (`ach` 2014, `nacha` 2014, `carta-ach` 2019, `ach-file` 2023 beta) or brand new and
loosely typed (`achkit` 0.2.0: untyped dicts, its parser does not verify control totals).

Record layouts follow the NACHA Operating Rules (Appendix Three). Every record is 94 characters;
the layout tables below give positions 1-based and inclusive, as the Rules print them.
Alphanumeric fields are uppercase, left-justified and space-padded; numeric fields are
right-justified and zero-padded. Amounts are integer cents throughout.

Where the ledger's reference goes: the Entry Detail's Identification Number field (positions
40-54, 15 characters, `Entry.identification_number`). The RDFI copies it unchanged into a return
entry, so a return carries the reference back. Ledger public ids (`po_` + 32 hex) are longer than
15 characters, so the caller stores a short reference with the payout. The primary key for
matching returns is still the trace number (positions 80-94): ODFI id (8 digits) plus a 7-digit
sequence, assigned by `write_file` in file order from `first_trace_sequence`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from typing import Literal, NamedTuple

RECORD_LENGTH = 94
BLOCKING_FACTOR = 10
PADDING_RECORD = "9" * RECORD_LENGTH
MAX_ENTRY_AMOUNT = 9_999_999_999  # the Entry Detail amount field has 10 digits
MAX_TOTAL_AMOUNT = 999_999_999_999  # control totals have 12
MAX_TRACE_SEQUENCE = 9_999_999

SERVICE_CLASS_MIXED = 200
SERVICE_CLASS_CREDITS_ONLY = 220
SERVICE_CLASS_DEBITS_ONLY = 225

SecCode = Literal["PPD", "CCD"]
ReturnCategory = Literal["administrative", "unauthorized", "other"]
SEC_CODES: tuple[SecCode, ...] = ("PPD", "CCD")


class NachaError(ValueError):
    """Bad input for a NACHA file, or a file that is malformed or does not add up."""


class TransactionCode(IntEnum):
    CHECKING_CREDIT = 22
    CHECKING_DEBIT = 27
    SAVINGS_CREDIT = 32
    SAVINGS_DEBIT = 37

    @property
    def is_credit(self) -> bool:
        return is_credit_code(self)

    @property
    def return_code(self) -> int:
        """The code a return of this entry carries (22 -> 21, 27 -> 26, ...)."""
        return self - 1


RETURN_TRANSACTION_CODES: Mapping[int, TransactionCode] = {
    c.return_code: c for c in TransactionCode
}


def is_credit_code(code: int) -> bool:
    """Second digit 0-4 is a credit (returns, live and prenotes alike), 5-9 a debit."""
    return code % 10 < 5


# --- field validation --------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")
_PRINTABLE = re.compile(r"[ -~]*")
_ACCOUNT = re.compile(r"[0-9A-Z-]{1,17}")
_TRACE = re.compile(r"[0-9]{15}")
_RETURN_CODE = re.compile(r"R[0-9]{2}")
_ABA_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7)


def _is_digits(value: str, length: int) -> bool:
    return len(value) == length and _DIGITS.fullmatch(value) is not None


def aba_check_digit(first_eight: str) -> str:
    """The ninth digit of an ABA routing number (weights 3, 7, 1 repeated)."""
    if not _is_digits(first_eight, 8):
        raise NachaError(f"a DFI identification is 8 digits, got {first_eight!r}")
    total = sum(int(d) * w for d, w in zip(first_eight, _ABA_WEIGHTS, strict=True))
    return str(-total % 10)


def validate_routing_number(routing: object) -> str:
    if not isinstance(routing, str) or not _is_digits(routing, 9):
        raise NachaError(f"a routing number is 9 digits, got {routing!r}")
    if aba_check_digit(routing[:8]) != routing[8]:
        raise NachaError(f"routing number {routing} fails the ABA checksum")
    return routing


def validate_account_number(account: object) -> str:
    """Uppercased; digits, letters and hyphens, 1-17 characters. Never echoed in errors."""
    if not isinstance(account, str):
        raise NachaError("an account number must be a string")
    normalized = account.strip().upper()
    if not normalized.isascii() or not _ACCOUNT.fullmatch(normalized):
        raise NachaError("an account number is 1-17 digits, letters or hyphens")
    return normalized


def _text(value: object, what: str, max_length: int, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise NachaError(f"{what} must be a string, got {type(value).__name__}")
    # Checked before upper(): 'ß'.upper() is 'SS', which would slip through as ASCII.
    if not _PRINTABLE.fullmatch(value):
        raise NachaError(f"{what} must be printable ASCII, got {value!r}")
    text = value.strip().upper()
    if len(text) > max_length:
        raise NachaError(f"{what} is at most {max_length} characters, got {len(text)}: {text!r}")
    if required and not text:
        raise NachaError(f"{what} is required")
    return text


def _date(value: object, what: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise NachaError(f"{what} must be a date (not a datetime), got {value!r}")
    if not 2000 <= value.year <= 2099:
        raise NachaError(f"{what} must be in 2000-2099 (two-digit years), got {value}")
    return value


def _file_id_modifier(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z0-9]", value.upper()):
        raise NachaError(f"the file ID modifier is one character A-Z or 0-9, got {value!r}")
    return value.upper()


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalizing a frozen dataclass in __post_init__


# --- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Who sends the file, to whom, for which company. Text fields are uppercased."""

    immediate_destination: str  # routing number of the bank (or operator) receiving the file
    immediate_destination_name: str
    immediate_origin: str  # a routing number, or the 10-character id the bank assigned
    immediate_origin_name: str
    company_name: str
    company_id: str  # often "1" + the EIN
    odfi_id: str  # first 8 digits of the originating DFI's routing number

    def __post_init__(self) -> None:
        validate_routing_number(self.immediate_destination)
        origin_id = self.immediate_origin
        if isinstance(origin_id, str) and len(origin_id) == 9:
            validate_routing_number(origin_id)
        elif not isinstance(origin_id, str) or not re.fullmatch(r"[0-9A-Z]{10}", origin_id):
            raise NachaError(
                "immediate origin is a routing number or a 10-character uppercase id, "
                f"got {origin_id!r}"
            )
        for name, what, length in (
            ("immediate_destination_name", "immediate destination name", 23),
            ("immediate_origin_name", "immediate origin name", 23),
        ):
            _set(self, name, _text(getattr(self, name), what, length, required=False))
        _set(self, "company_name", _text(self.company_name, "company name", 16))
        _set(self, "company_id", _text(self.company_id, "company identification", 10))
        if not isinstance(self.odfi_id, str) or not _is_digits(self.odfi_id, 8):
            raise NachaError(f"the ODFI identification is 8 digits, got {self.odfi_id!r}")


@dataclass(frozen=True)
class Entry:
    """One PPD/CCD entry. The account number is kept out of repr so it never reaches a log."""

    transaction_code: TransactionCode
    routing_number: str
    account_number: str = field(repr=False)
    amount_cents: int
    name: str  # the individual's (PPD) or receiving company's (CCD) name, at most 22
    identification_number: str = ""  # the ledger reference, at most 15

    def __post_init__(self) -> None:
        try:
            _set(self, "transaction_code", TransactionCode(self.transaction_code))
        except ValueError:
            codes = ", ".join(str(int(c)) for c in TransactionCode)
            raise NachaError(
                f"transaction code must be one of {codes}, got {self.transaction_code!r}"
            ) from None
        validate_routing_number(self.routing_number)
        _set(self, "account_number", validate_account_number(self.account_number))
        amount = self.amount_cents
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise NachaError(f"amount must be integer cents, got {type(amount).__name__}")
        if not 0 < amount <= MAX_ENTRY_AMOUNT:
            raise NachaError(f"amount must be 1..{MAX_ENTRY_AMOUNT} cents, got {amount}")
        _set(self, "name", _text(self.name, "receiver name", 22))
        _set(
            self,
            "identification_number",
            _text(self.identification_number, "identification number", 15, required=False),
        )


@dataclass(frozen=True)
class Batch:
    sec_code: SecCode  # PPD for consumers, CCD for companies
    entry_description: str  # at most 10, shown on the receiver's statement, e.g. "PAYOUT"
    effective_date: date
    entries: tuple[Entry, ...]

    def __post_init__(self) -> None:
        if self.sec_code not in SEC_CODES:
            raise NachaError(f"SEC code must be PPD or CCD, got {self.sec_code!r}")
        _set(self, "entry_description", _text(self.entry_description, "entry description", 10))
        _date(self.effective_date, "effective entry date")
        entries = tuple(self.entries)
        if not entries or not all(isinstance(e, Entry) for e in entries):
            raise NachaError("a batch needs at least one Entry")
        _set(self, "entries", entries)

    @property
    def service_class_code(self) -> int:
        return _service_class(e.transaction_code for e in self.entries)


def _service_class(codes: Iterable[int]) -> int:
    kinds = {is_credit_code(c) for c in codes}
    if kinds == {True}:
        return SERVICE_CLASS_CREDITS_ONLY
    if kinds == {False}:
        return SERVICE_CLASS_DEBITS_ONLY
    return SERVICE_CLASS_MIXED


# --- returns -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnReason:
    code: str
    description: str
    # NACHA's return-rate thresholds: unauthorized 0.5%, administrative (R02-R04) 3%.
    category: ReturnCategory


def _reasons(*rows: tuple[str, str, ReturnCategory]) -> dict[str, ReturnReason]:
    return {code: ReturnReason(code, text, category) for code, text, category in rows}


RETURN_REASONS: Mapping[str, ReturnReason] = _reasons(
    ("R01", "Insufficient funds", "other"),
    ("R02", "Account closed", "administrative"),
    ("R03", "No account / unable to locate account", "administrative"),
    ("R04", "Invalid account number structure", "administrative"),
    ("R05", "Unauthorized debit to consumer account using corporate SEC code", "unauthorized"),
    ("R06", "Returned per ODFI's request", "other"),
    ("R07", "Authorization revoked by customer", "unauthorized"),
    ("R08", "Payment stopped", "other"),
    ("R09", "Uncollected funds", "other"),
    ("R10", "Customer advises originator is not known or not authorized", "unauthorized"),
    ("R11", "Customer advises entry not in accordance with the authorization", "unauthorized"),
    ("R12", "Account sold to another DFI", "other"),
    ("R13", "Invalid ACH routing number", "other"),
    ("R14", "Representative payee deceased or unable to continue", "other"),
    ("R15", "Beneficiary or account holder deceased", "other"),
    ("R16", "Account frozen / entry returned per OFAC instruction", "other"),
    ("R17", "File record edit criteria / questionable circumstances", "other"),
    ("R18", "Improper effective entry date", "other"),
    ("R19", "Amount field error", "other"),
    ("R20", "Non-transaction account", "other"),
    ("R21", "Invalid company identification", "other"),
    ("R22", "Invalid individual ID number", "other"),
    ("R23", "Credit entry refused by receiver", "other"),
    ("R24", "Duplicate entry", "other"),
    ("R25", "Addenda error", "other"),
    ("R26", "Mandatory field error", "other"),
    ("R27", "Trace number error", "other"),
    ("R28", "Routing number check digit error", "other"),
    ("R29", "Corporate customer advises not authorized", "unauthorized"),
    ("R30", "RDFI not participant in check truncation program", "other"),
    ("R31", "Permissible return entry (CCD and CTX only)", "other"),
    ("R32", "RDFI non-settlement", "other"),
    ("R33", "Return of XCK entry", "other"),
    ("R34", "Limited participation DFI", "other"),
    ("R35", "Return of improper debit entry", "other"),
    ("R36", "Return of improper credit entry", "other"),
    ("R37", "Source document presented for payment", "other"),
    ("R38", "Stop payment on source document", "other"),
    ("R39", "Improper source document", "other"),
)
_DEATH_CODES = frozenset({"R14", "R15"})


def return_reason(code: str) -> ReturnReason:
    """The table row for a code; codes outside the table (e.g. IAT/ENR) come back as 'other'."""
    if not _RETURN_CODE.fullmatch(code):
        raise NachaError(f"a return reason code looks like R01, got {code!r}")
    return RETURN_REASONS.get(code) or ReturnReason(code, "Unlisted return reason code", "other")


class ReturnItem(NamedTuple):
    """One entry for `write_returns_file`; a plain (entry, original_trace, code) tuple works."""

    entry: Entry
    original_trace_number: str
    return_reason_code: str
    date_of_death: date | None = None  # R14/R15 only
    addenda_information: str = ""
    sec_code: SecCode = "PPD"  # of the original batch, which the return entry repeats
    entry_description: str = "PAYOUT"


@dataclass(frozen=True)
class ReturnedEntry:
    return_reason_code: str
    original_trace_number: str
    original_receiving_dfi: str  # 8 digits
    date_of_death: date | None
    addenda_information: str
    trace_number: str  # the return entry's own, assigned by the returning bank
    transaction_code: int  # 21, 26, 31 or 36
    original_entry: Entry  # rebuilt: original code, receiver's routing number, account, amount
    sec_code: str
    company_name: str
    company_id: str
    entry_description: str
    effective_date: date

    @property
    def reason(self) -> ReturnReason:
        return return_reason(self.return_reason_code)


# --- record layouts ----------------------------------------------------------------------


class _Field(NamedTuple):
    name: str
    first: int  # 1-based, inclusive, as in the Rules
    last: int
    numeric: bool = False
    fixed: str | None = None  # written as is; checked when read unless blank

    @property
    def width(self) -> int:
        return self.last - self.first + 1


class _Layout:
    def __init__(self, title: str, *fields: _Field) -> None:
        position = 1
        for f in fields:
            assert f.first == position, f"{title}: {f.name} starts at {f.first}, not {position}"
            assert f.fixed is None or len(f.fixed) in (0, f.width), f.name
            position = f.last + 1
        assert position == RECORD_LENGTH + 1, f"{title} is {position - 1} characters"
        self.title = title
        self.fields = fields

    def build(self, **values: str | int) -> str:
        parts = []
        for f in self.fields:
            if f.fixed is not None:
                parts.append(f.fixed.ljust(f.width))
                continue
            value = str(values.pop(f.name))
            if len(value) > f.width:
                raise NachaError(
                    f"{self.title} {f.name} ({f.width} characters) cannot hold {value}"
                )
            parts.append(value.zfill(f.width) if f.numeric else value.ljust(f.width))
        assert not values, f"{self.title} has no fields {sorted(values)}"
        return "".join(parts)

    def read(self, line: str, line_no: int) -> dict[str, str]:
        values = {}
        for f in self.fields:
            value = line[f.first - 1 : f.last]
            if f.fixed and value != f.fixed:
                raise NachaError(
                    f"line {line_no}: {self.title} {f.name} (positions {f.first}-{f.last}) "
                    f"must be {f.fixed!r}, got {value!r}"
                )
            if f.numeric and not _DIGITS.fullmatch(value):
                raise NachaError(
                    f"line {line_no}: {self.title} {f.name} (positions {f.first}-{f.last}) "
                    f"must be digits, got {value!r}"
                )
            values[f.name] = value
        return values


_FILE_HEADER = _Layout(
    "File Header",
    _Field("record_type", 1, 1, fixed="1"),
    _Field("priority_code", 2, 3, numeric=True, fixed="01"),
    _Field("immediate_destination", 4, 13),  # " " + routing number
    _Field("immediate_origin", 14, 23),
    _Field("file_creation_date", 24, 29, numeric=True),
    _Field("file_creation_time", 30, 33, numeric=True),
    _Field("file_id_modifier", 34, 34),
    _Field("record_size", 35, 37, numeric=True, fixed="094"),
    _Field("blocking_factor", 38, 39, numeric=True, fixed="10"),
    _Field("format_code", 40, 40, numeric=True, fixed="1"),
    _Field("immediate_destination_name", 41, 63),
    _Field("immediate_origin_name", 64, 86),
    _Field("reference_code", 87, 94, fixed=""),
)
_BATCH_HEADER = _Layout(
    "Batch Header",
    _Field("record_type", 1, 1, fixed="5"),
    _Field("service_class_code", 2, 4, numeric=True),
    _Field("company_name", 5, 20),
    _Field("company_discretionary_data", 21, 40, fixed=""),
    _Field("company_identification", 41, 50),
    _Field("standard_entry_class_code", 51, 53),
    _Field("company_entry_description", 54, 63),
    _Field("company_descriptive_date", 64, 69, fixed=""),
    _Field("effective_entry_date", 70, 75, numeric=True),
    _Field("settlement_date", 76, 78, fixed=""),  # the ACH operator fills it in
    _Field("originator_status_code", 79, 79, fixed="1"),
    _Field("originating_dfi_identification", 80, 87, numeric=True),
    _Field("batch_number", 88, 94, numeric=True),
)
_ENTRY_DETAIL = _Layout(
    "Entry Detail",
    _Field("record_type", 1, 1, fixed="6"),
    _Field("transaction_code", 2, 3, numeric=True),
    _Field("receiving_dfi_identification", 4, 11, numeric=True),
    _Field("check_digit", 12, 12, numeric=True),
    _Field("dfi_account_number", 13, 29),
    _Field("amount", 30, 39, numeric=True),
    _Field("identification_number", 40, 54),
    _Field("receiver_name", 55, 76),
    _Field("discretionary_data", 77, 78, fixed=""),
    _Field("addenda_record_indicator", 79, 79, numeric=True),
    _Field("trace_number", 80, 94, numeric=True),
)
_RETURN_ADDENDA = _Layout(
    "Return Addenda",
    _Field("record_type", 1, 1, fixed="7"),
    _Field("addenda_type_code", 2, 3, numeric=True, fixed="99"),
    _Field("return_reason_code", 4, 6),
    _Field("original_entry_trace_number", 7, 21, numeric=True),
    _Field("date_of_death", 22, 27),
    _Field("original_receiving_dfi_identification", 28, 35, numeric=True),
    _Field("addenda_information", 36, 79),
    _Field("trace_number", 80, 94, numeric=True),
)
_BATCH_CONTROL = _Layout(
    "Batch Control",
    _Field("record_type", 1, 1, fixed="8"),
    _Field("service_class_code", 2, 4, numeric=True),
    _Field("entry_addenda_count", 5, 10, numeric=True),
    _Field("entry_hash", 11, 20, numeric=True),
    _Field("total_debit", 21, 32, numeric=True),
    _Field("total_credit", 33, 44, numeric=True),
    _Field("company_identification", 45, 54),
    _Field("message_authentication_code", 55, 73, fixed=""),
    _Field("reserved", 74, 79, fixed=""),
    _Field("originating_dfi_identification", 80, 87, numeric=True),
    _Field("batch_number", 88, 94, numeric=True),
)
_FILE_CONTROL = _Layout(
    "File Control",
    _Field("record_type", 1, 1, fixed="9"),
    _Field("batch_count", 2, 7, numeric=True),
    _Field("block_count", 8, 13, numeric=True),
    _Field("entry_addenda_count", 14, 21, numeric=True),
    _Field("entry_hash", 22, 31, numeric=True),
    _Field("total_debit", 32, 43, numeric=True),
    _Field("total_credit", 44, 55, numeric=True),
    _Field("reserved", 56, 94, fixed=""),
)


def _yymmdd(d: date) -> str:
    return d.strftime("%y%m%d")


def _routing_field(value: str) -> str:
    """Immediate destination/origin: a routing number is written with a leading space."""
    return f" {value}" if len(value) == 9 else value


# --- writing -----------------------------------------------------------------------------


@dataclass
class _Totals:
    count: int = 0  # entry and addenda records
    hash_sum: int = 0
    debit: int = 0
    credit: int = 0

    def add(self, code: int, receiving_dfi: str, amount: int, addenda: int) -> None:
        self.count += 1 + addenda
        self.hash_sum += int(receiving_dfi)
        if is_credit_code(code):
            self.credit += amount
        else:
            self.debit += amount

    def merge(self, other: _Totals) -> None:
        self.count += other.count
        self.hash_sum += other.hash_sum
        self.debit += other.debit
        self.credit += other.credit

    @property
    def entry_hash(self) -> int:
        return self.hash_sum % 10**10  # the rightmost 10 digits


@dataclass(frozen=True)
class _OutEntry:
    code: int
    routing_number: str
    account_number: str
    amount_cents: int
    identification_number: str
    name: str
    trace_number: str
    addenda: tuple[str, ...] = ()


@dataclass(frozen=True)
class _OutBatch:
    sec_code: str
    entry_description: str
    effective_date: date
    odfi_id: str
    entries: tuple[_OutEntry, ...]


def _check_total(what: str, cents: int) -> None:
    if cents > MAX_TOTAL_AMOUNT:
        raise NachaError(f"{what} of {cents} cents exceeds the 12-digit control total field")


def _render(
    origin: Origin, batches: Sequence[_OutBatch], created_at: datetime, file_id_modifier: str
) -> str:
    if not isinstance(created_at, datetime):
        raise NachaError(f"created_at must be a datetime, got {created_at!r}")
    _date(created_at.date(), "file creation date")
    lines = [
        _FILE_HEADER.build(
            immediate_destination=_routing_field(origin.immediate_destination),
            immediate_origin=_routing_field(origin.immediate_origin),
            file_creation_date=_yymmdd(created_at),
            file_creation_time=created_at.strftime("%H%M"),
            file_id_modifier=_file_id_modifier(file_id_modifier),
            immediate_destination_name=origin.immediate_destination_name,
            immediate_origin_name=origin.immediate_origin_name,
        )
    ]
    file_totals = _Totals()
    for number, batch in enumerate(batches, start=1):
        totals = _Totals()
        service_class = _service_class(e.code for e in batch.entries)
        lines.append(
            _BATCH_HEADER.build(
                service_class_code=service_class,
                company_name=origin.company_name,
                company_identification=origin.company_id,
                standard_entry_class_code=batch.sec_code,
                company_entry_description=batch.entry_description,
                effective_entry_date=_yymmdd(batch.effective_date),
                originating_dfi_identification=batch.odfi_id,
                batch_number=number,
            )
        )
        for e in batch.entries:
            lines.append(
                _ENTRY_DETAIL.build(
                    transaction_code=e.code,
                    receiving_dfi_identification=e.routing_number[:8],
                    check_digit=e.routing_number[8],
                    dfi_account_number=e.account_number,
                    amount=e.amount_cents,
                    identification_number=e.identification_number,
                    receiver_name=e.name,
                    addenda_record_indicator=1 if e.addenda else 0,
                    trace_number=e.trace_number,
                )
            )
            lines.extend(e.addenda)
            totals.add(e.code, e.routing_number[:8], e.amount_cents, len(e.addenda))
        _check_total(f"batch {number} debit total", totals.debit)
        _check_total(f"batch {number} credit total", totals.credit)
        lines.append(
            _BATCH_CONTROL.build(
                service_class_code=service_class,
                entry_addenda_count=totals.count,
                entry_hash=totals.entry_hash,
                total_debit=totals.debit,
                total_credit=totals.credit,
                company_identification=origin.company_id,
                originating_dfi_identification=batch.odfi_id,
                batch_number=number,
            )
        )
        file_totals.merge(totals)
    _check_total("file debit total", file_totals.debit)
    _check_total("file credit total", file_totals.credit)
    blocks = -(-(len(lines) + 1) // BLOCKING_FACTOR)  # ceil, counting the File Control record
    lines.append(
        _FILE_CONTROL.build(
            batch_count=len(batches),
            block_count=blocks,
            entry_addenda_count=file_totals.count,
            entry_hash=file_totals.entry_hash,
            total_debit=file_totals.debit,
            total_credit=file_totals.credit,
        )
    )
    lines.extend([PADDING_RECORD] * (blocks * BLOCKING_FACTOR - len(lines)))
    return "\n".join(lines) + "\n"


def trace_number(odfi_id: str, sequence: int) -> str:
    if not _is_digits(odfi_id, 8):
        raise NachaError(f"the ODFI identification is 8 digits, got {odfi_id!r}")
    if not 1 <= sequence <= MAX_TRACE_SEQUENCE:
        raise NachaError(f"trace sequence must be 1..{MAX_TRACE_SEQUENCE}, got {sequence}")
    return f"{odfi_id}{sequence:07d}"


def write_file(
    origin: Origin,
    batches: Sequence[Batch],
    *,
    created_at: datetime,
    file_id_modifier: str,
    first_trace_sequence: int = 1,
) -> str:
    """A NACHA file, '\\n'-terminated records, padded to whole blocks of 10.

    Trace numbers run through the file in order: the n-th entry (0-based) gets
    `trace_number(origin.odfi_id, first_trace_sequence + n)`. `created_at` is written as its
    wall-clock date and time (HHMM); convert it to the bank's time zone first if it cares.
    """
    if not isinstance(origin, Origin):
        raise NachaError("origin must be an Origin")
    if not batches or not all(isinstance(b, Batch) for b in batches):
        raise NachaError("a file needs at least one Batch")
    sequence = first_trace_sequence
    out = []
    for batch in batches:
        entries = []
        for e in batch.entries:
            entries.append(
                _OutEntry(
                    code=e.transaction_code,
                    routing_number=e.routing_number,
                    account_number=e.account_number,
                    amount_cents=e.amount_cents,
                    identification_number=e.identification_number,
                    name=e.name,
                    trace_number=trace_number(origin.odfi_id, sequence),
                )
            )
            sequence += 1
        out.append(
            _OutBatch(
                batch.sec_code,
                batch.entry_description,
                batch.effective_date,
                origin.odfi_id,
                tuple(entries),
            )
        )
    return _render(origin, out, created_at, file_id_modifier)


def write_returns_file(
    origin: Origin,
    returns: Iterable[ReturnItem | tuple[Entry, str, str]],
    *,
    created_at: datetime,
    file_id_modifier: str,
    effective_date: date | None = None,
) -> str:
    """A returns file as the ODFI would hand it back: what a sandbox bank or a test needs.

    `origin` is the original file's. Each return entry goes back to the ODFI (its receiving
    DFI is `origin.odfi_id`), repeats the original's account, amount, identification number
    and name, and carries a type 99 addenda with the reason code and original trace number.
    Returns are batched per returning bank (the original receiving DFI), whose id is the batch's
    originating DFI and the prefix of the return trace numbers.
    """
    if not isinstance(origin, Origin):
        raise NachaError("origin must be an Origin")
    effective = _date(
        effective_date if effective_date is not None else created_at.date(), "effective date"
    )
    groups: dict[tuple[str, str, str], list[_OutEntry]] = defaultdict(list)
    sequences: dict[str, int] = defaultdict(int)
    for raw in returns:
        item = raw if isinstance(raw, ReturnItem) else ReturnItem(*raw)
        entry = item.entry
        if not isinstance(entry, Entry):
            raise NachaError("each return needs the original Entry")
        original_trace = item.original_trace_number
        if not isinstance(original_trace, str) or not _TRACE.fullmatch(original_trace):
            raise NachaError(f"an original trace number is 15 digits, got {original_trace!r}")
        if not original_trace.startswith(origin.odfi_id):
            raise NachaError(
                f"original trace {original_trace} was not originated by ODFI {origin.odfi_id}"
            )
        code = item.return_reason_code
        if code not in RETURN_REASONS:
            raise NachaError(f"unknown return reason code {code!r}")
        if item.date_of_death is not None and code not in _DEATH_CODES:
            raise NachaError(f"a date of death only goes with R14/R15, not {code}")
        death = "" if item.date_of_death is None else _yymmdd(_date(item.date_of_death, "death"))
        if item.sec_code not in SEC_CODES:
            raise NachaError(f"SEC code must be PPD or CCD, got {item.sec_code!r}")
        description = _text(item.entry_description, "entry description", 10)
        rdfi = entry.routing_number[:8]
        sequences[rdfi] += 1
        trace = trace_number(rdfi, sequences[rdfi])
        addenda = _RETURN_ADDENDA.build(
            return_reason_code=code,
            original_entry_trace_number=original_trace,
            date_of_death=death,
            original_receiving_dfi_identification=rdfi,
            addenda_information=_text(
                item.addenda_information, "addenda information", 44, required=False
            ),
            trace_number=trace,
        )
        groups[(rdfi, item.sec_code, description)].append(
            _OutEntry(
                code=entry.transaction_code.return_code,
                routing_number=origin.odfi_id + aba_check_digit(origin.odfi_id),
                account_number=entry.account_number,
                amount_cents=entry.amount_cents,
                identification_number=entry.identification_number,
                name=entry.name,
                trace_number=trace,
                addenda=(addenda,),
            )
        )
    batches = [
        _OutBatch(sec, description, effective, rdfi, tuple(entries))
        for (rdfi, sec, description), entries in groups.items()
    ]
    return _render(origin, batches, created_at, file_id_modifier)


# --- reading -----------------------------------------------------------------------------


@dataclass
class _RawEntry:
    line_no: int
    fields: dict[str, str]
    addenda: list[tuple[int, str]]


@dataclass
class _RawBatch:
    line_no: int
    header: dict[str, str]
    entries: list[_RawEntry]
    control: dict[str, str] = field(default_factory=dict)


@dataclass
class _RawFile:
    header: dict[str, str]
    batches: list[_RawBatch]
    control: dict[str, str]


def _split_records(text: str) -> list[str]:
    if not isinstance(text, str):
        raise NachaError("a NACHA file is text")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    if not lines:
        raise NachaError("the file is empty")
    for no, line in enumerate(lines, start=1):
        if len(line) != RECORD_LENGTH:
            raise NachaError(
                f"line {no}: a record is {RECORD_LENGTH} characters, this one is {len(line)}"
            )
    return lines


def _read(text: str) -> _RawFile:
    """Split a file into records, checking order, counts, hashes and totals."""
    lines = _split_records(text)
    if lines[0][0] != "1":
        raise NachaError(f"line 1: a file starts with a File Header (type 1), not {lines[0][0]!r}")
    header = _FILE_HEADER.read(lines[0], 1)
    batches: list[_RawBatch] = []
    batch: _RawBatch | None = None
    control: dict[str, str] | None = None
    control_line = 0
    totals = _Totals()
    for no, line in enumerate(lines[1:], start=2):
        kind = line[0]
        if control is not None:
            if line != PADDING_RECORD:
                raise NachaError(f"line {no}: only '9' padding may follow the File Control")
        elif kind == "5":
            if batch is not None:
                raise NachaError(f"line {no}: Batch Header before the previous Batch Control")
            batch = _RawBatch(no, _BATCH_HEADER.read(line, no), [])
        elif kind == "6":
            if batch is None:
                raise NachaError(f"line {no}: Entry Detail outside a batch")
            batch.entries.append(_RawEntry(no, _ENTRY_DETAIL.read(line, no), []))
        elif kind == "7":
            if batch is None or not batch.entries:
                raise NachaError(f"line {no}: Addenda without an Entry Detail before it")
            batch.entries[-1].addenda.append((no, line))
        elif kind == "8":
            if batch is None:
                raise NachaError(f"line {no}: Batch Control without a Batch Header")
            batch.control = _BATCH_CONTROL.read(line, no)
            totals.merge(_check_batch(batch, no))
            batches.append(batch)
            batch = None
        elif kind == "9":
            if line == PADDING_RECORD:
                raise NachaError(f"line {no}: padding before the File Control record")
            if batch is not None:
                raise NachaError(f"line {no}: File Control before the open batch's Batch Control")
            control = _FILE_CONTROL.read(line, no)
            control_line = no
        elif kind == "1":
            raise NachaError(f"line {no}: a second File Header")
        else:
            raise NachaError(f"line {no}: unknown record type {kind!r}")
    if control is None:
        raise NachaError("the file has no File Control record (type 9)")
    _check_file(control, control_line, len(batches), len(lines), totals)
    return _RawFile(header, batches, control)


def _mismatch(line_no: int, what: str, stated: object, actual: object) -> NachaError:
    return NachaError(f"line {line_no}: {what} says {stated}, but the records add up to {actual}")


def _check_batch(batch: _RawBatch, line_no: int) -> _Totals:
    head, ctrl = batch.header, batch.control
    service_class = int(head["service_class_code"])
    if service_class not in (
        SERVICE_CLASS_MIXED,
        SERVICE_CLASS_CREDITS_ONLY,
        SERVICE_CLASS_DEBITS_ONLY,
    ):
        raise NachaError(f"line {batch.line_no}: unknown service class code {service_class}")
    for name in (
        "service_class_code",
        "company_identification",
        "originating_dfi_identification",
        "batch_number",
    ):
        if head[name] != ctrl[name]:
            raise NachaError(
                f"line {line_no}: Batch Control {name} {ctrl[name]!r} does not match "
                f"the Batch Header's {head[name]!r}"
            )
    totals = _Totals()
    previous_trace = ""
    for e in batch.entries:
        f = e.fields
        indicator = f["addenda_record_indicator"]
        if indicator not in "01" or (indicator == "1") != bool(e.addenda):
            raise NachaError(
                f"line {e.line_no}: addenda record indicator {indicator} (position 79) "
                f"but {len(e.addenda)} addenda records follow"
            )
        trace = f["trace_number"]
        if not trace.startswith(head["originating_dfi_identification"]) or trace <= previous_trace:
            raise NachaError(
                f"line {e.line_no}: trace number {trace} must start with the batch's ODFI id "
                f"{head['originating_dfi_identification']} and ascend within the batch"
            )
        previous_trace = trace
        code = int(f["transaction_code"])
        totals.add(code, f["receiving_dfi_identification"], int(f["amount"]), len(e.addenda))
    if service_class == SERVICE_CLASS_CREDITS_ONLY and totals.debit:
        raise NachaError(f"line {batch.line_no}: service class 220 (credits only) has debits")
    if service_class == SERVICE_CLASS_DEBITS_ONLY and totals.credit:
        raise NachaError(f"line {batch.line_no}: service class 225 (debits only) has credits")
    _compare(line_no, "Batch Control", ctrl, totals)
    return totals


def _compare(line_no: int, title: str, ctrl: dict[str, str], totals: _Totals) -> None:
    for name, actual in (
        ("entry_addenda_count", totals.count),
        ("entry_hash", totals.entry_hash),
        ("total_debit", totals.debit),
        ("total_credit", totals.credit),
    ):
        if int(ctrl[name]) != actual:
            raise _mismatch(line_no, f"{title} {name}", int(ctrl[name]), actual)


def _check_file(
    ctrl: dict[str, str], line_no: int, batch_count: int, line_count: int, totals: _Totals
) -> None:
    if int(ctrl["batch_count"]) != batch_count:
        raise _mismatch(line_no, "File Control batch_count", int(ctrl["batch_count"]), batch_count)
    if line_count % BLOCKING_FACTOR:
        raise NachaError(
            f"the file has {line_count} records; it must be padded with '9' records "
            f"to a multiple of {BLOCKING_FACTOR}"
        )
    blocks = line_count // BLOCKING_FACTOR
    if int(ctrl["block_count"]) != blocks:
        raise _mismatch(line_no, "File Control block_count", int(ctrl["block_count"]), blocks)
    _compare(line_no, "File Control", ctrl, totals)


# --- parsing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedBatch:
    batch: Batch
    batch_number: int
    service_class_code: int
    trace_numbers: tuple[str, ...]  # one per entry, in order
    total_debit_cents: int
    total_credit_cents: int
    entry_hash: int


@dataclass(frozen=True)
class ParsedFile:
    origin: Origin
    created_at: datetime  # naive, to the minute
    file_id_modifier: str
    batches: tuple[ParsedBatch, ...]
    total_debit_cents: int
    total_credit_cents: int
    entry_addenda_count: int
    entry_hash: int
    block_count: int


@contextmanager
def _at(line_no: int) -> Iterator[None]:
    try:
        yield
    except NachaError as exc:
        raise NachaError(f"line {line_no}: {exc}") from None


def _parse_date(yymmdd: str, what: str) -> date:
    if not _is_digits(yymmdd, 6):
        raise NachaError(f"{what} must be YYMMDD, got {yymmdd!r}")
    try:
        return date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        raise NachaError(f"{what} {yymmdd} is not a date") from None


def _parse_routing_field(value: str, what: str) -> str:
    if value.startswith(" "):
        return validate_routing_number(value[1:])
    if what == "immediate origin":  # may be a 10-character id the bank assigned
        return value
    raise NachaError(f"{what} must be a space and a routing number, got {value!r}")


def _parse_origin(raw: _RawFile) -> Origin:
    header = raw.header
    with _at(1):
        destination = _parse_routing_field(header["immediate_destination"], "immediate destination")
        origin_id = _parse_routing_field(header["immediate_origin"], "immediate origin")
    first = raw.batches[0].header
    for batch in raw.batches[1:]:
        for name in ("company_name", "company_identification", "originating_dfi_identification"):
            if batch.header[name] != first[name]:
                raise NachaError(
                    f"line {batch.line_no}: {name} differs from the first batch's; "
                    "parse_file reads files with one originator, as write_file writes them"
                )
    with _at(raw.batches[0].line_no):
        return Origin(
            immediate_destination=destination,
            immediate_destination_name=header["immediate_destination_name"],
            immediate_origin=origin_id,
            immediate_origin_name=header["immediate_origin_name"],
            company_name=first["company_name"],
            company_id=first["company_identification"],
            odfi_id=first["originating_dfi_identification"],
        )


def _created_at(header: dict[str, str]) -> datetime:
    day = _parse_date(header["file_creation_date"], "file creation date")
    hhmm = header["file_creation_time"]
    try:
        return datetime(day.year, day.month, day.day, int(hhmm[:2]), int(hhmm[2:]))
    except ValueError:
        raise NachaError(f"line 1: file creation time {hhmm} is not HHMM") from None


def _sec_code(value: str) -> SecCode:
    for code in SEC_CODES:
        if value == code:
            return code
    raise NachaError(f"SEC code {value!r} is not supported (PPD or CCD)")


def _parse_batch(raw: _RawBatch) -> ParsedBatch:
    head = raw.header
    entries = []
    for e in raw.entries:
        f = e.fields
        if e.addenda:
            raise NachaError(
                f"line {e.addenda[0][0]}: addenda records belong in returns files; "
                "read those with parse_returns"
            )
        with _at(e.line_no):
            entries.append(
                Entry(
                    transaction_code=_originated_code(int(f["transaction_code"])),
                    routing_number=f["receiving_dfi_identification"] + f["check_digit"],
                    account_number=f["dfi_account_number"],
                    amount_cents=int(f["amount"]),
                    name=f["receiver_name"],
                    identification_number=f["identification_number"],
                )
            )
    with _at(raw.line_no):
        batch = Batch(
            sec_code=_sec_code(head["standard_entry_class_code"]),
            entry_description=head["company_entry_description"],
            effective_date=_parse_date(head["effective_entry_date"], "effective entry date"),
            entries=tuple(entries),
        )
    ctrl = raw.control
    return ParsedBatch(
        batch=batch,
        batch_number=int(head["batch_number"]),
        service_class_code=int(head["service_class_code"]),
        trace_numbers=tuple(e.fields["trace_number"] for e in raw.entries),
        total_debit_cents=int(ctrl["total_debit"]),
        total_credit_cents=int(ctrl["total_credit"]),
        entry_hash=int(ctrl["entry_hash"]),
    )


def _originated_code(code: int) -> TransactionCode:
    if code in RETURN_TRANSACTION_CODES:
        raise NachaError(f"transaction code {code} is a return; read returns with parse_returns")
    try:
        return TransactionCode(code)
    except ValueError:
        raise NachaError(f"transaction code {code} is not supported (22, 27, 32, 37)") from None


def parse_file(text: str) -> ParsedFile:
    """Read a file written by `write_file`, verifying every count, hash and total."""
    raw = _read(text)
    if not raw.batches:
        raise NachaError("the file has no batches")
    ctrl = raw.control
    batches = tuple(_parse_batch(b) for b in raw.batches)  # first: it spots a returns file
    return ParsedFile(
        origin=_parse_origin(raw),
        created_at=_created_at(raw.header),
        file_id_modifier=_file_id_modifier(raw.header["file_id_modifier"]),
        batches=batches,
        total_debit_cents=int(ctrl["total_debit"]),
        total_credit_cents=int(ctrl["total_credit"]),
        entry_addenda_count=int(ctrl["entry_addenda_count"]),
        entry_hash=int(ctrl["entry_hash"]),
        block_count=int(ctrl["block_count"]),
    )


def _parse_return(batch: _RawBatch, e: _RawEntry) -> ReturnedEntry:
    f, head = e.fields, batch.header
    code = int(f["transaction_code"])
    if code not in RETURN_TRANSACTION_CODES:
        raise NachaError(f"line {e.line_no}: transaction code {code} is not a return (21/26/31/36)")
    if len(e.addenda) != 1:
        raise NachaError(f"line {e.line_no}: a return entry has one addenda record")
    addenda_no, addenda_line = e.addenda[0]
    if addenda_line[1:3] == "98":
        raise NachaError(
            f"line {addenda_no}: notifications of change (addenda 98) are not supported"
        )
    a = _RETURN_ADDENDA.read(addenda_line, addenda_no)
    with _at(addenda_no):
        if a["trace_number"] != f["trace_number"]:
            raise NachaError(f"addenda trace {a['trace_number']} is not its entry's")
        reason = return_reason(a["return_reason_code"]).code
        death = a["date_of_death"].strip()
        original_rdfi = a["original_receiving_dfi_identification"]
        original = Entry(
            transaction_code=RETURN_TRANSACTION_CODES[code],
            routing_number=original_rdfi + aba_check_digit(original_rdfi),
            account_number=f["dfi_account_number"],
            amount_cents=int(f["amount"]),
            name=f["receiver_name"],
            identification_number=f["identification_number"],
        )
        return ReturnedEntry(
            return_reason_code=reason,
            original_trace_number=a["original_entry_trace_number"],
            original_receiving_dfi=original_rdfi,
            date_of_death=_parse_date(death, "date of death") if death else None,
            addenda_information=a["addenda_information"].strip(),
            trace_number=f["trace_number"],
            transaction_code=code,
            original_entry=original,
            sec_code=head["standard_entry_class_code"].strip(),
            company_name=head["company_name"].strip(),
            company_id=head["company_identification"].strip(),
            entry_description=head["company_entry_description"].strip(),
            effective_date=_parse_date(head["effective_entry_date"], "effective entry date"),
        )


def parse_returns(text: str) -> list[ReturnedEntry]:
    """Read a returns file (return entries with type 99 addenda), verifying its controls."""
    raw = _read(text)
    return [_parse_return(batch, e) for batch in raw.batches for e in batch.entries]
