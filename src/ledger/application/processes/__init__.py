"""Use cases the system starts (schedules, queues, provider files and webhooks): the billing
run, the payout sweep, executing refunds and payouts, provider events, ACH files and returns."""
