# scripts/terraform.sh -chdir=terraform init -backend-config=envs/dev.s3.tfbackend
# scripts/terraform.sh -chdir=terraform apply -var-file=envs/dev.tfvars
environment        = "dev"
name_prefix        = "ledger-dev"
region             = "eu-west-1"
backup_copy_region = "eu-central-1"

lambda_architecture = "arm64"
lambda_package_path = "../build/lambda.zip"

deletion_protection         = false
kms_deletion_window_days    = 7
secret_recovery_window_days = 7
log_retention_days          = 14
log_level                   = "DEBUG"

api_memory_mb                    = 1024
stream_memory_mb                 = 512
worker_memory_mb                 = 512
api_reserved_concurrency         = -1
projections_reserved_concurrency = -1
publisher_reserved_concurrency   = -1

api_throttling_burst_limit = 50
api_throttling_rate_limit  = 20

stream_maximum_retry_attempts     = 5
stream_maximum_record_age_seconds = 3600

event_archive_retention_days = 30

enable_backup              = true
backup_retention_days      = 7
backup_copy_retention_days = 7

# Dev alarms land on the topic only; subscribe yourself (alarm_subscriptions) to get them.
require_alarm_subscription = false

# Workflow workers (queues, rules and schedules come from workflow_rules.json).
worker_batch_size          = 5
worker_maximum_concurrency = 2
