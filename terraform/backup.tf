# Daily AWS Backup of the three tables into a vault in this region, copied to a vault in
# backup_copy_region (multi-region backup; PITR covers the last 35 days within the region).
# Cross-region copies of DynamoDB backups need AWS Backup's advanced DynamoDB features, an
# account-and-region-wide setting: manage_backup_region_settings (on by default) turns it on
# from here; turn it off where another stack owns the region's settings. moto implements
# neither the region settings nor selections: envs/local.tfvars turns both off.
# Both vaults and the plan are still applied on the emulators.
locals {
  backup_count = var.enable_backup ? 1 : 0
  # The selection, and the service role only it uses (moto lacks the AWS-managed policies too).
  backup_selection_count = var.enable_backup && var.enable_backup_selection ? 1 : 0
}

resource "aws_kms_key" "backup_copy" {
  count    = local.backup_count
  provider = aws.backup_copy

  description             = "${var.name_prefix}: backup copies of the payments ledger"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms_backup_copy.json
}

data "aws_iam_policy_document" "kms_backup_copy" {
  #checkov:skip=CKV_AWS_109:Key policy: resource "*" is this key only; the account root statement is what lets IAM (and AWS Backup's grants) use it.
  #checkov:skip=CKV_AWS_111:Key policy: resource "*" is this key only; the account root statement is what lets IAM (and AWS Backup's grants) use it.
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
}

resource "aws_backup_vault" "primary" {
  count = local.backup_count

  name        = "${var.name_prefix}-ledger"
  kms_key_arn = aws_kms_key.ledger.arn
}

resource "aws_backup_vault" "copy" {
  count    = local.backup_count
  provider = aws.backup_copy

  name        = "${var.name_prefix}-ledger-copy"
  kms_key_arn = aws_kms_key.backup_copy[0].arn
}

# Account-and-region-wide: the opt-in map is the whole region's (AWS Backup answers with every
# resource type, so a partial map would show a change on every plan); backup_region_opt_in
# overrides single types where the account wants them off. DynamoDB's advanced features
# (resource_type_management_preference) are what cross-region copies of its backups need.
resource "aws_backup_region_settings" "ledger" {
  count = var.enable_backup && var.manage_backup_region_settings ? 1 : 0

  resource_type_opt_in_preference = merge(local.backup_region_opt_in_defaults, var.backup_region_opt_in, { "DynamoDB" = true })

  resource_type_management_preference = {
    "DynamoDB" = true
    "EFS"      = true
  }
}

locals {
  # AWS Backup's resource types (provider 5.100's documentation) and their default opt-in.
  backup_region_opt_in_defaults = {
    "Aurora"                 = true
    "CloudFormation"         = true
    "DocumentDB"             = true
    "DynamoDB"               = true
    "EBS"                    = true
    "EC2"                    = true
    "EFS"                    = true
    "FSx"                    = true
    "Neptune"                = true
    "RDS"                    = true
    "Redshift"               = true
    "S3"                     = true
    "SAP HANA on Amazon EC2" = true
    "Storage Gateway"        = true
    "Timestream"             = true
    "VirtualMachine"         = true
  }

  backup_lock_count = var.enable_backup && var.backup_vault_lock != null ? 1 : 0
}

# Vault lock (optional): recovery points cannot be deleted before min_retention_days, nor kept
# past max_retention_days, by anyone, the account root included. Without changeable_for_days
# it is in governance mode (principals allowed backup:DeleteBackupVaultLockConfiguration can
# lift it); with it, the lock becomes compliance mode, immutable, once that many days passed.
resource "aws_backup_vault_lock_configuration" "primary" {
  count = local.backup_lock_count

  backup_vault_name   = aws_backup_vault.primary[0].name
  min_retention_days  = var.backup_vault_lock.min_retention_days
  max_retention_days  = var.backup_vault_lock.max_retention_days
  changeable_for_days = var.backup_vault_lock.changeable_for_days

  lifecycle {
    precondition {
      condition     = var.backup_vault_lock.min_retention_days <= min(var.backup_retention_days, var.backup_copy_retention_days) && var.backup_vault_lock.max_retention_days >= max(var.backup_retention_days, var.backup_copy_retention_days)
      error_message = "backup_vault_lock must allow the plan's retentions: min_retention_days <= backup_retention_days and backup_copy_retention_days <= max_retention_days."
    }
  }
}

resource "aws_backup_vault_lock_configuration" "copy" {
  count    = local.backup_lock_count
  provider = aws.backup_copy

  backup_vault_name   = aws_backup_vault.copy[0].name
  min_retention_days  = var.backup_vault_lock.min_retention_days
  max_retention_days  = var.backup_vault_lock.max_retention_days
  changeable_for_days = var.backup_vault_lock.changeable_for_days
}

resource "aws_backup_plan" "ledger" {
  count = local.backup_count

  name = "${var.name_prefix}-ledger"

  rule {
    rule_name         = "daily"
    target_vault_name = aws_backup_vault.primary[0].name
    schedule          = var.backup_schedule
    start_window      = 60
    completion_window = 360

    lifecycle {
      delete_after = var.backup_retention_days
    }

    copy_action {
      destination_vault_arn = aws_backup_vault.copy[0].arn

      lifecycle {
        delete_after = var.backup_copy_retention_days
      }
    }
  }
}

data "aws_iam_policy_document" "backup_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "backup" {
  count = local.backup_selection_count

  name               = "${var.name_prefix}-backup"
  description        = "AWS Backup service role for the ledger tables"
  assume_role_policy = data.aws_iam_policy_document.backup_assume.json
}

resource "aws_iam_role_policy_attachment" "backup" {
  for_each = local.backup_selection_count == 1 ? toset([
    "arn:${local.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:${local.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
  ]) : toset([])

  role       = aws_iam_role.backup[0].name
  policy_arn = each.value
}

resource "aws_backup_selection" "tables" {
  count = local.backup_selection_count

  name         = "${var.name_prefix}-tables"
  plan_id      = aws_backup_plan.ledger[0].id
  iam_role_arn = aws_iam_role.backup[0].arn
  resources = [
    aws_dynamodb_table.events.arn,
    aws_dynamodb_table.snapshots.arn,
    aws_dynamodb_table.read_models.arn,
  ]
}
