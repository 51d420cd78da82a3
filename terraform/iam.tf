# One role per function, each with only what that function does. Proven by evaluation, not by
# trust: tests/integration/test_iam_least_privilege.py runs every function's handler with the
# environment applied here, records every AWS call it makes (and what AWS does with the role on
# its behalf: KMS, logs, tracing, event source mappings), and evaluates each against these
# policies as applied; a call not granted, and an action or resource no call needs, fail it.
data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "lambda" {
  for_each = local.functions

  name               = "${var.name_prefix}-${each.key}"
  description        = "Execution role of the ${each.key} function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.functions

  name = "${var.name_prefix}-${each.key}"
  role = aws_iam_role.lambda[each.key].id
  policy = merge(
    {
      api         = data.aws_iam_policy_document.api.json
      projections = data.aws_iam_policy_document.projections.json
      publisher   = data.aws_iam_policy_document.publisher.json
    },
    { for queue, _ in local.workflow_queues : "worker-${queue}" => data.aws_iam_policy_document.worker[queue].json },
  )[each.key]
}

locals {
  # Every function: its own log group, X-Ray segments (Powertools Tracer), and the ledger key.
  log_group_arns = { for key, name in local.function_names : key => "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${name}" }

  # TransactWriteItems has no IAM action of its own: each item of a transaction is authorised
  # as its underlying PutItem / UpdateItem / ConditionCheckItem on its table.
  events_tables = [aws_dynamodb_table.events.arn, aws_dynamodb_table.snapshots.arn]
  # The lists query the read models' GSIs (the api; the projections never read them).
  read_models         = [aws_dynamodb_table.read_models.arn]
  read_models_indexes = ["${aws_dynamodb_table.read_models.arn}/index/*"]
}

data "aws_iam_policy_document" "common" {
  for_each = local.functions

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arns[each.key]}:*"]
  }

  statement {
    sid = "Tracing"
    # X-Ray accepts no resource-level permissions for these two actions.
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid = "LedgerKey"
    # Decrypt only: the environment variables, the tables' and stream's table key, the provider
    # secret and received SQS messages all decrypt; whoever also encrypts (sends to an
    # encrypted queue) gets GenerateDataKey with that statement.
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.ledger.arn]
  }
}

data "aws_iam_policy_document" "stream_reader" {
  statement {
    sid       = "ReadEventsStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [aws_dynamodb_table.events.stream_arn]
  }

  statement {
    sid       = "ListEventsStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["${aws_dynamodb_table.events.arn}/stream/*"]
  }

  # The mapping sends a failed batch's description there, under the function's role.
  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.stream_dlq.arn]
  }

  statement {
    sid       = "OnFailureDestinationKey"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.ledger.arn]
  }
}

# What running ledger commands takes: reading aggregates (queries of the events and snapshots
# tables) and recording events (every save is one TransactWriteItems of conditional puts;
# snapshots are plain puts), and the provider credentials (read once per cold start).
data "aws_iam_policy_document" "event_store" {
  statement {
    sid       = "EventStore"
    actions   = ["dynamodb:Query", "dynamodb:PutItem"]
    resources = local.events_tables
  }

  statement {
    sid       = "ProviderCredentials"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.provider_credentials.arn]
  }
}

data "aws_iam_policy_document" "api" {
  source_policy_documents = [
    data.aws_iam_policy_document.common["api"].json,
    data.aws_iam_policy_document.event_store.json,
  ]

  statement {
    sid = "ReadModels"
    # Scan serves the trial balance only: a finance query over every balance shard.
    actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"]
    resources = local.read_models
  }

  # The admin routes /v1/operations/queues (the console's Operations page; SqsQueue): each
  # queue's URL by name, its DLQ's dead letters looked over without consuming them (receive,
  # then made visible again) and redriven by hand: sent anew to the queue, then deleted from
  # the DLQ. Nothing else of the queues: the workers drain them, the bus and schedules fill them.
  statement {
    sid       = "FindWorkflowQueues"
    actions   = ["sqs:GetQueueUrl"]
    resources = concat(values(local.workflow_queue_arns), values(local.workflow_dlq_arns))
  }

  statement {
    sid       = "ReadAndRemoveDeadLetters"
    actions   = ["sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage"]
    resources = values(local.workflow_dlq_arns)
  }

  statement {
    sid       = "RedriveToWorkflowQueues"
    actions   = ["sqs:SendMessage"]
    resources = values(local.workflow_queue_arns)
  }

  # Sending to the queues (encrypted with the ledger key) encrypts; receiving decrypts
  # (the common LedgerKey statement).
  statement {
    sid       = "RedriveEncrypts"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.ledger.arn]
  }

  statement {
    sid       = "ReadModelLists"
    actions   = ["dynamodb:Query"]
    resources = local.read_models_indexes
  }
}

data "aws_iam_policy_document" "projections" {
  source_policy_documents = [
    data.aws_iam_policy_document.common["projections"].json,
    data.aws_iam_policy_document.stream_reader.json,
  ]

  statement {
    sid = "ReadModels"
    # A batch reads its aggregates' home rows (BatchGetItem), then writes conditional
    # UpdateItems (rows, counters, the heartbeat) and PutItems (history chunks, day registry);
    # GetItem re-reads a row's version or a counter's watermark when a retried batch overlaps.
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = local.read_models
  }

  # No access to the events table: rebuilds run from `ledger projections rebuild` under an
  # operator's role (a Scan of the events table), never from this function.
}

data "aws_iam_policy_document" "publisher" {
  source_policy_documents = [
    data.aws_iam_policy_document.common["publisher"].json,
    data.aws_iam_policy_document.stream_reader.json,
  ]

  statement {
    sid       = "PublishDomainEvents"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.ledger.arn]
  }
}

# A worker executes its queue's workflow through the application service (the event store and
# the provider credentials, no read models) and drains its own queue: the event source mapping
# receives and deletes under the worker's role, the worker looks its queue's URL up and delays a
# retry (ChangeMessageVisibility). No worker sends messages: follow-up work reaches the queues
# through the bus.
data "aws_iam_policy_document" "worker" {
  for_each = local.workflow_queues

  source_policy_documents = [
    data.aws_iam_policy_document.common["worker-${each.key}"].json,
    data.aws_iam_policy_document.event_store.json,
  ]

  statement {
    sid = "DrainOwnQueue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
    ]
    resources = [local.workflow_queue_arns[each.key]]
  }
}
