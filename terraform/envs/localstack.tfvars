# The project's LocalStack (localstack/, `make localstack-test`): the same root as on AWS, with
# what LocalStack's community core cannot apply turned off. Unlike envs/local.tfvars (moto, whose
# Lambdas run no code) every function runs here, from the package built for this machine
# (lambda_architecture and lambda_package_path come from the test, -var), and every event source
# mapping polls: streams trigger projections and publisher, queues trigger the workers.
environment        = "localstack"
name_prefix        = "ledger-ls"
region             = "us-east-1"
backup_copy_region = "us-west-2"

lambda_architecture = "x86_64"
lambda_package_path = "../build/lambda-host.zip"

deletion_protection         = false
kms_deletion_window_days    = 7
secret_recovery_window_days = 0
log_retention_days          = 1
log_level                   = "INFO"

api_memory_mb                    = 512
stream_memory_mb                 = 256
worker_memory_mb                 = 256
api_reserved_concurrency         = 2
projections_reserved_concurrency = 1
publisher_reserved_concurrency   = 1

stream_batch_size                 = 100
stream_batching_window_seconds    = 0
stream_maximum_retry_attempts     = 3
stream_maximum_record_age_seconds = 3600

event_archive_retention_days = 1
# LocalStack's CloudFormation has no AWS::Events::Archive: the plain archive, EventBridge's key.
event_archive_via_cloudformation = false

# AWS Backup comes from moto (the plugin): vaults and plans, no selections, no region settings.
enable_backup                 = true
enable_backup_selection       = false
manage_backup_region_settings = false
backup_retention_days         = 1
backup_copy_retention_days    = 1

# LocalStack publishes versions and aliases but has no SnapStart.
lambda_snapstart = false

require_alarm_subscription = false

worker_batch_size                    = 5
worker_maximum_concurrency           = 2
worker_event_source_mappings_enabled = true
