output "bucket" {
  description = "The backend's bucket."
  value       = aws_s3_bucket.state.bucket
}

output "kms_key_arn" {
  description = "The backend's kms_key_id."
  value       = aws_kms_key.state.arn
}

output "backend_config" {
  description = "The lines of an envs/<env>.s3.tfbackend for this bucket (add key = \"payments-ledger/<env>/terraform.tfstate\")."
  value = {
    bucket       = aws_s3_bucket.state.bucket
    region       = var.region
    encrypt      = true
    use_lockfile = true
    kms_key_id   = aws_kms_alias.state.arn
  }
}
