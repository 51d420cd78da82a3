# The ledger's own bus: the publisher puts every domain event here. The archive keeps them for
# replay (for example into a new worker, or after a fix to a failed one).
resource "aws_cloudwatch_event_bus" "ledger" {
  name = "${var.name_prefix}-events"
}

resource "aws_cloudwatch_event_archive" "ledger" {
  name             = "${var.name_prefix}-events"
  description      = "All domain events of the ledger bus, for replay"
  event_source_arn = aws_cloudwatch_event_bus.ledger.arn
  retention_days   = var.event_archive_retention_days
}

# Routing rules live in one data file (workflow_rules.json, read in workflows.tf), shared with
# the in-process bus: each rule delivers the events it matches to the queue it names.
resource "aws_cloudwatch_event_rule" "workflow" {
  for_each = local.workflow_rules

  name           = "${var.name_prefix}-${each.key}"
  description    = each.value.description
  event_bus_name = aws_cloudwatch_event_bus.ledger.name
  event_pattern  = jsonencode(each.value.event_pattern)
}

resource "aws_cloudwatch_event_target" "workflow" {
  for_each = local.workflow_rules

  rule           = aws_cloudwatch_event_rule.workflow[each.key].name
  event_bus_name = aws_cloudwatch_event_bus.ledger.name
  target_id      = "workflow-queue"
  arn            = aws_sqs_queue.workflow[each.value.queue].arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  # Events EventBridge could not deliver land in that queue's DLQ.
  dead_letter_config {
    arn = aws_sqs_queue.workflow_dlq[each.value.queue].arn
  }
}
