# Alarms on what stops money moving without raising an error of the ledger's own: throttled
# functions and tables, DynamoDB's own failures, messages waiting too long, events EventBridge
# and Scheduler could not deliver. All notify the alarm topic (monitoring.tf) on ALARM and OK.
locals {
  tables = {
    events      = aws_dynamodb_table.events.name
    snapshots   = aws_dynamodb_table.snapshots.name
    read_models = aws_dynamodb_table.read_models.name
  }

  # Operations whose SystemErrors count (DynamoDB reports them per operation): the ones the
  # ledger calls.
  dynamodb_operations = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "TransactWriteItems"]

  # Every queue, with the age its oldest message may reach before someone should look: work
  # queues are drained within seconds, retries included (their backoff is capped in
  # workflow_rules.json); a DLQ keeps dead letters 14 days, so one waiting a week is about to
  # be lost.
  queue_age_thresholds = merge(
    { for queue, q in aws_sqs_queue.workflow : q.name => var.queue_oldest_message_alarm_seconds },
    { for queue, q in aws_sqs_queue.workflow_dlq : q.name => var.dlq_oldest_message_alarm_seconds },
    {
      (aws_sqs_queue.stream_dlq.name) = var.dlq_oldest_message_alarm_seconds
      (aws_sqs_queue.bus_dlq.name)    = var.dlq_oldest_message_alarm_seconds
    },
  )
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  for_each = local.function_names

  alarm_name          = "${each.value}-throttles"
  alarm_description   = "Invocations of the ${each.key} function were throttled (reserved or account concurrency exhausted): API requests fail with 429/5xx, stream and queue work waits and burns retries."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  depends_on = [aws_lambda_function.this]
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  for_each = local.tables

  alarm_name          = "${each.value}-throttles"
  alarm_description   = "Reads or writes of the ${each.value} table were throttled."
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "throttled"
    expression  = "SUM(FILL(METRICS(), 0))"
    label       = "Throttled requests"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = ["ReadThrottleEvents", "WriteThrottleEvents"]
    content {
      id = lower(metric_query.value)
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = metric_query.value
        dimensions  = { TableName = each.value }
        stat        = "Sum"
        period      = 300
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_system_errors" {
  for_each = local.tables

  alarm_name          = "${each.value}-system-errors"
  alarm_description   = "DynamoDB answered requests to the ${each.value} table with its own errors (HTTP 500): the SDK retries them, but a run of them means an AWS-side problem."
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "errors"
    expression  = "SUM(FILL(METRICS(), 0))"
    label       = "System errors"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.dynamodb_operations
    content {
      id = lower(metric_query.value)
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = "SystemErrors"
        dimensions  = { TableName = each.value, Operation = metric_query.value }
        stat        = "Sum"
        period      = 300
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "queue_oldest_message" {
  for_each = local.queue_age_thresholds

  alarm_name          = "${each.key}-oldest-message"
  alarm_description   = "A message has waited in ${each.key} for more than ${each.value} s."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = each.key }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "rule_failed_invocations" {
  for_each = aws_cloudwatch_event_rule.workflow

  alarm_name          = "${each.value.name}-failed-invocations"
  alarm_description   = "EventBridge could not deliver events matched by ${each.value.name} to its queue (after its retries they go to the queue's DLQ)."
  namespace           = "AWS/Events"
  metric_name         = "FailedInvocations"
  dimensions          = { EventBusName = aws_cloudwatch_event_bus.ledger.name, RuleName = each.value.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "scheduler_target_errors" {
  for_each = toset(aws_scheduler_schedule_group.workflows[*].name)

  alarm_name          = "${each.value}-target-errors"
  alarm_description   = "EventBridge Scheduler failed to put a workflow schedule's message on its queue (billing runs, payout sweeps); after its retries the message goes to the queue's DLQ."
  namespace           = "AWS/Scheduler"
  metric_name         = "TargetErrorCount"
  dimensions          = { ScheduleGroup = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Provider money the ledger could not book (issue 11): every item raised in the "needs
# attention" queue logs one line with this marker (ledger.application.processes.provider_events),
# from whichever function applied the provider event. Any such line alarms: someone resolves the
# item (GET /v1/attention, POST /v1/attention/{id}/resolve). CloudWatch Logs counts the lines
# itself, so no function needs a permission for it.
resource "aws_cloudwatch_log_metric_filter" "provider_events_needing_attention" {
  for_each = local.function_names

  name           = "${each.value}-provider-events-needing-attention"
  log_group_name = aws_cloudwatch_log_group.lambda[each.key].name
  pattern        = "\"provider-event-needs-attention\""

  metric_transformation {
    name      = "ProviderEventsNeedingAttention"
    namespace = var.metrics_namespace
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "provider_events_needing_attention" {
  alarm_name          = "${var.name_prefix}-provider-events-needing-attention"
  alarm_description   = "A provider reported money the ledger could not book: it waits in GET /v1/attention (or `ledger attention list`) for an operator to resolve it."
  namespace           = var.metrics_namespace
  metric_name         = "ProviderEventsNeedingAttention"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  depends_on = [aws_cloudwatch_log_metric_filter.provider_events_needing_attention]
}
