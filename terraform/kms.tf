# One customer-managed key for the ledger's data at rest: tables (and their streams), queues,
# the alarm topic, log groups, Lambda environment variables, the provider secret, the event bus
# and its archive.
resource "aws_kms_key" "ledger" {
  description             = "${var.name_prefix}: payments ledger data at rest"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms_ledger.json
}

resource "aws_kms_alias" "ledger" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.ledger.key_id
}

data "aws_iam_policy_document" "kms_ledger" {
  # In a key policy "Resource = *" means "this key". The account statement delegates use of the
  # key to IAM policies, which grant it per function (see iam.tf).
  #checkov:skip=CKV_AWS_109:Key policy: resource "*" is this key only; the account root statement is what lets IAM policies grant use.
  #checkov:skip=CKV_AWS_111:Key policy: resource "*" is this key only; the account root statement is what lets IAM policies grant use.
  #checkov:skip=CKV_AWS_356:Key policy: resource "*" is this key only, the only resource a key policy can name.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncryptsTheLedgerLogGroups"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"]
    }
  }

  # The ledger bus and its archive (eventbridge.tf): EventBridge encrypts and decrypts events
  # (pattern matching, delivery, replay) under this bus's encryption context only.
  statement {
    sid       = "EventBridgeDescribesTheKey"
    actions   = ["kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "EventBridgeEncryptsTheLedgerBusAndArchive"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt", "kms:ReEncrypt*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:events:event-bus:arn"
      values   = [local.event_bus_arn]
    }
  }

  statement {
    sid       = "AlarmsAndRulesWriteToEncryptedTopicAndQueues"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}
