# Every function from ONE deployment package (`make package` -> build/lambda.zip): the api, the
# two stream consumers, and one workflow worker per queue of workflow_rules.json.
locals {
  core_functions = {
    api = {
      handler              = "ledger.lambdas.api.handler"
      description          = "HTTP API (FastAPI through Mangum, API Gateway payload 2.0)"
      memory_size          = var.api_memory_mb
      timeout              = var.api_timeout_seconds
      reserved_concurrency = var.api_reserved_concurrency
      provider_secret      = true # payments, captures, voids and webhooks call the providers
      # The operations routes find the workflow queues and their DLQs by this prefix.
      environment = { LEDGER_QUEUE_NAME_PREFIX = var.name_prefix }
    }
    projections = {
      handler              = "ledger.lambdas.projections.handler"
      description          = "Events-table stream -> read models (partial batch responses)"
      memory_size          = var.stream_memory_mb
      timeout              = var.stream_timeout_seconds
      reserved_concurrency = var.projections_reserved_concurrency
      provider_secret      = false
      environment          = {}
    }
    publisher = {
      handler              = "ledger.lambdas.publisher.handler"
      description          = "Events-table stream -> EventBridge bus (partial batch responses)"
      memory_size          = var.stream_memory_mb
      timeout              = var.stream_timeout_seconds
      reserved_concurrency = var.publisher_reserved_concurrency
      provider_secret      = false
      environment          = {}
    }
  }

  # One worker per workflow queue, all with the same handler; LEDGER_WORKER_QUEUE picks the
  # queue (and so the handler module). A run may take half the queue's visibility timeout (AWS
  # refuses a queue whose visibility timeout is shorter than its function's timeout), so a
  # message is never delivered again while its first run is still going. Concurrency is capped
  # on the event source mapping (workflows.tf), not reserved here.
  worker_functions = {
    for queue, spec in local.workflow_queues : "worker-${queue}" => {
      handler              = "ledger.lambdas.worker.handler"
      description          = substr("Workflow worker of the ${queue} queue: ${spec.description}", 0, 256)
      memory_size          = var.worker_memory_mb
      timeout              = max(floor(spec.visibility_timeout_seconds / 2), 1)
      reserved_concurrency = -1
      provider_secret      = true # refunds, payouts and billing runs call the providers and rails
      environment = {
        LEDGER_WORKER_QUEUE      = queue
        LEDGER_QUEUE_NAME_PREFIX = var.name_prefix
      }
    }
  }

  functions = merge(local.core_functions, local.worker_functions)

  function_names = { for key, _ in local.functions : key => "${var.name_prefix}-${key}" }

  lambda_environment = {
    LEDGER_PERSISTENCE           = "dynamodb"
    LEDGER_EVENTS_TABLE          = aws_dynamodb_table.events.name
    LEDGER_SNAPSHOTS_TABLE       = aws_dynamodb_table.snapshots.name
    LEDGER_READ_MODELS_TABLE     = aws_dynamodb_table.read_models.name
    LEDGER_EVENT_BUS_NAME        = aws_cloudwatch_event_bus.ledger.name
    LEDGER_PUBLISH_EVERY_EVENT   = tostring(var.publish_every_event)
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    LOG_LEVEL                    = var.log_level
  }

  # Only the functions that call payment providers read the provider secret (and may: iam.tf).
  provider_secret_functions = toset([for key, spec in local.functions : key if spec.provider_secret])
  provider_secret_environment = {
    LEDGER_PROVIDER_SECRET_ARN = aws_secretsmanager_secret.provider_credentials.arn
  }

  # SnapStart for Python restores published versions from a snapshot of their initialised
  # environment. Every commercial region has it but these two (and neither GovCloud nor China).
  snapstart_unsupported_regions = ["ap-southeast-6", "ap-east-2"]
  snapstart                     = var.lambda_snapstart && local.partition == "aws" && !contains(local.snapstart_unsupported_regions, var.region)
}

resource "aws_lambda_function" "this" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_116:No function DLQ: it applies to asynchronous invocations only, and none of these is invoked so. The stream consumers send failed batches to an SQS on-failure destination on their event source mappings (streams.tf), the workers' queues move what keeps failing to their own DLQs (sqs.tf), and the api is invoked synchronously.
  #checkov:skip=CKV_AWS_117:No VPC: the functions reach only regional AWS endpoints (DynamoDB, EventBridge, SQS, Secrets Manager); a VPC would add NAT or endpoints and cold-start cost for no isolation gain.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile, which the offline build cannot produce; the package is built reproducibly by scripts/build_lambda_package.py instead.

  function_name = local.function_names[each.key]
  description   = each.value.description
  role          = aws_iam_role.lambda[each.key].arn
  handler       = each.value.handler
  runtime       = "python3.12"
  architectures = [var.lambda_architecture]
  memory_size   = each.value.memory_size
  timeout       = each.value.timeout

  filename         = var.lambda_package_path
  source_code_hash = filebase64sha256(var.lambda_package_path)

  reserved_concurrent_executions = each.value.reserved_concurrency
  kms_key_arn                    = aws_kms_key.ledger.arn

  environment {
    variables = merge(
      local.lambda_environment,
      { for name, value in local.provider_secret_environment : name => value if each.value.provider_secret },
      each.value.environment,
      { for name, value in var.provider_environment : name => value if each.value.provider_secret },
      { POWERTOOLS_SERVICE_NAME = "ledger-${each.key}" },
    )
  }

  # Every change publishes a version; callers (API, event source mappings) use the alias below.
  publish = true

  dynamic "snap_start" {
    for_each = local.snapstart ? [1] : []
    content {
      apply_on = "PublishedVersions"
    }
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    precondition {
      condition     = length(local.function_names[each.key]) <= 64
      error_message = "Function (and role) name ${local.function_names[each.key]} is longer than 64 characters: shorten name_prefix or the queue's name."
    }
  }

  # The log groups exist (with retention and encryption) before the functions can write.
  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
  ]
}

# The alias every caller invokes: the HTTP API integration and the event source mappings target
# it, so a deploy moves them all to the new version at once (and SnapStart serves versions only).
resource "aws_lambda_alias" "live" {
  for_each = local.functions

  name             = var.lambda_alias_name
  description      = "The version of ${local.function_names[each.key]} that serves traffic"
  function_name    = aws_lambda_function.this[each.key].function_name
  function_version = aws_lambda_function.this[each.key].version
}

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["api"].function_name
  qualifier     = aws_lambda_alias.live["api"].name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
}
