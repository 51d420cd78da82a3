"""Event shapes AWS sends to Lambda, built from JSON fixtures, and a Lambda context."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass
class LambdaContext:
    function_name: str = "ledger-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ledger-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def http_api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) request."""
    event: dict[str, Any] = copy.deepcopy(
        json.loads((FIXTURES / "apigw_v2_request.json").read_text())
    )
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = urlencode(query or {})
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    if body is not None:
        event["body"] = json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    return event


def _as_lambda_json(value: Any) -> Any:
    """boto3 parses what Lambda passes as JSON: times back to epoch seconds, bytes to base64."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _as_lambda_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_lambda_json(v) for v in value]
    return value


def stream_batch(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """Records read from a DynamoDB stream with boto3, as Lambda delivers them to a function."""
    return {
        "Records": [{**_as_lambda_json(record), "eventSourceARN": stream_arn} for record in records]
    }


STREAM_SHARD = "shardId-00000001-local"
# What the projections function answers for a batch with nothing failed (its mapping has a
# tumbling window, whose invocations answer with a state).
PROJECTED = {"batchItemFailures": [], "state": {}}


def projection_batch(
    records: list[dict[str, Any]], stream_arn: str, shard_id: str = STREAM_SHARD
) -> dict[str, Any]:
    """Stream records as Lambda delivers them when the mapping has a tumbling window: the batch
    names its shard (the projections mapping has one; the read models count per shard)."""
    return {
        **stream_batch(records, stream_arn),
        "window": {"start": "2026-01-05T10:00:00Z", "end": "2026-01-05T10:01:00Z"},
        "state": {},
        "shardId": shard_id,
        "eventSourceARN": stream_arn,
        "isFinalInvokeForWindow": False,
        "isWindowTerminatedEarly": False,
    }


def _lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """ReceiveMessage's MessageAttributes as Lambda spells them (camelCase keys)."""
    converted = {}
    for name, value in attributes.items():
        item: dict[str, Any] = {"dataType": value["DataType"]}
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            item["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        converted[name] = item
    return converted


def sqs_batch(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Messages received from an SQS queue with boto3 (AttributeNames=["All"]), as the Lambda
    service hands them to a function mapped onto that queue."""
    region = queue_arn.split(":")[3]
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": _lambda_message_attributes(
                    message.get("MessageAttributes", {})
                ),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def http_api_raw_event(
    method: str,
    path: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) request whose body is these exact bytes (a
    signed webhook: its signature covers them). API Gateway passes a UTF-8 text body as is, not
    base64-encoded."""
    event = http_api_event(method, path, headers=headers)
    event["body"] = body.decode()
    event["isBase64Encoded"] = False
    event["headers"]["content-type"] = content_type
    return event
