"""The payments ledger's LocalStack plugin (pinned with LocalStack in ../constraints.txt):

- executor: Lambda functions run as local Python processes instead of Docker containers
  (LAMBDA_RUNTIME_EXECUTOR=local), so event source mappings invoke the real handlers;
- moto_services: API Gateway v2 and AWS Backup, which LocalStack's community core does not
  emulate, served by moto's backends inside LocalStack (PROVIDER_OVERRIDE_<SERVICE>=moto);
- http_api: invocations of an HTTP API (execute-api) run its routes' Lambda integrations with
  payload format 2.0.

It relies on LocalStack internals, which is why localstack-core is pinned exactly.
"""
