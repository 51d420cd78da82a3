locals {
  default_tags = merge(
    {
      Project     = "payments-ledger"
      Environment = var.environment
      ManagedBy   = "terraform"
    },
    var.tags,
  )
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.default_tags
  }
}

# The region that receives copies of the AWS Backup recovery points (multi-region backup).
provider "aws" {
  alias  = "backup_copy"
  region = var.backup_copy_region

  default_tags {
    tags = local.default_tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
}
