# Two commands matter: `make run` and `make test`. Both build the virtualenv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck unit bench clean package tf-check localstack localstack-test localstack-docker-test lambda-host-package browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ledger serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts localstack/plugin
	$(BIN)/ruff format --check src tests bench scripts localstack/plugin
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian's chromium for the console's browser tests (tests/console; Playwright drives it, no
# browser download): installed with apt-get when missing, nothing done when present.
browser:
	scripts/install_chromium.sh

# Everything, the LocalStack run last (it has its own target: tests/localstack).
test: lint typecheck tf-check browser
	$(BIN)/pytest -q --ignore=tests/localstack
	$(MAKE) localstack-test

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP)
	$(BIN)/python -m bench.http_write_path
	$(BIN)/python -m bench.dynamodb_store
	$(BIN)/python -m bench.dynamodb_read_models
	$(BIN)/python -m bench.cold_start
	$(BIN)/python -m bench.finance_reads
	$(BIN)/python -m bench.reconciliation

# The project's LocalStack, without Docker (localstack/): installed once into .venv-localstack/
# (pinned, PyPI and npm only; a second run does nothing), then the end-to-end run of
# tests/localstack: LocalStack started by the tests on a free loopback port, the Terraform root
# applied to it, every function running from build/lambda-host.zip, destroyed at the end.
localstack:
	localstack/install.sh

localstack-test: $(STAMP) localstack lambda-host-package
	LEDGER_LOCALSTACK_REQUIRED=1 $(BIN)/pytest -q tests/localstack

# The same tests against the image docker-compose.yml builds (needs Docker; not run in CI).
localstack-docker-test: $(STAMP) lambda-host-package
	docker compose up -d --build --wait localstack
	LEDGER_LOCALSTACK_ENDPOINT=http://127.0.0.1:4566 LEDGER_LOCALSTACK_REQUIRED=1 \
		$(BIN)/pytest -q tests/localstack; status=$$?; docker compose down; exit $$status

# The deployment package for this machine's architecture: LocalStack runs the handlers here.
HOST_ARCH := $(shell uname -m | sed -e 's/aarch64/arm64/' -e 's/amd64/x86_64/')
PACKAGE_SOURCES := pyproject.toml scripts/build_lambda_package.py \
	$(shell find src -name '*.py' -o -name '*.json' -o -name '*.js' -o -name '*.css' -o -name '*.html' | grep -v __pycache__)

build/lambda-host.zip: $(STAMP) $(PACKAGE_SOURCES)
	LAMBDA_ARCH=$(HOST_ARCH) $(BIN)/python scripts/build_lambda_package.py --output $@

lambda-host-package: build/lambda-host.zip

# The Lambda deployment zip (build/lambda.zip) for python3.12 on LAMBDA_ARCH (arm64 by default).
package:
	$(PYTHON) scripts/build_lambda_package.py

# Terraform static checks: fmt, validate (providers from the offline mirror when there is one,
# see scripts/terraform.sh) and checkov in its own virtualenv. validate runs in a copy under
# build/ so that init leaves no .terraform/ or lock file in terraform/.
TERRAFORM := scripts/terraform.sh
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
TF_CHECK_DIR := build/tf-check

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov>=3.2,<4'
	touch $(CHECKOV_STAMP)

tf-check: $(CHECKOV_STAMP)
	$(TERRAFORM) fmt -check -recursive terraform
	mkdir -p $(TF_CHECK_DIR)
	rm -f $(TF_CHECK_DIR)/*.tf $(TF_CHECK_DIR)/*.json
	cp terraform/*.tf terraform/*.json $(TF_CHECK_DIR)/
	$(TERRAFORM) -chdir=$(TF_CHECK_DIR) init -backend=false -input=false -no-color >/dev/null
	$(TERRAFORM) -chdir=$(TF_CHECK_DIR) validate -no-color
	mkdir -p $(TF_CHECK_DIR)/state-bucket
	cp terraform/state-bucket/*.tf $(TF_CHECK_DIR)/state-bucket/
	$(TERRAFORM) -chdir=$(TF_CHECK_DIR)/state-bucket init -backend=false -input=false -no-color >/dev/null
	$(TERRAFORM) -chdir=$(TF_CHECK_DIR)/state-bucket validate -no-color
	$(CHECKOV_VENV)/bin/checkov -d terraform --quiet --compact --framework terraform --skip-download

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis .venv-localstack
