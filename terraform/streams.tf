# Two consumers of the events table's stream. TRIM_HORIZON: a ledger consumer starts from the
# oldest record kept, never skips history. Each reports partial batch failures; a failing batch
# is bisected to isolate a poison record, retried a bounded number of times and for a bounded
# age, then its metadata goes to the stream DLQ (shard and sequence numbers, for replay).
resource "aws_lambda_event_source_mapping" "stream" {
  for_each = toset(["projections", "publisher"])

  event_source_arn  = aws_dynamodb_table.events.stream_arn
  function_name     = aws_lambda_alias.live[each.key].arn
  starting_position = "TRIM_HORIZON"

  batch_size                         = var.stream_batch_size
  maximum_batching_window_in_seconds = var.stream_batching_window_seconds
  parallelization_factor             = var.stream_parallelization_factor

  function_response_types        = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error = true
  maximum_retry_attempts         = var.stream_maximum_retry_attempts
  maximum_record_age_in_seconds  = var.stream_maximum_record_age_seconds

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.stream_dlq.arn
    }
  }

  depends_on = [aws_iam_role_policy.lambda]
}
