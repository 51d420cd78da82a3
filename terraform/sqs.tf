# Per workflow queue of workflow_rules.json: the queue (EventBridge rules and schedules -> the
# queue's idempotent worker) and its DLQ, with the visibility timeout and maxReceiveCount the
# map gives it; the DLQ that the stream event source mappings send failed batches to; and the
# DLQ of the event bus. All encrypted with the ledger key.
# Queue policies are inline: the provider waits for every SQS attribute change to settle
# (about 25 s each), so one resource per queue keeps apply and destroy short.
resource "aws_sqs_queue" "workflow_dlq" {
  for_each = local.workflow_queues

  name                              = "${local.workflow_queue_names[each.key]}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.ledger.arn
  kms_data_key_reuse_period_seconds = 3600
  policy                            = lookup(local.workflow_queue_policies, "${each.key}-dlq", null)

  # Only its own queue may move messages here (moto cannot store this attribute).
  redrive_allow_policy = var.restrict_dlq_redrive_sources ? jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.workflow_queue_arns[each.key]]
  }) : null
}

resource "aws_sqs_queue" "workflow" {
  for_each = local.workflow_queues

  name                              = local.workflow_queue_names[each.key]
  visibility_timeout_seconds        = each.value.visibility_timeout_seconds
  message_retention_seconds         = 345600
  kms_master_key_id                 = aws_kms_key.ledger.arn
  kms_data_key_reuse_period_seconds = 3600
  policy                            = lookup(local.workflow_queue_policies, each.key, null)

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.workflow_dlq[each.key].arn
    maxReceiveCount     = each.value.max_receive_count
  })
}

resource "aws_sqs_queue" "stream_dlq" {
  name                              = "${var.name_prefix}-stream-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.ledger.arn
  kms_data_key_reuse_period_seconds = 3600
}

# Events the bus could not encrypt or decrypt with the ledger key (eventbridge.tf).
resource "aws_sqs_queue" "bus_dlq" {
  name                              = "${var.name_prefix}-bus-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.ledger.arn
  kms_data_key_reuse_period_seconds = 3600
  policy                            = data.aws_iam_policy_document.bus_dlq.json
}

data "aws_iam_policy_document" "bus_dlq" {
  statement {
    sid       = "LedgerBusDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = ["arn:${local.partition}:sqs:${var.region}:${local.account_id}:${var.name_prefix}-bus-dlq"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.event_bus_arn]
    }
  }
}

locals {
  # Per queue, the rules that deliver to it (and, what they could not deliver, to its DLQ).
  workflow_queue_rules = {
    for queue, _ in local.workflow_queues :
    queue => [for name, rule in local.workflow_rules : name if rule.queue == queue]
  }
  # SQS name (less the prefix) of every queue or DLQ some rule delivers to => its workflow queue.
  ruled_workflow_queues = merge(
    { for queue, rules in local.workflow_queue_rules : queue => queue if length(rules) > 0 },
    { for queue, rules in local.workflow_queue_rules : "${queue}-dlq" => queue if length(rules) > 0 },
  )
  workflow_queue_policies = { for key, policy in data.aws_iam_policy_document.workflow_queues : key => policy.json }
}

# EventBridge may deliver to a workflow queue (and to its DLQ) only on behalf of the ledger's
# rules that target that queue. Queues only schedules feed have no policy: Scheduler delivers
# under its own role (workflows.tf).
data "aws_iam_policy_document" "workflow_queues" {
  for_each = local.ruled_workflow_queues

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
      values   = [for rule in local.workflow_queue_rules[each.value] : aws_cloudwatch_event_rule.workflow[rule].arn]
    }
  }
}
