output "api_url" {
  description = "Base URL of the HTTP API ($default stage)."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "api_id" {
  description = "Id of the HTTP API."
  value       = aws_apigatewayv2_api.http.id
}

output "events_table_name" {
  description = "DynamoDB table of the event store (LEDGER_EVENTS_TABLE)."
  value       = aws_dynamodb_table.events.name
}

output "snapshots_table_name" {
  description = "DynamoDB table of aggregate snapshots (LEDGER_SNAPSHOTS_TABLE)."
  value       = aws_dynamodb_table.snapshots.name
}

output "read_models_table_name" {
  description = "DynamoDB table of the read models (LEDGER_READ_MODELS_TABLE)."
  value       = aws_dynamodb_table.read_models.name
}

output "events_stream_arn" {
  description = "ARN of the events table's stream (NEW_IMAGE), consumed by projections and publisher."
  value       = aws_dynamodb_table.events.stream_arn
}

output "event_bus_name" {
  description = "EventBridge bus the publisher puts domain events on (LEDGER_EVENT_BUS_NAME)."
  value       = aws_cloudwatch_event_bus.ledger.name
}

output "event_archive_name" {
  description = "EventBridge archive of the ledger bus, for replay."
  value       = local.event_archive_name
}

output "workflow_queue_urls" {
  description = "URLs of the workflow queues, by queue name of workflow_rules.json (named <name_prefix>-<queue>, LEDGER_QUEUE_NAME_PREFIX)."
  value       = { for queue, q in aws_sqs_queue.workflow : queue => q.url }
}

output "workflow_dlq_urls" {
  description = "URLs of the workflow queues' dead-letter queues, by queue name."
  value       = { for queue, q in aws_sqs_queue.workflow_dlq : queue => q.url }
}

output "worker_function_names" {
  description = "Names of the workflow worker functions, by the queue each drains."
  value       = { for queue, _ in local.workflow_queues : queue => aws_lambda_function.this["worker-${queue}"].function_name }
}

output "workflow_event_source_mapping_ids" {
  description = "UUIDs of the workers' SQS event source mappings, by queue."
  value       = { for queue, mapping in aws_lambda_event_source_mapping.workflow : queue => mapping.uuid }
}

output "workflow_schedule_arns" {
  description = "EventBridge Scheduler schedules of workflow_rules.json, by schedule name."
  value       = { for name, schedule in aws_scheduler_schedule.workflow : name => schedule.arn }
}

output "workflow_schedule_group" {
  description = "EventBridge Scheduler group of the workflow schedules (null without schedules)."
  value       = local.scheduler_count == 1 ? aws_scheduler_schedule_group.workflows[0].name : null
}

output "stream_dlq_url" {
  description = "URL of the on-failure destination of both stream event source mappings."
  value       = aws_sqs_queue.stream_dlq.url
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "provider_secret_arn" {
  description = "Secrets Manager secret of the provider credentials (value set out of band)."
  value       = aws_secretsmanager_secret.provider_credentials.arn
}

output "kms_key_arn" {
  description = "Customer-managed KMS key encrypting the ledger's data at rest."
  value       = aws_kms_key.ledger.arn
}

output "api_function_name" {
  description = "Name of the api Lambda function."
  value       = aws_lambda_function.this["api"].function_name
}

output "projections_function_name" {
  description = "Name of the projections Lambda function."
  value       = aws_lambda_function.this["projections"].function_name
}

output "publisher_function_name" {
  description = "Name of the publisher Lambda function."
  value       = aws_lambda_function.this["publisher"].function_name
}

output "stream_event_source_mapping_ids" {
  description = "UUIDs of the stream event source mappings, by consumer."
  value       = { for key, mapping in aws_lambda_event_source_mapping.stream : key => mapping.uuid }
}

output "backup_vault_arns" {
  description = "Primary and copy backup vaults (empty when enable_backup is false)."
  value = var.enable_backup ? {
    primary = aws_backup_vault.primary[0].arn
    copy    = aws_backup_vault.copy[0].arn
  } : {}
}

output "backup_plan_id" {
  description = "AWS Backup plan of the tables (null when enable_backup is false)."
  value       = var.enable_backup ? aws_backup_plan.ledger[0].id : null
}

output "bus_dlq_url" {
  description = "URL of the event bus's dead-letter queue (events that could not be encrypted or decrypted)."
  value       = aws_sqs_queue.bus_dlq.url
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the ledger's golden signals."
  value       = aws_cloudwatch_dashboard.ledger.dashboard_name
}

output "lambda_alias_name" {
  description = "Alias every caller invokes (the current published version of each function)."
  value       = var.lambda_alias_name
}

output "event_archive_stack" {
  description = "CloudFormation stack of the encrypted bus archive (null where event_archive_via_cloudformation is off)."
  value       = var.event_archive_via_cloudformation ? aws_cloudformation_stack.event_archive[0].name : null
}
