"""The chart of accounts: readable names a finance person can use.

Sign convention for postings: debit positive, credit negative.
"""

PLATFORM_FEES = "platform:revenue:fees"
PLATFORM_CASH = "platform:cash"
# What providers keep from what they collect (Stripe and PayPal fees), when they report it.
PLATFORM_PROVIDER_FEES = "platform:expense:provider_fees"
# Chargebacks lost beyond what could still be taken back from the manufacturers (a dispute on a
# payment already refunded): the platform's loss, never a manufacturer's.
PLATFORM_DISPUTE_LOSSES = "platform:expense:dispute_losses"


def manufacturer_payable(manufacturer_id: str) -> str:
    return f"manufacturer:{manufacturer_id}:payable"


def provider_receivable(provider: str) -> str:
    return f"provider:{provider}:receivable"


def provider_refunds_pending(provider: str) -> str:
    return f"provider:{provider}:refunds_pending"


def provider_disputed(provider: str) -> str:
    return f"provider:{provider}:disputed"


def provider_unsettled(provider: str) -> str:
    """Clearing: bank debits sent in a file and not yet settled (they can still be returned),
    owed to no manufacturer until they settle."""
    return f"provider:{provider}:unsettled"


def is_manufacturer_payable(account: str) -> bool:
    return account.startswith("manufacturer:") and account.endswith(":payable")


def manufacturer_of(account: str) -> str:
    return account.split(":", 2)[1]


def normal_balance(account: str) -> str:
    """'debit' for assets and expenses, 'credit' for liabilities and revenue: the side on
    which a healthy balance sits. Clearing accounts take the side their money waits on."""
    if account.startswith("manufacturer:") or account.startswith("platform:revenue:"):
        return "credit"
    if account.startswith("provider:") and account.endswith((":refunds_pending", ":unsettled")):
        return "credit"
    return "debit"


def balance_normal(account: str, debits: int, credits: int) -> int:
    """The balance on the account's normal side: a payable owed 7312 reads 7312."""
    balance = debits - credits
    return -balance if normal_balance(account) == "credit" else balance
