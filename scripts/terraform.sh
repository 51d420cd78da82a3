#!/usr/bin/env bash
# Runs terraform with the given arguments, installing providers from a local filesystem mirror
# when there is one (machines without internet), and from the registry otherwise.
#
#   TF_PROVIDER_MIRROR  mirror directory, laid out registry.terraform.io/hashicorp/aws/<version>/<os_arch>/
#                       (default /opt/tf-plugins). When it does not exist, terraform runs as usual.
#
# With a mirror, TF_CLI_CONFIG_FILE points (for this run only) at a generated CLI config that holds
# just the provider_installation block. Checkpoint (terraform's update check) is always off.
set -euo pipefail

export CHECKPOINT_DISABLE=1
mirror="${TF_PROVIDER_MIRROR:-/opt/tf-plugins}"

if [[ -d "$mirror" ]]; then
    mirror="$(cd "$mirror" && pwd)"
    config_dir="${XDG_CACHE_HOME:-$HOME/.cache}/payments-ledger"
    mkdir -p "$config_dir"
    config="$config_dir/terraform-mirror-$(printf '%s' "$mirror" | cksum | cut -d' ' -f1).tfrc"
    tmp="$(mktemp "$config.XXXXXX")"
    cat >"$tmp" <<TFRC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
TFRC
    mv -f "$tmp" "$config"
    export TF_CLI_CONFIG_FILE="$config"
fi

# exec: signals (Ctrl-C, a test's timeout) reach terraform itself.
exec terraform "$@"
