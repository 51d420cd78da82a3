"""The ledger's DynamoDB tables, for emulators where Terraform does not run (DynamoDB Local).
A test checks these match what Terraform creates."""

from __future__ import annotations

from typing import Any

import boto3

from ledger.adapters.dynamodb_store import EVENTS_ATTRIBUTES, EVENTS_KEY_SCHEMA
from ledger.settings import Settings

READ_MODELS_KEY_SCHEMA = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]
READ_MODELS_ATTRIBUTES = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
    {"AttributeName": "gsi1pk", "AttributeType": "S"},
    {"AttributeName": "gsi1sk", "AttributeType": "S"},
    {"AttributeName": "gsi2pk", "AttributeType": "S"},
    {"AttributeName": "gsi2sk", "AttributeType": "S"},
]
READ_MODELS_GSI = [
    {
        "IndexName": "gsi1",
        "KeySchema": [
            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    },
    {
        "IndexName": "gsi2",
        "KeySchema": [
            {"AttributeName": "gsi2pk", "KeyType": "HASH"},
            {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["shared"]},
    },
]


def create_read_models_table(endpoint: str, name: str) -> None:
    """The read-model table alone (pk, sk, the gsi1 and gsi2 indexes), as Terraform defines it."""
    boto3.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=name,
        KeySchema=READ_MODELS_KEY_SCHEMA,
        AttributeDefinitions=READ_MODELS_ATTRIBUTES,
        GlobalSecondaryIndexes=READ_MODELS_GSI,
        BillingMode="PAY_PER_REQUEST",
    )


def create_ledger_tables(endpoint: str, prefix: str) -> dict[str, Any]:
    """Creates events (with a NEW_IMAGE stream), snapshots and read-model tables."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    names = {
        "events": f"{prefix}-events",
        "snapshots": f"{prefix}-snapshots",
        "read_models": f"{prefix}-read-models",
    }
    client.create_table(
        TableName=names["events"],
        KeySchema=EVENTS_KEY_SCHEMA,
        AttributeDefinitions=EVENTS_ATTRIBUTES,
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    client.create_table(
        TableName=names["snapshots"],
        KeySchema=EVENTS_KEY_SCHEMA,
        AttributeDefinitions=EVENTS_ATTRIBUTES,
        BillingMode="PAY_PER_REQUEST",
    )
    create_read_models_table(endpoint, names["read_models"])
    names["stream_arn"] = client.describe_table(TableName=names["events"])["Table"][
        "LatestStreamArn"
    ]
    return names


def ledger_settings(tables: dict[str, Any]) -> Settings:
    """Settings for a ledger on the tables create_ledger_tables made."""
    return Settings(
        persistence="dynamodb",
        events_table=tables["events"],
        snapshots_table=tables["snapshots"],
        read_models_table=tables["read_models"],
    )


def read_stream(endpoint: str, stream_arn: str) -> list[dict[str, Any]]:
    """Every record currently in the stream, oldest first, shard by shard."""
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint)
    records: list[dict[str, Any]] = []
    description = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
    for shard in description["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += page["Records"]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records
