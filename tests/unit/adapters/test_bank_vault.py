"""Bank account numbers are sealed with AES-GCM and never shown in full."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.adapters.ach.vault import (
    TOKEN_PREFIX,
    AccountType,
    BankAccount,
    BankAccountVault,
    VaultError,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
ROUTING = "011401533"
ACCOUNT = "000123456789"


@pytest.fixture
def vault() -> BankAccountVault:
    return BankAccountVault(KEY)


def payload(token: str) -> bytearray:
    body = token.removeprefix(TOKEN_PREFIX)
    return bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def token_of(data: bytes | bytearray) -> str:
    return TOKEN_PREFIX + base64.urlsafe_b64encode(bytes(data)).decode().rstrip("=")


@pytest.mark.parametrize("account_type", ["checking", "savings"])
def test_round_trip(vault: BankAccountVault, account_type: AccountType) -> None:
    token = vault.seal(ROUTING, ACCOUNT, account_type)
    assert vault.open(token) == BankAccount(ROUTING, ACCOUNT, account_type)
    assert BankAccountVault(KEY).open(token).account_number == ACCOUNT  # a new instance, same key


@settings(max_examples=50, deadline=None)
@given(
    st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=17),
    st.sampled_from(["checking", "savings"]),
    st.text(max_size=40),
)
def test_round_trip_any_account(account: str, account_type: AccountType, context: str) -> None:
    vault = BankAccountVault(KEY)
    opened = vault.open(
        vault.seal(ROUTING, account, account_type, context=context), context=context
    )
    assert (opened.routing_number, opened.account_number, opened.account_type) == (
        ROUTING,
        account,
        account_type,
    )


def test_tokens_are_opaque_versioned_and_fresh(vault: BankAccountVault) -> None:
    first = vault.seal(ROUTING, ACCOUNT, "checking")
    second = vault.seal(ROUTING, ACCOUNT, "checking")
    assert first.startswith("bav1.")
    assert first != second  # a random nonce each time
    for token in (first, second):
        assert ACCOUNT not in token
        assert set(token.removeprefix("bav1.")) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
        assert ACCOUNT.encode() not in payload(token)
    assert vault.open(first) == vault.open(second)


@pytest.mark.parametrize("index", [0, 5, 20, -1])
def test_tampered_tokens_are_refused(vault: BankAccountVault, index: int) -> None:
    data = payload(vault.seal(ROUTING, ACCOUNT, "checking"))
    data[index] ^= 0x01
    message = "different key" if 0 <= index < 4 else "failed authentication"
    with pytest.raises(VaultError, match=message):
        vault.open(token_of(data))


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "not a bank account token"),
        ("bav2.AAAA", "not a bank account token"),
        ("bav1.***", "not valid base64url"),
        ("bav1.AAAA", "truncated"),
    ],
)
def test_malformed_tokens_are_refused(vault: BankAccountVault, token: str, message: str) -> None:
    with pytest.raises(VaultError, match=message):
        vault.open(token)


def test_truncated_ciphertext_is_refused(vault: BankAccountVault) -> None:
    data = payload(vault.seal(ROUTING, ACCOUNT, "checking"))
    with pytest.raises(VaultError, match="failed authentication"):
        vault.open(token_of(data[:-1]))


def test_wrong_key_is_refused(vault: BankAccountVault) -> None:
    token = vault.seal(ROUTING, ACCOUNT, "checking")
    with pytest.raises(VaultError, match="sealed with a different key"):
        BankAccountVault(OTHER_KEY).open(token)


def test_the_context_is_bound(vault: BankAccountVault) -> None:
    token = vault.seal(ROUTING, ACCOUNT, "checking", context="mfr_1")
    assert vault.open(token, context="mfr_1").account_number == ACCOUNT
    for context in ("mfr_2", ""):
        with pytest.raises(VaultError, match="sealed for another context"):
            vault.open(token, context=context)


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(31), bytes(33)])
def test_keys_must_be_32_bytes(key: bytes) -> None:
    with pytest.raises(VaultError, match=f"must be 32 bytes \\(AES-256\\), got {len(key)}"):
        BankAccountVault(key)


def test_keys_come_from_base64(vault: BankAccountVault) -> None:
    token = vault.seal(ROUTING, ACCOUNT, "savings")
    standard = base64.b64encode(KEY).decode()
    urlsafe = base64.urlsafe_b64encode(KEY).decode().rstrip("=")
    for text in (standard, urlsafe, f" {standard}\n"):
        assert BankAccountVault.from_base64_key(text).open(token).account_type == "savings"
    generated = BankAccountVault.generate_key()
    assert len(base64.urlsafe_b64decode(generated)) == 32
    assert BankAccountVault.generate_key() != generated
    BankAccountVault.from_base64_key(generated).open(
        BankAccountVault.from_base64_key(generated).seal(ROUTING, ACCOUNT, "checking")
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [("not base64!", "not valid base64"), (base64.b64encode(bytes(16)).decode(), "got 16")],
)
def test_bad_base64_keys_are_refused(text: str, message: str) -> None:
    with pytest.raises(VaultError, match=message):
        BankAccountVault.from_base64_key(text)


@pytest.mark.parametrize(
    ("account", "masked"),
    [
        ("000123456789", "****6789"),
        ("12345678901234567", "****4567"),
        ("12345", "****45"),
        ("0072", "****72"),
        ("7", "****"),
    ],
)
def test_the_account_number_is_never_shown_in_full(account: str, masked: str) -> None:
    acct = BankAccount(ROUTING, account, "checking")
    assert acct.masked == masked
    for shown in (repr(acct), str(acct), f"{acct}", f"{acct!r}", repr([acct])):
        assert account not in shown
        assert masked in shown
        assert ROUTING in shown
    assert "checking" in repr(acct)


def test_the_vault_does_not_show_its_key(vault: BankAccountVault) -> None:
    assert KEY.hex() not in repr(vault)
    assert repr(KEY) not in repr(vault)
    assert not any(value == KEY for value in vars(vault).values())


def test_fingerprints_find_duplicates_without_revealing_the_number(
    vault: BankAccountVault,
) -> None:
    fingerprint = vault.fingerprint(ROUTING, ACCOUNT)
    assert fingerprint.startswith("fp1_")
    assert ACCOUNT not in fingerprint
    assert vault.fingerprint(ROUTING, ACCOUNT) == fingerprint
    assert vault.fingerprint(ROUTING, ACCOUNT.lower() + " ") == fingerprint  # normalized
    assert vault.fingerprint(ROUTING, "000123456788") != fingerprint
    assert vault.fingerprint("021000021", ACCOUNT) != fingerprint
    assert BankAccountVault(OTHER_KEY).fingerprint(ROUTING, ACCOUNT) != fingerprint
    sealed = [vault.seal(ROUTING, ACCOUNT, "checking") for _ in range(2)]
    assert len(set(sealed)) == 2  # tokens differ; the fingerprint is what dedupes
    assert {
        vault.fingerprint(a.routing_number, a.account_number) for a in map(vault.open, sealed)
    } == {fingerprint}


@pytest.mark.parametrize(
    ("routing", "account", "account_type", "message"),
    [
        ("011401534", ACCOUNT, "checking", "ABA checksum"),
        ("01140153", ACCOUNT, "checking", "9 digits"),
        (ROUTING, "12 34", "checking", "account number is 1-17"),
        (ROUTING, "", "checking", "account number is 1-17"),
        (ROUTING, ACCOUNT, "brokerage", "checking or savings"),
    ],
)
def test_bad_accounts_are_refused(
    vault: BankAccountVault, routing: str, account: str, account_type: str, message: str
) -> None:
    with pytest.raises(VaultError, match=message) as caught:
        vault.seal(routing, account, account_type)  # type: ignore[arg-type]
    if account:
        assert account not in str(caught.value)
