# Payment-provider credentials (JSON: stripe_api_key, stripe_webhook_secret, paypal_*,
# bank_vault_key, ach_origin; see the README). Terraform creates the secret with an empty
# configuration, `{}`, so the first deploy starts: a function reading it finds no provider
# configured and runs with the sandbox only (a payment naming a provider that is not configured
# is refused with 422). The real value is put out of band
# (`aws secretsmanager put-secret-value --secret-id <arn> --secret-string file://creds.json`)
# and Terraform never looks at it again: ignore_changes keeps later values out of plans, and
# the state only ever holds the initial `{}`. Only the api and the workers read it
# (lambda.tf, iam.tf).
resource "aws_secretsmanager_secret" "provider_credentials" {
  #checkov:skip=CKV2_AWS_57:The provider issues and rotates these credentials in its own dashboard; there is no rotation API a rotation Lambda could call. Rotation is an operator runbook step.
  name                    = "${var.name_prefix}/provider-credentials"
  description             = "Payment provider API credentials (JSON); value set out of band"
  kms_key_id              = aws_kms_key.ledger.arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "provider_credentials_initial" {
  secret_id     = aws_secretsmanager_secret.provider_credentials.id
  secret_string = jsonencode({})

  lifecycle {
    ignore_changes = [secret_string, version_stages]
  }
}
