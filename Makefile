# Two commands matter: `make run` and `make test`. Both build the virtualenv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck unit bench clean package tf-check localstack-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ledger serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck tf-check
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP)
	$(BIN)/python -m bench.http_write_path
	$(BIN)/python -m bench.dynamodb_store
	$(BIN)/python -m bench.cold_start

# The same terraform apply + AWS integration suite against LocalStack (needs Docker; see README).
localstack-test: $(STAMP)
	docker compose up -d --wait localstack
	LEDGER_TEST_AWS_ENDPOINT=http://127.0.0.1:4566 $(BIN)/pytest -q \
		tests/integration/test_terraform_apply.py tests/integration/test_aws_on_terraform.py \
		tests/integration/test_workflows_on_aws.py; \
		status=$$?; docker compose down; exit $$status

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
	$(CHECKOV_VENV)/bin/checkov -d terraform --quiet --compact --framework terraform --skip-download

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
