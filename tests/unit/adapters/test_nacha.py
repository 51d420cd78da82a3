"""NACHA files checked field by field against the record layouts of the NACHA Operating Rules.

Slices are 0-based: positions 4-13 of a record are `line[3:13]`.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.adapters.ach.nacha import (
    MAX_ENTRY_AMOUNT,
    PADDING_RECORD,
    RETURN_REASONS,
    Batch,
    Entry,
    NachaError,
    Origin,
    ReturnItem,
    SecCode,
    TransactionCode,
    aba_check_digit,
    is_credit_code,
    parse_file,
    parse_returns,
    return_reason,
    validate_routing_number,
    write_file,
    write_returns_file,
)

ORIGIN = Origin(
    immediate_destination="091000019",
    immediate_destination_name="Wells Fargo",
    immediate_origin="021000021",
    immediate_origin_name="Acme Market",
    company_name="Acme Market",
    company_id="1234567890",
    odfi_id="09100001",
)
CREATED = datetime(2026, 3, 10, 14, 5)
EFFECTIVE = date(2026, 3, 11)
CREDIT = TransactionCode.CHECKING_CREDIT
DEBIT = TransactionCode.CHECKING_DEBIT


def entry(
    code: TransactionCode = CREDIT,
    routing: str = "011401533",
    account: str = "123456789",
    amount: int = 12_345,
    name: str = "Jane Doe",
    reference: str = "PO7F3A9C2B11D0E",
) -> Entry:
    return Entry(code, routing, account, amount, name, reference)


def batch(*entries: Entry, sec: SecCode = "PPD") -> Batch:
    return Batch(sec, "payout", EFFECTIVE, entries)


def write(*batches: Batch, first_trace_sequence: int = 1) -> str:
    return write_file(
        ORIGIN,
        batches,
        created_at=CREATED,
        file_id_modifier="A",
        first_trace_sequence=first_trace_sequence,
    )


def records(text: str) -> list[str]:
    assert text.endswith("\n")
    return text.splitlines()


def standard_file() -> list[str]:
    return records(
        write(
            batch(
                entry(),
                entry(TransactionCode.SAVINGS_DEBIT, "026009593", "98-7654", 500, "Bob", ""),
            )
        )
    )


# --- record layouts ----------------------------------------------------------------------


def test_file_header_fields() -> None:
    line = standard_file()[0]
    assert len(line) == 94
    assert line[0:1] == "1"  # record type
    assert line[1:3] == "01"  # priority code
    assert line[3:13] == " 091000019"  # immediate destination: space + routing number
    assert line[13:23] == " 021000021"  # immediate origin
    assert line[23:29] == "260310"  # file creation date YYMMDD
    assert line[29:33] == "1405"  # file creation time HHMM
    assert line[33:34] == "A"  # file ID modifier
    assert line[34:37] == "094"  # record size
    assert line[37:39] == "10"  # blocking factor
    assert line[39:40] == "1"  # format code
    assert line[40:63] == "WELLS FARGO".ljust(23)  # immediate destination name
    assert line[63:86] == "ACME MARKET".ljust(23)  # immediate origin name
    assert line[86:94] == " " * 8  # reference code


def test_immediate_origin_may_be_a_ten_character_id() -> None:
    origin = Origin("091000019", "", "1234567890", "", "Acme", "1234567890", "09100001")
    text = write_file(origin, [batch(entry())], created_at=CREATED, file_id_modifier="0")
    header = records(text)[0]
    assert header[13:23] == "1234567890"
    assert header[33:34] == "0"
    assert parse_file(text).origin == origin


def test_batch_header_fields() -> None:
    line = standard_file()[1]
    assert len(line) == 94
    assert line[0:1] == "5"
    assert line[1:4] == "200"  # service class: mixed
    assert line[4:20] == "ACME MARKET".ljust(16)  # company name
    assert line[20:40] == " " * 20  # company discretionary data
    assert line[40:50] == "1234567890"  # company identification
    assert line[50:53] == "PPD"  # standard entry class
    assert line[53:63] == "PAYOUT".ljust(10)  # company entry description, uppercased
    assert line[63:69] == " " * 6  # company descriptive date
    assert line[69:75] == "260311"  # effective entry date
    assert line[75:78] == "   "  # settlement date, left to the ACH operator
    assert line[78:79] == "1"  # originator status code
    assert line[79:87] == "09100001"  # originating DFI identification
    assert line[87:94] == "0000001"  # batch number


def test_entry_detail_fields() -> None:
    first, second = standard_file()[2:4]
    assert len(first) == len(second) == 94
    assert first[0:1] == "6"
    assert first[1:3] == "22"  # checking credit
    assert first[3:11] == "01140153"  # receiving DFI identification
    assert first[11:12] == "3"  # check digit
    assert first[12:29] == "123456789".ljust(17)  # DFI account number, left-justified
    assert first[29:39] == "0000012345"  # amount in cents, right-justified zero-filled
    assert first[39:54] == "PO7F3A9C2B11D0E"  # identification number: the ledger reference
    assert first[54:76] == "JANE DOE".ljust(22)  # individual name, uppercased
    assert first[76:78] == "  "  # discretionary data
    assert first[78:79] == "0"  # addenda record indicator
    assert first[79:94] == "091000010000001"  # trace: ODFI id + 7-digit sequence
    assert second[1:3] == "37"  # savings debit
    assert second[3:12] == "026009593"
    assert second[12:29] == "98-7654".ljust(17)
    assert second[29:39] == "0000000500"
    assert second[39:54] == " " * 15
    assert second[79:94] == "091000010000002"


def test_batch_control_fields() -> None:
    line = standard_file()[4]
    assert len(line) == 94
    assert line[0:1] == "8"
    assert line[1:4] == "200"  # same service class as the header
    assert line[4:10] == "000002"  # entry/addenda count
    assert line[10:20] == "0003741112"  # entry hash: 01140153 + 02600959
    assert line[20:32] == "000000000500"  # total debits
    assert line[32:44] == "000000012345"  # total credits
    assert line[44:54] == "1234567890"  # company identification
    assert line[54:73] == " " * 19  # message authentication code
    assert line[73:79] == " " * 6  # reserved
    assert line[79:87] == "09100001"
    assert line[87:94] == "0000001"


def test_file_control_fields_and_padding() -> None:
    lines = standard_file()
    line = lines[5]
    assert line[0:1] == "9"
    assert line[1:7] == "000001"  # batch count
    assert line[7:13] == "000001"  # block count
    assert line[13:21] == "00000002"  # entry/addenda count
    assert line[21:31] == "0003741112"  # entry hash
    assert line[31:43] == "000000000500"  # total debits
    assert line[43:55] == "000000012345"  # total credits
    assert line[55:94] == " " * 39  # reserved
    assert len(lines) == 10
    assert lines[6:] == ["9" * 94] * 4


@pytest.mark.parametrize(("entries", "lines", "blocks"), [(6, 10, 1), (7, 20, 2), (16, 20, 2)])
def test_files_are_padded_to_whole_blocks_of_ten(entries: int, lines: int, blocks: int) -> None:
    out = records(write(batch(*[entry() for _ in range(entries)])))
    assert len(out) == lines
    assert all(len(line) == 94 for line in out)
    control = entries + 3  # header, batch header, entries, batch control
    assert out[control][0:1] == "9"
    assert out[control][7:13] == f"{blocks:06d}"
    assert out[control + 1 :] == [PADDING_RECORD] * (lines - control - 1)


@pytest.mark.parametrize(
    ("codes", "service_class", "debits", "credits"),
    [
        ((CREDIT, TransactionCode.SAVINGS_CREDIT), "220", 0, 300),
        ((DEBIT, TransactionCode.SAVINGS_DEBIT), "225", 300, 0),
        ((CREDIT, TransactionCode.SAVINGS_DEBIT), "200", 200, 100),
    ],
)
def test_service_class_and_totals_follow_the_transaction_codes(
    codes: tuple[TransactionCode, TransactionCode], service_class: str, debits: int, credits: int
) -> None:
    lines = records(write(batch(entry(codes[0], amount=100), entry(codes[1], amount=200))))
    assert lines[1][1:4] == service_class
    assert lines[4][1:4] == service_class
    assert lines[2][1:3] == str(int(codes[0]))
    assert int(lines[4][20:32]) == debits
    assert int(lines[4][32:44]) == credits
    assert int(lines[5][31:43]) == debits
    assert int(lines[5][43:55]) == credits


@pytest.mark.parametrize("code", [21, 22, 23, 24, 31, 32, 33, 34])
def test_return_prenote_and_zero_dollar_credit_codes_count_as_credits(code: int) -> None:
    assert is_credit_code(code)
    assert not is_credit_code(code + 5)  # 26-29 and 36-39 are the matching debits


def test_entry_hash_keeps_the_rightmost_ten_digits() -> None:
    # 110 x 99999999 = 10_999_999_890: eleven digits, so the hash drops the leading "1".
    many = [entry(routing="999999992") for _ in range(110)]
    lines = records(write(batch(*many[:55]), batch(*many[55:])))
    batch_controls = [line for line in lines if line[0] == "8"]
    file_control = next(line for line in lines if line[0] == "9" and line != PADDING_RECORD)
    assert [c[10:20] for c in batch_controls] == ["5499999945", "5499999945"]
    assert file_control[21:31] == "0999999890"
    assert file_control[13:21] == "00000110"
    assert parse_file("\n".join(lines)).entry_hash == 999_999_890
    single = records(write(batch(*many)))
    assert single[-1] == PADDING_RECORD
    assert [c[10:20] for c in single if c[0] == "8"] == ["0999999890"]


def test_trace_numbers_run_through_the_file_from_the_first_sequence() -> None:
    text = write(batch(entry(), entry()), batch(entry()), first_trace_sequence=41)
    parsed = parse_file(text)
    assert [b.trace_numbers for b in parsed.batches] == [
        ("091000010000041", "091000010000042"),
        ("091000010000043",),
    ]
    assert [b.batch_number for b in parsed.batches] == [1, 2]
    assert records(text)[5][87:94] == "0000002"


def test_text_is_uppercased_and_amounts_stay_integers() -> None:
    e = entry(name=" jose smith ", reference="po-1")
    assert e.name == "JOSE SMITH"
    assert e.identification_number == "PO-1"
    assert records(write(batch(e)))[2][54:76] == "JOSE SMITH".ljust(22)


def test_crlf_files_parse_the_same() -> None:
    text = write(batch(entry()))
    assert parse_file(text.replace("\n", "\r\n")) == parse_file(text)


# --- round trip --------------------------------------------------------------------------

printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


def _text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(printable, min_size=min_size, max_size=max_size).filter(
        lambda s: len(s.strip()) >= min_size
    )


routings = st.text("0123456789", min_size=8, max_size=8).map(lambda d: d + aba_check_digit(d))
entries = st.builds(
    Entry,
    st.sampled_from(TransactionCode),
    routings,
    st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=17),
    st.integers(1, MAX_ENTRY_AMOUNT),
    _text(22, min_size=1),
    _text(15),
)
batches = st.builds(
    Batch,
    st.sampled_from(["PPD", "CCD"]),
    _text(10, min_size=1),
    st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    st.lists(entries, min_size=1, max_size=8).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(batches, min_size=1, max_size=4),
    st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31, 23, 59)),
    st.sampled_from("ABCXYZ0189"),
    st.integers(1, 9_000_000),
)
def test_round_trip(
    generated: list[Batch], created_at: datetime, modifier: str, first_trace: int
) -> None:
    text = write_file(
        ORIGIN,
        generated,
        created_at=created_at,
        file_id_modifier=modifier,
        first_trace_sequence=first_trace,
    )
    lines = records(text)
    assert len(lines) % 10 == 0
    assert all(len(line) == 94 for line in lines)
    parsed = parse_file(text)
    assert [b.batch for b in parsed.batches] == generated
    assert parsed.origin == ORIGIN
    assert parsed.created_at == created_at.replace(second=0, microsecond=0)
    assert parsed.file_id_modifier == modifier
    everything = [e for b in generated for e in b.entries]
    credits = sum(e.amount_cents for e in everything if e.transaction_code.is_credit)
    assert parsed.total_credit_cents == credits
    assert parsed.total_debit_cents == sum(e.amount_cents for e in everything) - credits
    assert parsed.entry_hash == sum(int(e.routing_number[:8]) for e in everything) % 10**10
    assert parsed.entry_addenda_count == len(everything)
    assert parsed.block_count == len(lines) // 10
    traces = [t for b in parsed.batches for t in b.trace_numbers]
    assert traces == [f"09100001{first_trace + i:07d}" for i in range(len(everything))]
    for b in parsed.batches:
        assert b.service_class_code == b.batch.service_class_code


# --- tampered files ----------------------------------------------------------------------


def tamper(lines: list[str], index: int, start: int, value: str) -> str:
    line = lines[index]
    changed = list(lines)
    changed[index] = line[:start] + value + line[start + len(value) :]
    return "\n".join(changed) + "\n"


@pytest.mark.parametrize(
    ("index", "start", "value", "message"),
    [
        (
            4,
            20,
            "000000000501",
            "Batch Control total_debit says 501, but the records add up to 500",
        ),
        (4, 32, "000000012344", "Batch Control total_credit says 12344"),
        (2, 29, "0000012346", "Batch Control total_credit says 12345, but .* add up to 12346"),
        (4, 4, "000003", "Batch Control entry_addenda_count says 3"),
        (4, 10, "0003741113", "Batch Control entry_hash says 3741113"),
        (5, 31, "000000000501", "File Control total_debit says 501"),
        (5, 43, "000000012346", "File Control total_credit"),
        (5, 13, "00000003", "File Control entry_addenda_count says 3"),
        (5, 21, "0003741110", "File Control entry_hash says 3741110"),
        (5, 1, "000002", "File Control batch_count says 2"),
        (5, 7, "000002", "File Control block_count says 2"),
        (4, 1, "220", "Batch Control service_class_code '220' does not match"),
        (4, 87, "0000002", "batch_number"),
        (1, 1, "300", "unknown service class code 300"),
        (2, 11, "4", "line 3: routing number 011401534 fails the ABA checksum"),
        (2, 78, "1", "line 3: addenda record indicator 1 .* but 0 addenda records follow"),
        (2, 29, "00000123A5", "line 3: Entry Detail amount .positions 30-39. must be digits"),
        (3, 79, "091000010000001", "trace number .* ascend within the batch"),
        (0, 34, "095", "line 1: File Header record_size .positions 35-37. must be '094'"),
        (0, 37, "20", "blocking_factor"),
        (3, 0, "4", "line 4: unknown record type '4'"),
        (7, 0, "8", "only '9' padding may follow the File Control"),
    ],
)
def test_tampered_files_are_rejected(index: int, start: int, value: str, message: str) -> None:
    lines = standard_file()
    assert parse_file("\n".join(lines)).total_debit_cents == 500  # the untampered file is fine
    with pytest.raises(NachaError, match=message):
        parse_file(tamper(lines, index, start, value))


@pytest.mark.parametrize("length", [93, 95])
def test_records_must_be_94_characters(length: int) -> None:
    lines = standard_file()
    lines[2] = lines[2][:93] if length == 93 else lines[2] + " "
    with pytest.raises(
        NachaError, match=f"line 3: a record is 94 characters, this one is {length}"
    ):
        parse_file("\n".join(lines))


def test_service_class_must_match_the_entries() -> None:
    lines = standard_file()
    lines[1] = lines[1][:1] + "220" + lines[1][4:]
    with pytest.raises(NachaError, match=r"line 2: service class 220 \(credits only\) has debits"):
        parse_file(tamper(lines, 4, 1, "220"))


def test_structural_damage_is_rejected() -> None:
    lines = standard_file()
    cases = {
        "must be padded with '9' records to a multiple of 10": lines[:-1],
        "no File Control record": lines[:5],
        "Entry Detail outside a batch": [lines[0], lines[2], *lines[1:]],
        "padding before the File Control": [*lines[:5], PADDING_RECORD, *lines[5:-1]],
        "File Control before the open batch's Batch Control": [*lines[:4], *lines[5:], lines[9]],
        "a second File Header": [lines[0], *lines[:-1]],
        "starts with a File Header": [*lines[1:], PADDING_RECORD],
        "the file is empty": [],
    }
    for message, damaged in cases.items():
        with pytest.raises(NachaError, match=message):
            parse_file("\n".join(damaged))


def test_a_file_without_batches_is_refused_both_ways() -> None:
    with pytest.raises(NachaError, match="at least one Batch"):
        write_file(ORIGIN, [], created_at=CREATED, file_id_modifier="A")
    empty = write_returns_file(ORIGIN, [], created_at=CREATED, file_id_modifier="A")
    assert parse_returns(empty) == []
    with pytest.raises(NachaError, match="no batches"):
        parse_file(empty)


# --- input validation --------------------------------------------------------------------


@pytest.mark.parametrize("routing", ["091000019", "021000021", "011000015", "026009593"])
def test_real_routing_numbers_pass_the_aba_checksum(routing: str) -> None:
    assert validate_routing_number(routing) == routing
    assert aba_check_digit(routing[:8]) == routing[8]


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        ("091000018", "fails the ABA checksum"),
        ("021000012", "fails the ABA checksum"),
        ("09100001", "9 digits"),
        ("0910000190", "9 digits"),
        ("09100001X", "9 digits"),
        ("٠٩١٠٠٠٠١٩", "9 digits"),  # Arabic-Indic digits are not ASCII digits
    ],
)
def test_bad_routing_numbers_are_refused(routing: str, message: str) -> None:
    with pytest.raises(NachaError, match=message):
        entry(routing=routing)
    assert issubclass(NachaError, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount": 0}, "1..9999999999 cents"),
        ({"amount": -5}, "1..9999999999 cents"),
        ({"amount": MAX_ENTRY_AMOUNT + 1}, "1..9999999999 cents"),
        ({"amount": 10.0}, "integer cents, got float"),
        ({"amount": True}, "integer cents, got bool"),
        ({"name": "X" * 23}, "receiver name is at most 22 characters"),
        ({"name": "   "}, "receiver name is required"),
        ({"name": "Zoë"}, "printable ASCII"),
        ({"name": "Straße"}, "printable ASCII"),
        ({"reference": "P" * 16}, "identification number is at most 15"),
        ({"account": "1234 5678"}, "account number is 1-17"),
        ({"account": "1" * 18}, "account number is 1-17"),
        ({"account": ""}, "account number is 1-17"),
    ],
)
def test_bad_entries_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(NachaError, match=message):
        entry(**kwargs)  # type: ignore[arg-type]


def test_errors_never_echo_the_account_number() -> None:
    with pytest.raises(NachaError) as caught:
        entry(account="12345678 901")
    assert "12345678" not in str(caught.value)
    assert "123456789" not in repr(entry())


def test_bad_transaction_code_sec_code_and_dates_are_refused() -> None:
    with pytest.raises(NachaError, match="transaction code must be one of 22, 27, 32, 37"):
        Entry(23, "011401533", "1", 1, "A")  # type: ignore[arg-type]
    with pytest.raises(NachaError, match="SEC code must be PPD or CCD"):
        Batch("WEB", "PAYOUT", EFFECTIVE, (entry(),))  # type: ignore[arg-type]
    with pytest.raises(NachaError, match="not a datetime"):
        Batch("PPD", "PAYOUT", datetime(2026, 3, 11), (entry(),))
    with pytest.raises(NachaError, match="entry description is at most 10"):
        Batch("PPD", "MARKETPLACE PAYOUT", EFFECTIVE, (entry(),))
    with pytest.raises(NachaError, match="at least one Entry"):
        Batch("PPD", "PAYOUT", EFFECTIVE, ())


@pytest.mark.parametrize("modifier", ["", "AB", "!", "É"])
def test_file_id_modifier_is_one_letter_or_digit(modifier: str) -> None:
    with pytest.raises(NachaError, match="file ID modifier"):
        write_file(ORIGIN, [batch(entry())], created_at=CREATED, file_id_modifier=modifier)


def test_lowercase_file_id_modifier_is_uppercased() -> None:
    text = write_file(ORIGIN, [batch(entry())], created_at=CREATED, file_id_modifier="b")
    assert records(text)[0][33:34] == "B"


def test_totals_beyond_twelve_digits_are_refused() -> None:
    big = [entry(amount=MAX_ENTRY_AMOUNT) for _ in range(101)]  # 1_009_999_999_899 cents
    with pytest.raises(NachaError, match=r"batch 1 credit total .* exceeds the 12-digit"):
        write(batch(*big))
    assert parse_file(write(batch(*big[:100]))).total_credit_cents == 100 * MAX_ENTRY_AMOUNT


def test_bad_origins_are_refused() -> None:
    with pytest.raises(NachaError, match="ODFI identification is 8 digits"):
        Origin("091000019", "", "021000021", "", "Acme", "1234567890", "091000019")
    with pytest.raises(NachaError, match="checksum"):
        Origin("091000018", "", "021000021", "", "Acme", "1234567890", "09100001")
    with pytest.raises(NachaError, match="immediate origin is a routing number or a 10-char"):
        Origin("091000019", "", "12345678", "", "Acme", "1234567890", "09100001")
    with pytest.raises(NachaError, match="company name is at most 16"):
        Origin("091000019", "", "021000021", "", "Acme Marketplace Inc", "1234567890", "09100001")


# --- returns -----------------------------------------------------------------------------

JANE = entry()
BOB = entry(DEBIT, "026009593", "55501234", 2_500, "Bob Stone", "PAY00000000042")
CORP = entry(DEBIT, "021000021", "700012", 99_000, "Widgets Inc", "PAY00000000043")
ANN = entry(TransactionCode.SAVINGS_CREDIT, "011000015", "31337", 7_00, "Ann Lee", "PO00000000044")
EVE = entry(TransactionCode.SAVINGS_DEBIT, "011401533", "424242", 1, "Eve", "PAY00000000045")
SAM = entry(CREDIT, "091000019", "8675309", 50_00, "Sam Roe", "PO00000000046")


def originated() -> tuple[str, dict[Entry, str]]:
    text = write(batch(JANE, BOB, ANN, EVE, SAM), batch(CORP, sec="CCD"), first_trace_sequence=100)
    parsed = parse_file(text)
    traces = {
        e: t for b in parsed.batches for e, t in zip(b.batch.entries, b.trace_numbers, strict=True)
    }
    return text, traces


def returns_file() -> tuple[str, dict[Entry, str]]:
    _, traces = originated()
    text = write_returns_file(
        ORIGIN,
        [
            (JANE, traces[JANE], "R03"),
            (BOB, traces[BOB], "R01"),
            ReturnItem(CORP, traces[CORP], "R29", sec_code="CCD"),
            ReturnItem(ANN, traces[ANN], "R02", addenda_information="account closed 03/01"),
            (EVE, traces[EVE], "R10"),
            ReturnItem(SAM, traces[SAM], "R15", date_of_death=date(2026, 2, 14)),
        ],
        created_at=datetime(2026, 3, 13, 6, 30),
        file_id_modifier="R",
        effective_date=date(2026, 3, 13),
    )
    return text, traces


def test_returns_parse_to_the_original_traces_and_entries() -> None:
    text, traces = returns_file()
    returned = {r.original_trace_number: r for r in parse_returns(text)}
    expected = {
        traces[JANE]: (JANE, "R03", "administrative"),
        traces[BOB]: (BOB, "R01", "other"),
        traces[CORP]: (CORP, "R29", "unauthorized"),
        traces[ANN]: (ANN, "R02", "administrative"),
        traces[EVE]: (EVE, "R10", "unauthorized"),
        traces[SAM]: (SAM, "R15", "other"),
    }
    assert len(set(expected)) == 6
    assert set(returned) == set(expected)
    for trace, (original, code, category) in expected.items():
        r = returned[trace]
        assert r.return_reason_code == code
        assert r.reason.category == category
        assert r.original_entry == original
        assert r.original_receiving_dfi == original.routing_number[:8]
        assert r.transaction_code == original.transaction_code - 1
        assert r.trace_number.startswith(original.routing_number[:8])
        assert r.company_id == "1234567890"
        assert r.effective_date == date(2026, 3, 13)
    assert returned[traces[CORP]].sec_code == "CCD"
    assert returned[traces[SAM]].date_of_death == date(2026, 2, 14)
    assert returned[traces[JANE]].date_of_death is None
    assert returned[traces[ANN]].addenda_information == "ACCOUNT CLOSED 03/01"
    assert returned[traces[BOB]].reason.description == "Insufficient funds"


def test_return_records_follow_the_layouts() -> None:
    text, traces = returns_file()
    lines = records(text)
    assert len(lines) % 10 == 0
    addenda = next(line for line in lines if line[0] == "7" and line[6:21] == traces[JANE])
    jane_entry = lines[lines.index(addenda) - 1]
    assert jane_entry[1:3] == "21"  # return of a checking credit
    assert jane_entry[3:12] == "091000019"  # back to the ODFI (09100001 + check digit 9)
    assert jane_entry[12:29] == "123456789".ljust(17)
    assert jane_entry[39:54] == "PO7F3A9C2B11D0E"  # the ledger reference comes back unchanged
    assert jane_entry[78:79] == "1"  # addenda follows
    assert jane_entry[79:94] == "011401530000001"  # the RDFI's own trace
    assert len(addenda) == 94
    assert addenda[0:1] == "7"
    assert addenda[1:3] == "99"  # return addenda type
    assert addenda[3:6] == "R03"
    assert addenda[6:21] == traces[JANE] == "091000010000100"
    assert addenda[21:27] == " " * 6  # date of death
    assert addenda[27:35] == "01140153"  # original receiving DFI
    assert addenda[35:79] == " " * 44  # addenda information
    assert addenda[79:94] == jane_entry[79:94]
    header = lines[lines.index(jane_entry) - 1]
    assert header[0:1] == "5"
    assert header[79:87] == "01140153"  # the returning bank originates the return batch
    death = next(line for line in lines if line[0] == "7" and line[3:6] == "R15")
    assert death[21:27] == "260214"
    controls = [line for line in lines if line[0] == "8"]
    assert sum(int(c[4:10]) for c in controls) == 12  # six entries plus six addenda
    file_control = next(line for line in lines if line[0] == "9" and line != PADDING_RECORD)
    assert file_control[13:21] == "00000012"
    assert int(file_control[21:31]) == 6 * 9_100_001


def test_return_batches_use_return_service_classes() -> None:
    text, _ = returns_file()
    headers = [line for line in records(text) if line[0] == "5"]
    by_rdfi = {h[79:87]: (h[1:4], h[50:53]) for h in headers}
    assert by_rdfi["01140153"] == ("200", "PPD")  # returned credit 21 + returned debit 36
    assert by_rdfi["02600959"] == ("225", "PPD")  # returned debit 26 only
    assert by_rdfi["02100002"] == ("225", "CCD")
    assert by_rdfi["01100001"] == ("220", "PPD")  # returned savings credit 31 only


def test_returns_and_originals_are_not_mixed_up() -> None:
    original, _ = originated()
    returned, _ = returns_file()
    with pytest.raises(NachaError, match="not a return"):
        parse_returns(original)
    with pytest.raises(NachaError, match="addenda records belong in returns files"):
        parse_file(returned)


def test_a_tampered_returns_file_is_rejected() -> None:
    lines = records(returns_file()[0])
    addenda = next(i for i, line in enumerate(lines) if line[0] == "7")
    with pytest.raises(NachaError, match="notifications of change"):
        parse_returns(tamper(lines, addenda, 1, "98"))
    with pytest.raises(NachaError, match="is not its entry's"):
        parse_returns(tamper(lines, addenda, 93, "9"))
    with pytest.raises(NachaError, match="Batch Control entry_hash"):
        parse_returns(tamper(lines, addenda - 1, 3, "09100002"))


def test_bad_returns_are_refused() -> None:
    _, traces = originated()
    cases: list[tuple[ReturnItem | tuple[Entry, str, str], str]] = [
        ((JANE, traces[JANE], "R99"), "unknown return reason code 'R99'"),
        ((JANE, "021000020000001", "R01"), "not originated by ODFI 09100001"),
        ((JANE, "0910000100001", "R01"), "15 digits"),
        (ReturnItem(JANE, traces[JANE], "R01", date(2026, 1, 1)), "only goes with R14/R15"),
    ]
    for item, message in cases:
        with pytest.raises(NachaError, match=message):
            write_returns_file(ORIGIN, [item], created_at=CREATED, file_id_modifier="A")


def test_return_reason_table() -> None:
    assert return_reason("R04").description == "Invalid account number structure"
    assert {c for c, r in RETURN_REASONS.items() if r.category == "administrative"} == {
        "R02",
        "R03",
        "R04",
    }
    assert {c for c, r in RETURN_REASONS.items() if r.category == "unauthorized"} == {
        "R05",
        "R07",
        "R10",
        "R11",
        "R29",
    }
    assert return_reason("R84").description == "Unlisted return reason code"
    with pytest.raises(NachaError, match="looks like R01"):
        return_reason("X01")


@settings(max_examples=50, deadline=None)
@given(st.lists(entries, min_size=1, max_size=10), st.data())
def test_returns_round_trip(originals: list[Entry], data: st.DataObject) -> None:
    parsed = parse_file(write(Batch("PPD", "PAYOUT", EFFECTIVE, tuple(originals))))
    traces = parsed.batches[0].trace_numbers
    codes = data.draw(
        st.lists(
            st.sampled_from(sorted(RETURN_REASONS)),
            min_size=len(originals),
            max_size=len(originals),
        )
    )
    items = [
        ReturnItem(e, t, c, date(2026, 1, 1) if c in ("R14", "R15") else None)
        for e, t, c in zip(originals, traces, codes, strict=True)
    ]
    text = write_returns_file(ORIGIN, items, created_at=CREATED, file_id_modifier="A")
    got = {
        r.original_trace_number: (r.return_reason_code, r.original_entry)
        for r in parse_returns(text)
    }
    assert got == {t: (c, e) for t, c, e in zip(traces, codes, originals, strict=True)}
