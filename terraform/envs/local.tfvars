# Local AWS emulator (moto server in the tests, or LocalStack): small, throwaway, no protection.
# terraform apply -var-file=envs/local.tfvars -var lambda_package_path=... with AWS_ENDPOINT_URL set.
environment        = "local"
name_prefix        = "ledger-local"
region             = "us-east-1"
backup_copy_region = "us-west-2"

lambda_architecture = "arm64"
lambda_package_path = "../build/lambda.zip"

deletion_protection         = false
kms_deletion_window_days    = 7
secret_recovery_window_days = 0
log_retention_days          = 1

api_memory_mb                    = 256
stream_memory_mb                 = 256
worker_memory_mb                 = 256
api_reserved_concurrency         = 2
projections_reserved_concurrency = 1
publisher_reserved_concurrency   = 1

stream_batch_size                 = 10
stream_maximum_retry_attempts     = 2
stream_maximum_record_age_seconds = 60

event_archive_retention_days = 1

# moto stores SnapStart as off whatever it is asked (the provider would never converge).
lambda_snapstart = false

# Throwaway: the alarms exist (and are checked), no one is paged.
require_alarm_subscription = false

# moto implements AWS Backup vaults and plans (both regions are applied) but neither selections
# nor the region settings.
enable_backup                 = true
enable_backup_selection       = false
manage_backup_region_settings = false
backup_retention_days         = 1
backup_copy_retention_days    = 1

# moto does not store an SQS queue's RedriveAllowPolicy, and the provider waits for it to appear.
restrict_dlq_redrive_sources = false

# Workflow workers (queues, rules and schedules come from workflow_rules.json). The mappings
# exist but do not poll: the tests receive the messages and run the worker handler in process
# (moto would otherwise receive every message of a mapped queue as it is sent, counting a
# delivery, and LocalStack would run the placeholder package on them).
worker_batch_size                    = 5
worker_maximum_concurrency           = 2
worker_event_source_mappings_enabled = false
