# scripts/terraform.sh -chdir=terraform init -backend-config=envs/prod.s3.tfbackend
# scripts/terraform.sh -chdir=terraform apply -var-file=envs/prod.tfvars
environment        = "prod"
name_prefix        = "ledger-prod"
region             = "eu-west-1"
backup_copy_region = "eu-central-1"

lambda_architecture = "arm64"
lambda_package_path = "../build/lambda.zip"
lambda_snapstart    = true # eu-west-1 has SnapStart for Python

deletion_protection         = true
kms_deletion_window_days    = 30
secret_recovery_window_days = 30
log_retention_days          = 365
log_level                   = "INFO"

api_memory_mb                    = 1024
stream_memory_mb                 = 512
worker_memory_mb                 = 512
api_reserved_concurrency         = 200
projections_reserved_concurrency = 200
publisher_reserved_concurrency   = 20

api_throttling_burst_limit = 500
api_throttling_rate_limit  = 250

# Batches of up to 100 records gathered for up to a second: the projections fold a batch per
# aggregate and counter (a few write units a payment at full batches).
stream_batch_size              = 100
stream_batching_window_seconds = 1

stream_maximum_retry_attempts     = 10
stream_maximum_record_age_seconds = 21600
stream_iterator_age_alarm_ms      = 60000
api_p99_latency_alarm_ms          = 1000

event_archive_retention_days = 0 # keep for ever: the archive is the replay source

enable_backup                 = true
manage_backup_region_settings = true # DynamoDB advanced features: the cross-region copy needs them
backup_retention_days         = 35
backup_copy_retention_days    = 90

# Who is paged: required (the plan refuses an empty list). Replace with the on-call rota's
# address or the pager's HTTPS integration URL before the first apply.
alarm_subscriptions = [
  { protocol = "email", endpoint = "payments-oncall@example.com" },
]

# Recovery points cannot be deleted early nor kept past a year, in both vaults. Governance mode;
# add changeable_for_days = 3 to make the lock compliance mode (immutable after 3 days).
backup_vault_lock = {
  min_retention_days = 7
  max_retention_days = 365
}

# Workflow workers (queues, rules and schedules come from workflow_rules.json).
worker_batch_size          = 5
worker_maximum_concurrency = 10
