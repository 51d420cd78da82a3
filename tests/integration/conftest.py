"""The integration tests' fixtures (DynamoDB Local: dynamodb_endpoint) live in tests/conftest.py,
shared with the contract suites; the Terraform stack in tests/support/terraform.py."""
