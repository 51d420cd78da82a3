variable "environment" {
  type        = string
  description = "Deployment environment name (dev, prod, local, ...); used in tags."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters, digits or dashes."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name, for example \"ledger-prod\"."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix must be 3-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "Primary AWS region of the ledger."
}

variable "backup_copy_region" {
  type        = string
  description = "Second AWS region that receives copies of the backups (must differ from region)."
}

variable "tags" {
  type        = map(string)
  description = "Extra tags added to every resource (merged into the provider's default_tags)."
  default     = {}
}

variable "deletion_protection" {
  type        = bool
  description = "DynamoDB deletion protection on every table. Keep true outside throwaway environments."
  default     = true
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Waiting period before a scheduled KMS key deletion takes effect."
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

# ----- Lambda ----------------------------------------------------------------------------------

variable "lambda_package_path" {
  type        = string
  description = "Path of the deployment zip built by `make package` (build/lambda.zip); one package for every function."

  validation {
    condition     = endswith(var.lambda_package_path, ".zip")
    error_message = "lambda_package_path must point at a .zip file."
  }
}

variable "lambda_architecture" {
  type        = string
  description = "Instruction set of the functions; must match the wheels in the package (LAMBDA_ARCH of `make package`)."
  default     = "arm64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "lambda_snapstart" {
  type        = bool
  description = "SnapStart for the functions' published versions (Python 3.12+: Lambda restores a snapshot of the initialised environment instead of a cold start). Applied only where the region supports it (lambda.tf); emulators do not model it (envs/local.tfvars, envs/localstack.tfvars)."
  default     = true
}

variable "lambda_alias_name" {
  type        = string
  description = "Alias of each function's current published version; the HTTP API and every event source mapping invoke it."
  default     = "live"
}

variable "provider_environment" {
  type        = map(string)
  description = "Provider settings that are not secrets, for the functions that call providers (api, workers): LEDGER_STRIPE_API_BASE, LEDGER_PAYPAL_BASE_URL, LEDGER_PAYPAL_ENVIRONMENT. Empty in production; the LocalStack run points Stripe at a local fake. Credentials belong in the provider secret, never here."
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.provider_environment) : contains(["LEDGER_STRIPE_API_BASE", "LEDGER_PAYPAL_BASE_URL", "LEDGER_PAYPAL_ENVIRONMENT"], name)])
    error_message = "provider_environment may set LEDGER_STRIPE_API_BASE, LEDGER_PAYPAL_BASE_URL and LEDGER_PAYPAL_ENVIRONMENT only (credentials go in the provider secret)."
  }
}

variable "api_memory_mb" {
  type        = number
  description = "Memory of the api function in MB (CPU scales with it)."
  default     = 1024
}

variable "api_timeout_seconds" {
  type        = number
  description = "Timeout of the api function; HTTP APIs give up after 30 s."
  default     = 15

  validation {
    condition     = var.api_timeout_seconds >= 1 && var.api_timeout_seconds <= 29
    error_message = "api_timeout_seconds must be between 1 and 29."
  }
}

variable "stream_memory_mb" {
  type        = number
  description = "Memory of the projections and publisher functions in MB."
  default     = 512
}

variable "stream_timeout_seconds" {
  type        = number
  description = "Timeout of the projections and publisher functions."
  default     = 60
}

variable "api_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the api function (caps load on the event store); -1 reserves none."
  default     = 100

  validation {
    condition     = var.api_reserved_concurrency >= -1
    error_message = "api_reserved_concurrency must be -1 (unreserved) or a count."
  }
}

variable "projections_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the projections function (at least one per stream shard); -1 reserves none."
  default     = 20

  validation {
    condition     = var.projections_reserved_concurrency >= -1
    error_message = "projections_reserved_concurrency must be -1 (unreserved) or a count."
  }
}

variable "publisher_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the publisher function; -1 reserves none."
  default     = 10

  validation {
    condition     = var.publisher_reserved_concurrency >= -1
    error_message = "publisher_reserved_concurrency must be -1 (unreserved) or a count."
  }
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of the Powertools logger in every function."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "metrics_namespace" {
  type        = string
  description = "CloudWatch namespace of the Powertools (EMF) metrics."
  default     = "PaymentsLedger"
}

# ----- Workflow workers ------------------------------------------------------------------------

variable "worker_memory_mb" {
  type        = number
  description = "Memory of the workflow worker functions in MB."
  default     = 512
}

variable "worker_event_source_mappings_enabled" {
  type        = bool
  description = "Whether the workers' SQS event source mappings poll their queues. Off only on local emulators whose tests hand queue messages to the worker handler themselves: moto receives a mapped queue's messages on every send (counting deliveries), and LocalStack would run the placeholder package on them."
  default     = true
}

variable "worker_batch_size" {
  type        = number
  description = "Messages per batch handed to a workflow worker (each may call a provider)."
  default     = 5

  validation {
    condition     = var.worker_batch_size >= 1 && var.worker_batch_size <= 10
    error_message = "worker_batch_size must be between 1 and 10."
  }
}

variable "worker_maximum_concurrency" {
  type        = number
  description = "Most concurrent invocations of each worker (the SQS event source mapping's maximum concurrency): caps the load on providers and payout rails."
  default     = 5

  validation {
    condition     = var.worker_maximum_concurrency >= 2 && var.worker_maximum_concurrency <= 1000
    error_message = "worker_maximum_concurrency must be between 2 and 1000."
  }
}

# ----- Stream consumers ------------------------------------------------------------------------

variable "stream_batch_size" {
  type        = number
  description = "Records per batch handed to the projections and publisher functions."
  default     = 100

  validation {
    condition     = var.stream_batch_size >= 1 && var.stream_batch_size <= 10000
    error_message = "stream_batch_size must be between 1 and 10000."
  }
}

variable "stream_batching_window_seconds" {
  type        = number
  description = "How long the stream pollers wait to fill a batch (the projections write a batch's records per aggregate and counter, so fuller batches cost fewer write units)."
  default     = 1

  validation {
    condition     = var.stream_batching_window_seconds >= 0 && var.stream_batching_window_seconds <= 300
    error_message = "stream_batching_window_seconds must be between 0 and 300."
  }
}

variable "projections_tumbling_window_seconds" {
  type        = number
  description = "Tumbling window of the projections mapping: Lambda then names each batch's shard, which the read models key their counters by."
  default     = 60

  validation {
    condition     = var.projections_tumbling_window_seconds >= 1 && var.projections_tumbling_window_seconds <= 900
    error_message = "projections_tumbling_window_seconds must be between 1 and 900."
  }
}

variable "projections_parallelization_factor" {
  type        = number
  description = "Concurrent batches per shard for the projections: 1, as each per-shard counter item must have one writer (scale by shards, not by this factor)."
  default     = 1

  validation {
    condition     = var.projections_parallelization_factor == 1
    error_message = "projections_parallelization_factor must be 1: the read models' per-shard counters take one writer a shard."
  }
}

variable "stream_parallelization_factor" {
  type        = number
  description = "Concurrent batches per shard; order per aggregate (partition key) is kept at any factor."
  default     = 1

  validation {
    condition     = var.stream_parallelization_factor >= 1 && var.stream_parallelization_factor <= 10
    error_message = "stream_parallelization_factor must be between 1 and 10."
  }
}

variable "stream_maximum_retry_attempts" {
  type        = number
  description = "Retries of a failing stream batch before it goes to the on-failure DLQ (bounded: never -1)."
  default     = 10

  validation {
    condition     = var.stream_maximum_retry_attempts >= 0 && var.stream_maximum_retry_attempts <= 10000
    error_message = "stream_maximum_retry_attempts must be between 0 and 10000."
  }
}

variable "stream_maximum_record_age_seconds" {
  type        = number
  description = "Oldest record the stream consumers still process before sending it to the DLQ (bounded: never -1)."
  default     = 21600

  validation {
    condition     = var.stream_maximum_record_age_seconds >= 60 && var.stream_maximum_record_age_seconds <= 604800
    error_message = "stream_maximum_record_age_seconds must be between 60 and 604800."
  }
}

# ----- API -------------------------------------------------------------------------------------

variable "api_throttling_burst_limit" {
  type        = number
  description = "Burst limit of the HTTP API stage (requests)."
  default     = 200
}

variable "api_throttling_rate_limit" {
  type        = number
  description = "Steady-state rate limit of the HTTP API stage (requests per second)."
  default     = 100
}

# ----- Queues and events -----------------------------------------------------------------------

# Queues, their visibility timeouts and maxReceiveCounts, rules and schedules come from
# workflow_rules.json, not from variables: the embedded runtime reads the same file.

variable "restrict_dlq_redrive_sources" {
  type        = bool
  description = "Set a redrive allow policy on each workflow DLQ so only its own queue can use it. moto does not store this attribute, so envs/local.tfvars turns it off."
  default     = true
}

variable "event_archive_via_cloudformation" {
  type        = bool
  description = "Create the bus archive through a CloudFormation stack, the only way the AWS provider 5.100 can encrypt it with the ledger key (eventbridge.tf). Off only where CloudFormation lacks AWS::Events::Archive (LocalStack's community core)."
  default     = true
}

variable "event_archive_retention_days" {
  type        = number
  description = "Days the EventBridge archive keeps events for replay; 0 keeps them forever."
  default     = 365
}

# ----- Monitoring ------------------------------------------------------------------------------

variable "log_retention_days" {
  type        = number
  description = "Retention of the CloudWatch log groups (days); a year by default, shorter only for throwaway environments."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "alarm_subscriptions" {
  type = list(object({
    protocol               = string
    endpoint               = string
    endpoint_auto_confirms = optional(bool, false)
  }))
  description = "Who the alarms reach: SNS subscriptions of the alarm topic, protocol \"email\" (an address; it must confirm) or \"https\" (a pager or chat webhook). Required unless require_alarm_subscription is false."
  default     = []

  validation {
    condition     = alltrue([for s in var.alarm_subscriptions : (s.protocol == "email" && can(regex("^[^@ ]+@[^@ ]+\\.[^@ ]+$", s.endpoint))) || (s.protocol == "https" && startswith(s.endpoint, "https://"))])
    error_message = "Each alarm subscription is {protocol = \"email\", endpoint = an e-mail address} or {protocol = \"https\", endpoint = an https:// URL}."
  }
}

variable "require_alarm_subscription" {
  type        = bool
  description = "Refuse to plan without an alarm subscription. Only throwaway environments (emulators) turn it off."
  default     = true
}

variable "queue_oldest_message_alarm_seconds" {
  type        = number
  description = "Alarm when the oldest message of a workflow queue is older than this (workers behind, or retries past their budget)."
  default     = 3600
}

variable "dlq_oldest_message_alarm_seconds" {
  type        = number
  description = "Alarm when a dead letter has waited this long (DLQs keep messages 14 days): redrive it before it expires."
  default     = 604800
}

variable "stream_iterator_age_alarm_ms" {
  type        = number
  description = "Alarm when a stream consumer falls this far behind (IteratorAge, milliseconds)."
  default     = 60000
}

variable "api_p99_latency_alarm_ms" {
  type        = number
  description = "Alarm when the API's p99 latency exceeds this (milliseconds)."
  default     = 1000
}

variable "api_5xx_alarm_threshold" {
  type        = number
  description = "Alarm when the API returns more than this many 5xx responses in five minutes."
  default     = 0
}

# ----- Backup and secrets ----------------------------------------------------------------------

variable "enable_backup" {
  type        = bool
  description = "Create the AWS Backup vaults (one per region), the plan with its copy to backup_copy_region, and the selection of the tables."
  default     = true
}

variable "enable_backup_selection" {
  type        = bool
  description = "Assign the tables to the backup plan (only with enable_backup). moto implements vaults and plans but not selections, so envs/local.tfvars turns this off."
  default     = true
}

variable "manage_backup_region_settings" {
  type        = bool
  description = "Manage the region's AWS Backup settings: DynamoDB opted in, with its advanced features (needed for the cross-region copy of DynamoDB backups). Account-and-region-wide: set false where another stack owns these settings (they must then enable the same). moto does not implement them (envs/local.tfvars)."
  default     = true
}

variable "backup_region_opt_in" {
  type        = map(bool)
  description = "Opt-in of other AWS Backup resource types in the region's settings, over AWS's defaults (all on); DynamoDB is always on."
  default     = {}
}

variable "backup_vault_lock" {
  type = object({
    min_retention_days  = number
    max_retention_days  = number
    changeable_for_days = optional(number)
  })
  description = "Vault lock of both backup vaults (null: none). Without changeable_for_days: governance mode; with it: compliance mode (immutable, even for the account root) once that many days (3 or more) have passed."
  default     = null

  validation {
    condition     = var.backup_vault_lock == null || try(var.backup_vault_lock.min_retention_days >= 1 && var.backup_vault_lock.min_retention_days <= var.backup_vault_lock.max_retention_days && coalesce(var.backup_vault_lock.changeable_for_days, 3) >= 3, false)
    error_message = "backup_vault_lock: 1 <= min_retention_days <= max_retention_days, and changeable_for_days (compliance mode) at least 3."
  }
}

variable "backup_schedule" {
  type        = string
  description = "Cron expression of the daily backup (UTC)."
  default     = "cron(0 3 * * ? *)"
}

variable "backup_retention_days" {
  type        = number
  description = "Days recovery points are kept in the primary vault."
  default     = 35
}

variable "backup_copy_retention_days" {
  type        = number
  description = "Days copied recovery points are kept in the second region's vault."
  default     = 35
}

variable "secret_recovery_window_days" {
  type        = number
  description = "Days a deleted Secrets Manager secret can still be restored; 0 deletes at once (throwaway environments only)."
  default     = 30

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "publish_every_event" {
  type        = bool
  description = "Publish every payment, payout, manufacturer and subscription event to the bus (and so its archive), not only those a workflow rule matches (streams.tf). Costs $1 a million events on EventBridge and a publisher invocation a stream batch; for subscribers outside the workflow map."
  default     = false
}
