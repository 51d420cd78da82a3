# The ledger's golden signals on one CloudWatch dashboard: traffic, errors, latency and
# saturation of the API, the functions, the stream consumers, the queues and the tables, and
# the money moving (the Powertools metrics the functions emit).
locals {
  dashboard_region = var.region
  api_dimensions   = ["ApiId", aws_apigatewayv2_api.http.id, "Stage", aws_apigatewayv2_stage.default.name]

  lambda_metric = { for metric, stat in {
    Invocations          = "Sum"
    Errors               = "Sum"
    Throttles            = "Sum"
    Duration             = "p99"
    ConcurrentExecutions = "Maximum"
  } : metric => [for key, name in local.function_names : ["AWS/Lambda", metric, "FunctionName", name, { stat = stat, label = key }]] }

  dashboard_widgets = [
    {
      type = "text", x = 0, y = 0, width = 24, height = 2
      properties = {
        markdown = "# ${var.name_prefix}: payments ledger\nAPI, functions, streams, queues, tables and money. Alarms notify `${aws_sns_topic.alarms.name}`; runbooks in docs/aws.md."
      }
    },
    {
      type = "metric", x = 0, y = 2, width = 8, height = 6
      properties = {
        title = "API requests and errors", region = local.dashboard_region, view = "timeSeries", stat = "Sum", period = 60
        metrics = [
          concat(["AWS/ApiGateway", "Count"], local.api_dimensions, [{ label = "requests" }]),
          concat(["AWS/ApiGateway", "4xx"], local.api_dimensions, [{ label = "4xx" }]),
          concat(["AWS/ApiGateway", "5xx"], local.api_dimensions, [{ label = "5xx" }]),
        ]
      }
    },
    {
      type = "metric", x = 8, y = 2, width = 8, height = 6
      properties = {
        title = "API latency (ms)", region = local.dashboard_region, view = "timeSeries", period = 60
        metrics = [
          concat(["AWS/ApiGateway", "Latency"], local.api_dimensions, [{ stat = "p50", label = "p50" }]),
          concat(["AWS/ApiGateway", "Latency"], local.api_dimensions, [{ stat = "p99", label = "p99" }]),
          concat(["AWS/ApiGateway", "IntegrationLatency"], local.api_dimensions, [{ stat = "p99", label = "integration p99" }]),
        ]
        annotations = { horizontal = [{ label = "p99 alarm", value = var.api_p99_latency_alarm_ms }] }
      }
    },
    {
      type = "metric", x = 16, y = 2, width = 8, height = 6
      properties = {
        title = "Money moving", region = local.dashboard_region, view = "timeSeries", stat = "Sum", period = 300
        metrics = [
          [var.metrics_namespace, "PaymentsCaptured", "service", "ledger-projections"],
          [var.metrics_namespace, "RefundsRequested", "service", "ledger-projections"],
          [var.metrics_namespace, "RefundsFailed", "service", "ledger-projections"],
          [var.metrics_namespace, "DisputesOpened", "service", "ledger-projections"],
          [var.metrics_namespace, "PayoutsPaid", "service", "ledger-projections"],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 8, width = 8, height = 6
      properties = {
        title   = "Function invocations", region = local.dashboard_region, view = "timeSeries", period = 60
        metrics = local.lambda_metric["Invocations"]
      }
    },
    {
      type = "metric", x = 8, y = 8, width = 8, height = 6
      properties = {
        title   = "Function errors and throttles", region = local.dashboard_region, view = "timeSeries", period = 60
        metrics = concat(local.lambda_metric["Errors"], local.lambda_metric["Throttles"])
      }
    },
    {
      type = "metric", x = 16, y = 8, width = 8, height = 6
      properties = {
        title   = "Function duration p99 (ms) and concurrency", region = local.dashboard_region, view = "timeSeries", period = 60
        metrics = concat(local.lambda_metric["Duration"], local.lambda_metric["ConcurrentExecutions"])
      }
    },
    {
      type = "metric", x = 0, y = 14, width = 8, height = 6
      properties = {
        title       = "Stream consumers behind (IteratorAge, ms)", region = local.dashboard_region, view = "timeSeries", stat = "Maximum", period = 60
        metrics     = [for key in keys(aws_lambda_event_source_mapping.stream) : ["AWS/Lambda", "IteratorAge", "FunctionName", local.function_names[key], { label = key }]]
        annotations = { horizontal = [{ label = "alarm", value = var.stream_iterator_age_alarm_ms }] }
      }
    },
    {
      type = "metric", x = 8, y = 14, width = 8, height = 6
      properties = {
        title = "Workflow queues: waiting and oldest (s)", region = local.dashboard_region, view = "timeSeries", stat = "Maximum", period = 60
        metrics = concat(
          [for queue, q in aws_sqs_queue.workflow : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name, { label = "${queue} waiting" }]],
          [for queue, q in aws_sqs_queue.workflow : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.name, { label = "${queue} oldest", yAxis = "right" }]],
        )
      }
    },
    {
      type = "metric", x = 16, y = 14, width = 8, height = 6
      properties = {
        title   = "Dead letters", region = local.dashboard_region, view = "timeSeries", stat = "Maximum", period = 300
        metrics = [for name, _ in local.queue_age_thresholds : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name] if endswith(name, "-dlq")]
      }
    },
    {
      type = "metric", x = 0, y = 20, width = 8, height = 6
      properties = {
        title = "DynamoDB consumed capacity", region = local.dashboard_region, view = "timeSeries", stat = "Sum", period = 60
        metrics = concat(
          [for role, name in local.tables : ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", name, { label = "${role} WCU" }]],
          [for role, name in local.tables : ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", name, { label = "${role} RCU" }]],
        )
      }
    },
    {
      type = "metric", x = 8, y = 20, width = 8, height = 6
      properties = {
        title = "DynamoDB throttles and conflicts", region = local.dashboard_region, view = "timeSeries", stat = "Sum", period = 60
        metrics = concat(
          [for role, name in local.tables : ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", name, { label = "${role} write throttles" }]],
          [for role, name in local.tables : ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", name, { label = "${role} read throttles" }]],
          [for role, name in local.tables : ["AWS/DynamoDB", "TransactionConflict", "TableName", name, { label = "${role} transaction conflicts" }]],
        )
      }
    },
    {
      type = "metric", x = 16, y = 20, width = 8, height = 6
      properties = {
        title = "Events delivered and workflows", region = local.dashboard_region, view = "timeSeries", stat = "Sum", period = 300
        metrics = concat(
          [for name, rule in aws_cloudwatch_event_rule.workflow : ["AWS/Events", "Invocations", "EventBusName", aws_cloudwatch_event_bus.ledger.name, "RuleName", rule.name, { label = "${name} delivered" }]],
          [for name, rule in aws_cloudwatch_event_rule.workflow : ["AWS/Events", "FailedInvocations", "EventBusName", aws_cloudwatch_event_bus.ledger.name, "RuleName", rule.name, { label = "${name} failed" }]],
          [for group in aws_scheduler_schedule_group.workflows[*].name : ["AWS/Scheduler", "TargetErrorCount", "ScheduleGroup", group, { label = "schedule target errors" }]],
          [for queue, _ in local.workflow_queues : [var.metrics_namespace, "WorkflowFailures", "Queue", queue, "service", "ledger-worker-${queue}", { label = "${queue} failures" }]],
        )
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "ledger" {
  dashboard_name = "${var.name_prefix}-ledger"
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
