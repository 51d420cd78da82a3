"""Application layer: commands, queries, idempotency and retries over the event store."""
