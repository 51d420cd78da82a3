# Remote state: S3, locked by a lock file next to the state (use_lockfile, Terraform >= 1.10).
# A backend block cannot read variables, so the settings come per environment from a backend
# file given at init (partial configuration), next to that environment's tfvars:
#
#   scripts/terraform.sh -chdir=terraform init -backend-config=envs/prod.s3.tfbackend
#   scripts/terraform.sh -chdir=terraform apply -var-file=envs/prod.tfvars
#
# envs/<env>.s3.tfbackend holds bucket, key, region, encrypt, kms_key_id and use_lockfile; the
# bucket (versioned, encrypted, public access blocked) exists before the first init, made once
# per account by terraform/state-bucket/ (docs/aws.md, "Remote state"). Emulator runs and
# `make tf-check` initialise with -backend=false or a local override (tests/support/terraform.py).
terraform {
  backend "s3" {}
}
