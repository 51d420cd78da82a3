# Two consumers of the events table's stream. TRIM_HORIZON: a ledger consumer starts from the
# oldest record kept, never skips history. Each reports partial batch failures; a failing batch
# is bisected to isolate a poison record, retried a bounded number of times and for a bounded
# age, then its metadata goes to the stream DLQ (shard and sequence numbers, for replay).
#
# The projections consumer: a tumbling window so every batch names its shard (the read models
# keep one counter item per shard, each with one writer: hence one batch at a time a shard), and
# a filter so only INSERTs of the aggregates the read models follow invoke it (idempotency
# records and payable mirrors never do).
#
# The publisher's filter: only INSERTs of the events some workflow rule matches (the detail-types
# of workflow_rules.json), so records no rule would route never invoke it; the publisher skips
# the same set itself (EventBridgePublisher.routed). The bus and its archive then hold those
# events only; publish_every_event puts every published event on the bus again (for a
# subscriber outside the workflow map, or to archive all of them for replay into a new rule).
locals {
  stream_consumers = {
    projections = {
      parallelization_factor = var.projections_parallelization_factor
      tumbling_window        = var.projections_tumbling_window_seconds
      filters                = [local.projected_events_filter]
    }
    publisher = {
      parallelization_factor = var.stream_parallelization_factor
      tumbling_window        = null
      filters                = var.publish_every_event || !local.rules_pin_detail_types ? [] : [local.published_events_filter]
    }
  }
  # A rule without a detail-type list could match any event: then every event is published.
  rules_pin_detail_types = alltrue([for rule in values(local.workflow_rules) : can(tolist(rule.event_pattern["detail-type"]))])
  routed_detail_types    = local.rules_pin_detail_types ? sort(distinct(flatten([for rule in values(local.workflow_rules) : rule.event_pattern["detail-type"]]))) : []
  # The module of each published aggregate (event_json.PUBLISHED_AGGREGATES): a topic is
  # "<module>:<detail-type>". A rule naming another aggregate fails the plan here.
  published_aggregate_modules = {
    Payment      = "ledger.domain.payment"
    Payout       = "ledger.domain.payout"
    Manufacturer = "ledger.domain.manufacturer"
    Subscription = "ledger.domain.subscription"
  }
  published_events_filter = jsonencode({
    eventName = ["INSERT"]
    dynamodb = {
      NewImage = {
        topic = {
          S = [for type in local.routed_detail_types : "${local.published_aggregate_modules[split(".", type)[0]]}:${type}"]
        }
      }
    }
  })
  # Topics are "<module>:<Aggregate>.<Event>" (projections.logic.PROJECTED_AGGREGATES).
  projected_events_filter = jsonencode({
    eventName = ["INSERT"]
    dynamodb = {
      NewImage = {
        topic = {
          S = [
            for prefix in [
              "ledger.domain.payment:Payment.",
              "ledger.domain.payout:Payout.",
              "ledger.domain.manufacturer:Manufacturer.",
              "ledger.domain.api_key:ApiKey.",
              "ledger.domain.subscription:Subscription.",
              "ledger.domain.books:Books.",
              "ledger.domain.ach_file:AchFile.",
              "ledger.domain.settlement:ProviderSettlement.",
            ] : { prefix = prefix }
          ]
        }
      }
    }
  })
}

resource "aws_lambda_event_source_mapping" "stream" {
  for_each = local.stream_consumers

  event_source_arn  = aws_dynamodb_table.events.stream_arn
  function_name     = aws_lambda_alias.live[each.key].arn
  starting_position = "TRIM_HORIZON"

  batch_size                         = var.stream_batch_size
  maximum_batching_window_in_seconds = var.stream_batching_window_seconds
  parallelization_factor             = each.value.parallelization_factor
  tumbling_window_in_seconds         = each.value.tumbling_window

  dynamic "filter_criteria" {
    for_each = length(each.value.filters) > 0 ? [each.value.filters] : []
    content {
      dynamic "filter" {
        for_each = filter_criteria.value
        content {
          pattern = filter.value
        }
      }
    }
  }

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
