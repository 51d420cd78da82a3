"""A workflow queue and its dead-letter queue, made as terraform/sqs.tf makes them, for SQS
emulators where Terraform does not run (moto in process)."""

from __future__ import annotations

import json
from typing import Any


def create_workflow_queue(sqs: Any, name: str, *, max_receive_count: int) -> str:
    """`name` and `name-dlq`; the queue's redrive policy moves a message to the DLQ after
    max_receive_count deliveries. Returns the queue's URL."""
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
    return str(
        sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": json.dumps(policy)})[
            "QueueUrl"
        ]
    )
