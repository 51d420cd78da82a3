# terraform -chdir=terraform apply -var-file=envs/prod.tfvars -var lambda_package_path=../build/lambda.zip
environment        = "prod"
name_prefix        = "ledger-prod"
region             = "eu-west-1"
backup_copy_region = "eu-central-1"

lambda_architecture = "arm64"
lambda_package_path = "../build/lambda.zip"

deletion_protection         = true
kms_deletion_window_days    = 30
secret_recovery_window_days = 30
log_retention_days          = 365
log_level                   = "INFO"

api_memory_mb                    = 1024
stream_memory_mb                 = 512
worker_memory_mb                 = 512
api_reserved_concurrency         = 200
projections_reserved_concurrency = 40
publisher_reserved_concurrency   = 20

api_throttling_burst_limit = 500
api_throttling_rate_limit  = 250

stream_maximum_retry_attempts     = 10
stream_maximum_record_age_seconds = 21600
stream_iterator_age_alarm_ms      = 60000
api_p99_latency_alarm_ms          = 1000

event_archive_retention_days = 0 # keep for ever: the archive is the replay source

enable_backup              = true
backup_retention_days      = 35
backup_copy_retention_days = 90

alarm_email_addresses = []

# Workflow workers (queues, rules and schedules come from workflow_rules.json).
worker_batch_size          = 5
worker_maximum_concurrency = 10
