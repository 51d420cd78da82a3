# Three functions from ONE deployment package (`make package` -> build/lambda.zip).
locals {
  functions = {
    api = {
      handler              = "ledger.lambdas.api.handler"
      description          = "HTTP API (FastAPI through Mangum, API Gateway payload 2.0)"
      memory_size          = var.api_memory_mb
      timeout              = var.api_timeout_seconds
      reserved_concurrency = var.api_reserved_concurrency
    }
    projections = {
      handler              = "ledger.lambdas.projections.handler"
      description          = "Events-table stream -> read models (partial batch responses)"
      memory_size          = var.stream_memory_mb
      timeout              = var.stream_timeout_seconds
      reserved_concurrency = var.projections_reserved_concurrency
    }
    publisher = {
      handler              = "ledger.lambdas.publisher.handler"
      description          = "Events-table stream -> EventBridge bus (partial batch responses)"
      memory_size          = var.stream_memory_mb
      timeout              = var.stream_timeout_seconds
      reserved_concurrency = var.publisher_reserved_concurrency
    }
  }

  function_names = { for key, _ in local.functions : key => "${var.name_prefix}-${key}" }

  lambda_environment = {
    LEDGER_PERSISTENCE           = "dynamodb"
    LEDGER_EVENTS_TABLE          = aws_dynamodb_table.events.name
    LEDGER_SNAPSHOTS_TABLE       = aws_dynamodb_table.snapshots.name
    LEDGER_READ_MODELS_TABLE     = aws_dynamodb_table.read_models.name
    LEDGER_EVENT_BUS_NAME        = aws_cloudwatch_event_bus.ledger.name
    LEDGER_PROVIDER_SECRET_ARN   = aws_secretsmanager_secret.provider_credentials.arn
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    LOG_LEVEL                    = var.log_level
  }
}

resource "aws_lambda_function" "this" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_116:No function DLQ: the stream consumers send failed batches to an SQS on-failure destination on their event source mappings (streams.tf), and the api is invoked synchronously, where a DLQ never applies.
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
    variables = merge(local.lambda_environment, {
      POWERTOOLS_SERVICE_NAME = "ledger-${each.key}"
    })
  }

  tracing_config {
    mode = "Active"
  }

  # The log groups exist (with retention and encryption) before the functions can write.
  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
  ]
}

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["api"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
}
