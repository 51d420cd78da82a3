# Payment-provider credentials. Terraform creates the secret only: its value is put out of band
# (`aws secretsmanager put-secret-value --secret-id <arn> --secret-string file://creds.json`),
# so no credential ever passes through a variable, a plan or the state.
resource "aws_secretsmanager_secret" "provider_credentials" {
  #checkov:skip=CKV2_AWS_57:The provider issues and rotates these credentials in its own dashboard; there is no rotation API a rotation Lambda could call. Rotation is an operator runbook step.
  name                    = "${var.name_prefix}/provider-credentials"
  description             = "Payment provider API credentials (JSON); value set out of band"
  kms_key_id              = aws_kms_key.ledger.arn
  recovery_window_in_days = var.secret_recovery_window_days
}
