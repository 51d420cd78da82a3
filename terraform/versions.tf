terraform {
  # 1.10: the S3 backend locks with a lock file of its own (use_lockfile), no DynamoDB table.
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0"
    }
  }
}
