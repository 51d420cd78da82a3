# One role per function, each with only what that function does.
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
  read_models   = [aws_dynamodb_table.read_models.arn, "${aws_dynamodb_table.read_models.arn}/index/*"]
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
    sid       = "LedgerKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
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

  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.stream_dlq.arn]
  }
}

# What running ledger commands takes: reading and recording events (every save is one
# TransactWriteItems of conditional puts) and the provider credentials.
data "aws_iam_policy_document" "event_store" {
  statement {
    sid = "EventStore"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:PutItem",
      "dynamodb:ConditionCheckItem",
    ]
    resources = local.events_tables
  }

  statement {
    sid       = "ProviderCredentials"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
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
}

data "aws_iam_policy_document" "projections" {
  source_policy_documents = [
    data.aws_iam_policy_document.common["projections"].json,
    data.aws_iam_policy_document.stream_reader.json,
  ]

  statement {
    sid = "ReadModels"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:ConditionCheckItem",
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
# the provider credentials, no read models), drains its own queue (the event source mapping
# receives and deletes; the worker delays retries) and may put follow-up work on any workflow
# queue.
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

  statement {
    sid       = "SendToWorkflowQueues"
    actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
    resources = values(local.workflow_queue_arns)
  }
}
