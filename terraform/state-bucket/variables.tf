variable "bucket_name" {
  type        = string
  description = "Name of the state bucket (globally unique), e.g. ledger-terraform-state-<account id>; the bucket of every envs/<env>.s3.tfbackend."
}

variable "region" {
  type        = string
  description = "Region of the bucket (the region of every envs/<env>.s3.tfbackend)."
}

variable "kms_alias" {
  type        = string
  description = "Alias of the key encrypting the state (kms_key_id of the backend files: alias/<this>)."
  default     = "ledger-terraform-state"
}

variable "noncurrent_version_retention_days" {
  type        = number
  description = "Days an overwritten state version is kept (restore one with a copy over the current object)."
  default     = 365
}
