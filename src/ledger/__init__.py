"""Event-sourced payments ledger."""
