"""Event-driven workflows: rules route domain events to queues; idempotent handlers drain them.

The same rules (workflow_rules.json) drive EventBridge and SQS on AWS and the in-process bus and
queue of the embedded runtime.
"""
