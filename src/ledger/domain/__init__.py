"""Pure domain: money, journal entries, aggregates. No infrastructure imports."""
