"""Read models built from domain events: balances, refunds, payments, manufacturer reports."""
