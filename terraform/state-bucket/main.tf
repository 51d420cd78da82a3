# The S3 bucket that holds the ledger's Terraform state (backend.tf of the parent root), made once
# per account, before the first `terraform init` of any environment:
#
#   scripts/terraform.sh -chdir=terraform/state-bucket init
#   scripts/terraform.sh -chdir=terraform/state-bucket apply -var bucket_name=ledger-terraform-state-<account> -var region=eu-west-1
#
# Its own state is small and local (keep the file, or move it into the bucket afterwards with
# `init -migrate-state`). Versioned (every state ever written can be restored), encrypted with a
# key of its own (the ledger key may be scheduled for deletion with the stack it belongs to),
# public access blocked, TLS only. Locking needs nothing more: the backend writes a lock file
# beside the state (use_lockfile).
terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = "payments-ledger"
      ManagedBy = "terraform"
      Purpose   = "terraform-state"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

resource "aws_kms_key" "state" {
  description             = "Terraform state of the payments ledger"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.state_key.json
}

resource "aws_kms_alias" "state" {
  name          = "alias/${var.kms_alias}"
  target_key_id = aws_kms_key.state.key_id
}

data "aws_iam_policy_document" "state_key" {
  #checkov:skip=CKV_AWS_109:Key policy: resource "*" is this key only; the account root statement is what lets IAM policies grant its use to whoever runs Terraform.
  #checkov:skip=CKV_AWS_111:Key policy: resource "*" is this key only; the account root statement is what lets IAM policies grant its use to whoever runs Terraform.
  #checkov:skip=CKV_AWS_356:Key policy: resource "*" is this key only, the only resource a key policy can name.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_144:Cross-region replication of the state bucket is an account-level disaster-recovery choice; versioning keeps every state written, and the state can be rebuilt by import from the resources themselves.
  #checkov:skip=CKV_AWS_18:Access logging needs a second (log) bucket per account; CloudTrail data events are the audit trail of state access where required.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of state writes; the lock file is the coordination.
  bucket = var.bucket_name

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "old-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}
