# API keys and idempotency records are aggregates stored in the events table, written in the
# same transaction as the events they guard — so there is no separate idempotency table.

# The event store: one item per event, never updated or deleted. Order is per aggregate
# (partition key); the stream feeds the projections and the EventBridge publisher.
resource "aws_dynamodb_table" "events" {
  name                        = "${var.name_prefix}-events"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "aggregate_id"
  range_key                   = "version"
  stream_enabled              = true
  stream_view_type            = "NEW_IMAGE"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "aggregate_id"
    type = "S"
  }

  attribute {
    name = "version"
    type = "N"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.ledger.arn
  }
}

# Snapshots of long-lived aggregates (the library's snapshotting); same keys, no stream.
resource "aws_dynamodb_table" "snapshots" {
  name                        = "${var.name_prefix}-snapshots"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "aggregate_id"
  range_key                   = "version"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "aggregate_id"
    type = "S"
  }

  attribute {
    name = "version"
    type = "N"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.ledger.arn
  }
}

# Read models, single-table (pk/sk; layout in src/projections/stores/dynamodb_items.py): rows
# carrying the last applied aggregate version, per-shard counters and history chunks, and two
# sparse GSIs for the lists, their keys written once, when a row is created: gsi1 by day (16
# keys a day), gsi2 by owner (a manufacturer's payments and payouts, a payment's refunds; 4 keys
# an owner). Keys only (plus `shared` on gsi2): a list reads the rows it pages through.
resource "aws_dynamodb_table" "read_models" {
  name                        = "${var.name_prefix}-read-models"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "gsi1pk"
    type = "S"
  }

  attribute {
    name = "gsi1sk"
    type = "S"
  }

  attribute {
    name = "gsi2pk"
    type = "S"
  }

  attribute {
    name = "gsi2sk"
    type = "S"
  }

  global_secondary_index {
    name            = "gsi1"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "KEYS_ONLY"
  }

  global_secondary_index {
    name               = "gsi2"
    hash_key           = "gsi2pk"
    range_key          = "gsi2sk"
    projection_type    = "INCLUDE"
    non_key_attributes = ["shared"]
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.ledger.arn
  }
}
