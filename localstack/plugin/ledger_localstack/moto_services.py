"""API Gateway v2 and AWS Backup for LocalStack's community core, which answers both with "not
included in your license": every operation is handed to moto's backend inside the LocalStack
process (moto-ext, LocalStack's moto fork, pinned in constraints.txt).

Two gaps of moto-ext are filled here: backup's DescribeBackupVault and DeleteBackupVault (which
Terraform calls), answered from moto's backend; and moto-ext matches backup's request paths only
with the trailing slash of the botocore model, which Terraform's Go SDK does not send, so it is
added before dispatching.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.services.plugins import Service, aws_provider


def dispatch_to_moto(context: RequestContext) -> Any:
    """localstack.services.moto.dispatch_to_moto, with the path given the trailing slash the
    botocore model's requestUri has."""
    from localstack.http import Response
    from localstack.http.request import get_full_raw_path, get_raw_current_url
    from localstack.services.moto import get_dispatcher
    from moto.core.exceptions import RESTError

    request = context.request
    full_raw_path = get_full_raw_path(request)
    path, _, query = full_raw_path.partition("?")
    model_uri = (context.operation.http.get("requestUri") or "").split("?")[0]
    if model_uri.endswith("/") and not path.endswith("/"):
        path += "/"
        full_raw_path = path + (f"?{query}" if query else "")
        if "RAW_URI" in request.environ:  # moto matches the operation on RAW_URI when set
            request.environ["RAW_URI"] = full_raw_path
    dispatch = get_dispatcher(context.service.service_name, path)
    try:
        raw_url = get_raw_current_url(
            request.scheme, request.host, request.root_path, full_raw_path
        )
        response = dispatch(request, raw_url, request.headers)
        if not response:
            raise NotImplementedError(context.operation.name)
        status, headers, content = response
        if isinstance(content, str) and not content:
            content = None
        return Response(content, status, headers)
    except RESTError as error:
        raise CommonServiceException(
            error.error_type, error.message, status_code=error.code
        ) from error


def moto_service(name: str, overrides: dict[str, Any] | None = None) -> Service:
    from localstack.aws.skeleton import Skeleton
    from localstack.aws.spec import load_service

    model = load_service(name)

    def handler(context: RequestContext, request: Any) -> Any:
        return dispatch_to_moto(context)

    table: dict[str, Any] = dict.fromkeys(model.operation_names, handler)
    table.update(overrides or {})
    return Service(name=name, skeleton=Skeleton(model, table))


def _vaults(context: RequestContext) -> dict[str, Any]:
    from moto.backup.models import backup_backends

    vaults: dict[str, Any] = backup_backends[context.account_id][context.region].vaults
    return vaults


def _vault(context: RequestContext, name: str) -> Any:
    vault = _vaults(context).get(name)
    if vault is None:
        raise CommonServiceException(
            "ResourceNotFoundException", f"Backup vault {name} does not exist", status_code=404
        )
    return vault


def describe_backup_vault(context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    vault = _vault(context, request["BackupVaultName"])
    answer: dict[str, Any] = vault.to_list_dict()
    answer["CreationDate"] = datetime.fromtimestamp(vault.creation_date, tz=UTC)
    answer.pop("LockDate", None)
    return answer


def delete_backup_vault(context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
    _vault(context, request["BackupVaultName"])
    del _vaults(context)[request["BackupVaultName"]]
    return {}


@aws_provider(api="apigatewayv2", name="moto")
def apigatewayv2() -> Service:
    return moto_service("apigatewayv2")


@aws_provider(api="backup", name="moto")
def backup() -> Service:
    return moto_service(
        "backup",
        {
            "DescribeBackupVault": describe_backup_vault,
            "DeleteBackupVault": delete_backup_vault,
        },
    )
