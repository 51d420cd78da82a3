# Log groups (created before the functions, so retention and encryption apply from the first
# invocation), alarms to one SNS topic that reaches a person (alarm_subscriptions), and the
# ledger's dashboard (dashboard.tf). Every alarm notifies on ALARM and on OK.
resource "aws_cloudwatch_log_group" "lambda" {
  for_each = local.function_names

  name              = "/aws/lambda/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.ledger.arn
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${var.name_prefix}-http"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.ledger.arn
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.ledger.arn

  lifecycle {
    precondition {
      condition     = !var.require_alarm_subscription || length(var.alarm_subscriptions) > 0
      error_message = "alarm_subscriptions is empty: every alarm would reach no one. Subscribe an on-call e-mail address or HTTPS endpoint (envs/prod.tfvars), or set require_alarm_subscription = false for a throwaway environment."
    }
  }
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

# Who the alarms reach: each e-mail address confirms its subscription from the message SNS
# sends; an HTTPS endpoint (a pager's webhook) confirms by visiting the SubscribeURL.
resource "aws_sns_topic_subscription" "alarms" {
  for_each = { for subscription in var.alarm_subscriptions : "${subscription.protocol}:${subscription.endpoint}" => subscription }

  topic_arn              = aws_sns_topic.alarms.arn
  protocol               = each.value.protocol
  endpoint               = each.value.endpoint
  endpoint_auto_confirms = each.value.protocol == "https" ? each.value.endpoint_auto_confirms : null
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = local.function_names

  alarm_name          = "${each.value}-errors"
  alarm_description   = "The ${each.key} function raised errors (for stream consumers and workers: whole-batch failures, which are retried and may end in a DLQ)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
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

# One per stream event source mapping (streams.tf): its consumer is falling behind.
resource "aws_cloudwatch_metric_alarm" "stream_iterator_age" {
  for_each = aws_lambda_event_source_mapping.stream

  alarm_name          = "${local.function_names[each.key]}-iterator-age"
  alarm_description   = "The ${each.key} consumer (event source mapping ${each.value.uuid}) is falling behind the events stream: records expire after 24 hours."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = local.function_names[each.key] }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.stream_iterator_age_alarm_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  # Every workflow queue's DLQ, the stream consumers' one and the bus's.
  for_each = merge(
    { for queue, dlq in aws_sqs_queue.workflow_dlq : "${queue}-dlq" => dlq.name },
    { stream-dlq = aws_sqs_queue.stream_dlq.name, bus-dlq = aws_sqs_queue.bus_dlq.name },
  )

  alarm_name          = "${each.value}-depth"
  alarm_description   = "Messages are waiting in ${each.value}: something failed for good and needs a look and a redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${var.name_prefix}-api-5xx"
  alarm_description   = "The HTTP API returned server errors."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = { ApiId = aws_apigatewayv2_api.http.id, Stage = aws_apigatewayv2_stage.default.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.api_5xx_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_p99_latency" {
  alarm_name          = "${var.name_prefix}-api-p99-latency"
  alarm_description   = "The HTTP API's p99 latency is above ${var.api_p99_latency_alarm_ms} ms."
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  dimensions          = { ApiId = aws_apigatewayv2_api.http.id, Stage = aws_apigatewayv2_stage.default.name }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.api_p99_latency_alarm_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
