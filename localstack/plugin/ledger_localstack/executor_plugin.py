"""The executor as a LocalStack plugin (namespace localstack.lambda.runtime_executor, name
"local"), loaded only when LAMBDA_RUNTIME_EXECUTOR=local."""

from __future__ import annotations

from typing import Any

from plux import Plugin


class LocalProcessExecutorPlugin(Plugin):
    namespace = "localstack.lambda.runtime_executor"
    name = "local"

    def load(self, *args: Any, **kwargs: Any) -> Any:
        from ledger_localstack.executor import LocalProcessRuntimeExecutor

        return LocalProcessRuntimeExecutor
