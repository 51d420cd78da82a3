# Workflow queue (EventBridge rules -> idempotent workers) with its DLQ, and the DLQ that the
# stream event source mappings send failed batches to. All encrypted with the ledger key.
# Queue policies are inline: the provider waits for every SQS attribute change to settle
# (about 25 s each), so one resource per queue keeps apply and destroy short.
locals {
  workflow_queue_name = "${var.name_prefix}-workflow"
}

resource "aws_sqs_queue" "workflow_dlq" {
  name                              = "${var.name_prefix}-workflow-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.ledger.arn
  kms_data_key_reuse_period_seconds = 3600
  policy                            = data.aws_iam_policy_document.workflow_queues["workflow-dlq"].json

  # Only the workflow queue may move its messages here (moto cannot store this attribute).
  redrive_allow_policy = var.restrict_dlq_redrive_sources ? jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = ["arn:${local.partition}:sqs:${var.region}:${local.account_id}:${local.workflow_queue_name}"]
  }) : null
}

resource "aws_sqs_queue" "workflow" {
  name                              = local.workflow_queue_name
  visibility_timeout_seconds        = var.workflow_queue_visibility_timeout_seconds
  message_retention_seconds         = 345600
  kms_master_key_id                 = aws_kms_key.ledger.arn
  kms_data_key_reuse_period_seconds = 3600
  policy                            = data.aws_iam_policy_document.workflow_queues["workflow"].json

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.workflow_dlq.arn
    maxReceiveCount     = var.workflow_max_receive_count
  })
}

resource "aws_sqs_queue" "stream_dlq" {
  name                              = "${var.name_prefix}-stream-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.ledger.arn
  kms_data_key_reuse_period_seconds = 3600
}

# EventBridge may deliver to the workflow queue (and, for what it could not deliver, to its DLQ)
# only on behalf of the ledger's rules.
data "aws_iam_policy_document" "workflow_queues" {
  for_each = toset(["workflow", "workflow-dlq"])

  statement {
    sid       = "LedgerRulesDeliver"
    actions   = ["sqs:SendMessage"]
    resources = ["arn:${local.partition}:sqs:${var.region}:${local.account_id}:${var.name_prefix}-${each.key}"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.workflow : rule.arn]
    }
  }
}
