# The ledger's own bus: the publisher puts the domain events the workflow rules match here (every
# published event with publish_every_event; streams.tf), encrypted with the ledger's
# key (kms.tf lets EventBridge use it for this bus only). Events EventBridge cannot encrypt or
# decrypt (a disabled key, a broken key policy) go to the bus's DLQ instead of being lost.
resource "aws_cloudwatch_event_bus" "ledger" {
  name               = local.event_bus_name
  kms_key_identifier = aws_kms_key.ledger.arn

  dead_letter_config {
    arn = aws_sqs_queue.bus_dlq.arn
  }
}

locals {
  event_bus_name = "${var.name_prefix}-events"
  # Known before the bus exists: the key policy names it.
  event_bus_arn = "arn:${local.partition}:events:${var.region}:${local.account_id}:event-bus/${local.event_bus_name}"
}

# The archive keeps every event put on the bus for replay (after a fix to a failed worker: all it
# was sent is there; for a new rule only with publish_every_event: else the history of events
# no rule matched is in the event store only),
# encrypted with the ledger's key too. The AWS provider (5.100) cannot set an archive's key, so
# the archive is a one-resource CloudFormation stack (AWS::Events::Archive has KmsKeyIdentifier);
# where CloudFormation cannot make it (LocalStack's community core), envs/localstack.tfvars
# turns event_archive_via_cloudformation off and the plain resource, with EventBridge's own
# key, stands in. Replace the stack by aws_cloudwatch_event_archive.kms_key_identifier once the
# provider is 6.x.
resource "aws_cloudformation_stack" "event_archive" {
  #checkov:skip=CKV_AWS_124:A one-resource stack managed by Terraform: its changes are Terraform plans, reviewed as such; stack event notifications would only repeat them on the alarm topic.
  count = var.event_archive_via_cloudformation ? 1 : 0

  name = "${var.name_prefix}-event-archive"
  template_body = jsonencode({
    Description = "Archive of the ${local.event_bus_name} bus, encrypted with the ledger key (managed by Terraform)"
    Resources = {
      Archive = {
        Type = "AWS::Events::Archive"
        Properties = {
          ArchiveName      = local.event_bus_name
          Description      = "All domain events of the ledger bus, for replay"
          SourceArn        = aws_cloudwatch_event_bus.ledger.arn
          KmsKeyIdentifier = aws_kms_key.ledger.arn
          RetentionDays    = var.event_archive_retention_days
        }
      }
    }
    Outputs = {
      ArchiveArn = { Value = { "Fn::GetAtt" = ["Archive", "Arn"] } }
    }
  })
}

resource "aws_cloudwatch_event_archive" "ledger" {
  count = var.event_archive_via_cloudformation ? 0 : 1

  name             = local.event_bus_name
  description      = "All domain events of the ledger bus, for replay"
  event_source_arn = aws_cloudwatch_event_bus.ledger.arn
  retention_days   = var.event_archive_retention_days
}

locals {
  # Either way the archive is named after its bus.
  event_archive_name = var.event_archive_via_cloudformation ? local.event_bus_name : aws_cloudwatch_event_archive.ledger[0].name
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
