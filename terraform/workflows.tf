# The workflows on AWS, all from the workflow map (workflow_rules.json, shared with the embedded
# runtime): per queue an SQS queue and its DLQ (sqs.tf) drained by a worker function (lambda.tf)
# through the event source mapping below; per rule an EventBridge rule delivering to its queue
# (eventbridge.tf); per schedule an EventBridge Scheduler schedule putting a message on its queue.
locals {
  workflow           = jsondecode(file("${path.module}/workflow_rules.json"))
  workflow_queues    = local.workflow.queues
  workflow_rules     = local.workflow.rules
  workflow_schedules = try(local.workflow.schedules, {})

  workflow_queue_names = { for queue, _ in local.workflow_queues : queue => "${var.name_prefix}-${queue}" }
  workflow_queue_arns  = { for queue, name in local.workflow_queue_names : queue => "arn:${local.partition}:sqs:${var.region}:${local.account_id}:${name}" }
  workflow_dlq_arns    = { for queue, arn in local.workflow_queue_arns : queue => "${arn}-dlq" }

  # Queues some schedule puts messages on (the scheduler's role may send to these only).
  scheduled_queues = distinct([for schedule in values(local.workflow_schedules) : schedule.queue])
  scheduler_count  = length(local.scheduled_queues) > 0 ? 1 : 0
}

# Each worker polls its own queue. Partial batch responses: only the records the worker reports
# failed come back (after the delay it set on each); the queue's redrive policy moves a message
# to the DLQ after max_receive_count deliveries. Small batches keep one slow provider call from
# holding many messages; maximum_concurrency caps the load the workers put on the providers
# (reserved concurrency would throttle the poller instead and burn receive counts).
resource "aws_lambda_event_source_mapping" "workflow" {
  for_each = local.workflow_queues

  event_source_arn                   = aws_sqs_queue.workflow[each.key].arn
  function_name                      = aws_lambda_alias.live["worker-${each.key}"].arn
  batch_size                         = var.worker_batch_size
  maximum_batching_window_in_seconds = 0
  function_response_types            = ["ReportBatchItemFailures"]
  enabled                            = var.worker_event_source_mappings_enabled

  scaling_config {
    maximum_concurrency = var.worker_maximum_concurrency
  }

  depends_on = [aws_iam_role_policy.lambda]
}

# ----- Schedules -------------------------------------------------------------------------------
# The message is exactly what schedule_message() builds in the embedded runtime. Scheduler fills
# in <aws.scheduler.scheduled-time> by plain text substitution, so the angle brackets jsonencode
# escapes (\u003c, \u003e) are put back.
# The ledger's schedules in a group of their own: Scheduler's metrics (monitoring.tf) are per
# group, so the alarm on target errors sees exactly these.
resource "aws_scheduler_schedule_group" "workflows" {
  count = local.scheduler_count

  name = "${var.name_prefix}-workflows"
}

resource "aws_scheduler_schedule" "workflow" {
  for_each = local.workflow_schedules

  name                         = "${var.name_prefix}-${each.key}"
  description                  = each.value.description
  group_name                   = aws_scheduler_schedule_group.workflows[0].name
  schedule_expression          = each.value.schedule_expression
  schedule_expression_timezone = "UTC"
  kms_key_arn                  = aws_kms_key.ledger.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sqs_queue.workflow[each.value.queue].arn
    role_arn = aws_iam_role.scheduler[0].arn
    input = replace(replace(jsonencode({
      "detail-type" = each.value.detail_type
      source        = "payments-ledger.scheduler"
      detail = {
        schedule       = each.key
        scheduled_time = "<aws.scheduler.scheduled-time>"
      }
    }), "\\u003c", "<"), "\\u003e", ">")

    retry_policy {
      maximum_event_age_in_seconds = 86400
      maximum_retry_attempts       = 185
    }

    # What Scheduler could not deliver lands in the queue's DLQ, next to what failed in it.
    dead_letter_config {
      arn = aws_sqs_queue.workflow_dlq[each.value.queue].arn
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = local.scheduler_count

  name               = "${var.name_prefix}-scheduler"
  description        = "EventBridge Scheduler: puts the workflow schedules' messages on their queues"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

# Same-account delivery under this role: its own permissions suffice, no queue policy is needed.
data "aws_iam_policy_document" "scheduler" {
  statement {
    sid     = "SendToScheduledQueues"
    actions = ["sqs:SendMessage"]
    resources = concat(
      [for queue in local.scheduled_queues : local.workflow_queue_arns[queue]],
      [for queue in local.scheduled_queues : local.workflow_dlq_arns[queue]],
    )
  }

  statement {
    sid = "LedgerKey"
    # The queues are encrypted with the ledger key, and so is each schedule's target input.
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.ledger.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = local.scheduler_count

  name   = "${var.name_prefix}-scheduler"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}
