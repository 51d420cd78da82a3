"""Invocations of API Gateway HTTP APIs (the execute-api data plane), which LocalStack's community
core does not serve: the API, its routes, integrations and stages come from moto's apigatewayv2
backend (moto_services.py); a request is matched to a route, turned into the payload format 2.0
event API Gateway sends to a Lambda proxy integration, and the function's answer into the HTTP
response, as API Gateway does:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html

Addresses, as for REST APIs in LocalStack:
  host style  http://<api-id>.execute-api.<anything>:<port>/<stage>/<path>  (the API's own URL,
              e.g. https://<api-id>.execute-api.us-east-1.amazonaws.com/, sent to LocalStack's
              port with that Host header)
  path style  http://127.0.0.1:<port>/_aws/execute-api/<api-id>/<stage>/<path>
With a $default stage the stage part is left out. Not emulated: authorizers, throttling, CORS,
access logs, parameter mapping, HTTP (non-Lambda) integrations.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from localstack.http import Request, Response
from localstack.runtime import hooks

LOG = logging.getLogger(__name__)
PATH_STYLE_PREFIX = "/_aws/execute-api"
HOST_PATTERN = "<regex('[a-z0-9]+'):api_id>.execute-api.<regex('.*'):server>"
LAMBDA_URI = re.compile(
    r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<fn>.+)/invocations$"
)
TEXT_TYPES = re.compile(
    r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+json|[^;]*\+xml)"
)


def find_api(api_id: str) -> tuple[str, str, Any] | None:
    """(account, region, moto Api) of an HTTP API, wherever it was created."""
    from moto.apigatewayv2.models import apigatewayv2_backends

    for account, regions in list(apigatewayv2_backends.items()):
        for region, backend in list(regions.items()):
            api = backend.apis.get(api_id)
            if api is not None:
                return account, region, api
    return None


def _route_pattern(path: str) -> tuple[re.Pattern[str], list[str]]:
    """A route path like /items/{id} or /files/{proxy+} as a regex and its parameter names."""
    names: list[str] = []
    parts = []
    for segment in path.strip("/").split("/") if path.strip("/") else []:
        greedy = re.fullmatch(r"\{([^}]+)\+\}", segment)
        single = re.fullmatch(r"\{([^}]+)\}", segment)
        if greedy:
            names.append(greedy.group(1))
            parts.append("(.+)")
        elif single:
            names.append(single.group(1))
            parts.append("([^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "/?$"), names


def match_route(api: Any, method: str, path: str) -> tuple[Any, dict[str, str]] | None:
    """The route API Gateway picks: the most specific METHOD (then ANY) path match, else
    $default."""
    candidates = []
    default = None
    for route in api.routes.values():
        if route.route_key == "$default":
            default = route
            continue
        route_method, _, route_path = route.route_key.partition(" ")
        if route_method not in (method, "ANY"):
            continue
        pattern, names = _route_pattern(route_path)
        found = pattern.match(path)
        if found:
            greedy = "+}" in route_path
            specificity = (not greedy, route_path.count("/"), route_method != "ANY")
            candidates.append((specificity, route, dict(zip(names, found.groups(), strict=True))))
    if candidates:
        _, route, parameters = max(candidates, key=lambda candidate: candidate[0])
        return route, parameters
    if default is not None:
        return default, {}
    return None


def _json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class HttpApiEndpoint:
    def __call__(self, request: Request, api_id: str, path: str = "", **kwargs: Any) -> Response:
        found = find_api(api_id)
        if found is None or found[2].protocol_type != "HTTP":
            return _json_response(404, {"message": "Not Found"})
        account, region, api = found
        route_path = "/" + path
        if "$default" in api.stages:
            stage = "$default"
        else:
            stage, _, rest = path.partition("/")
            if stage not in api.stages:
                return _json_response(404, {"message": "Not Found"})
            route_path = "/" + rest
        matched = match_route(api, request.method, route_path)
        if matched is None:
            return _json_response(404, {"message": "Not Found"})
        route, parameters = matched
        integration_id = (route.target or "").removeprefix("integrations/")
        integration = api.integrations.get(integration_id)
        if integration is None or integration.integration_type != "AWS_PROXY":
            LOG.warning(
                "HTTP API %s route %s: no Lambda proxy integration", api_id, route.route_key
            )
            return _json_response(500, {"message": "Internal Server Error"})
        function = LAMBDA_URI.match(integration.integration_uri or "")
        function_arn = function.group("fn") if function else integration.integration_uri
        event = self.event(request, api, account, stage, route, route_path, parameters)
        return self.invoke(account, region, function_arn, integration, event)

    @staticmethod
    def event(
        request: Request,
        api: Any,
        account: str,
        stage: str,
        route: Any,
        route_path: str,
        parameters: dict[str, str],
    ) -> dict[str, Any]:
        """The payload format 2.0 event of a request."""
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        query: dict[str, str] = {}
        for name, values in request.args.lists():
            query[name] = ",".join(values)
        raw_query = request.query_string.decode("latin-1")
        body_bytes = request.get_data()
        content_type = headers.get("content-type", "")
        encoded = False
        body: str | None = None
        if body_bytes:
            try:
                text = body_bytes.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None and (TEXT_TYPES.match(content_type) or not content_type):
                body = text
            else:
                body = base64.b64encode(body_bytes).decode()
                encoded = True
        now = datetime.now(UTC)
        host = headers.get("host", "")
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": route_path,
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": account,
                "apiId": api.api_id,
                "domainName": host.split(":")[0],
                "domainPrefix": host.split(".")[0],
                "http": {
                    "method": request.method,
                    "path": route_path,
                    "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": uuid.uuid4().hex[:16] + "=",
                "routeKey": route.route_key,
                "stage": stage,
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": encoded,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = query
        if parameters:
            event["pathParameters"] = parameters
        if body is not None:
            event["body"] = body
        stage_variables = getattr(api.stages.get(stage), "variables", None)
        if stage_variables:
            event["stageVariables"] = stage_variables
        return event

    @staticmethod
    def invoke(
        account: str, region: str, function_arn: str, integration: Any, event: dict[str, Any]
    ) -> Response:
        from botocore.config import Config
        from localstack.aws.connect import connect_to

        timeout_ms = integration.timeout_in_millis or 30_000
        client = connect_to(
            aws_access_key_id=account,
            region_name=region,
            config=Config(read_timeout=timeout_ms / 1000, retries={"total_max_attempts": 1}),
        ).lambda_
        from botocore.exceptions import ReadTimeoutError

        started = time.monotonic()
        try:
            answer = client.invoke(FunctionName=function_arn, Payload=json.dumps(event).encode())
            raw = answer["Payload"].read()
        except ReadTimeoutError:
            # API Gateway gives up on the integration after its timeout: 503.
            LOG.warning("HTTP API integration %s timed out", function_arn)
            return _json_response(503, {"message": "Service Unavailable"})
        except Exception as error:
            LOG.warning("HTTP API integration %s failed: %s", function_arn, error)
            return _json_response(500, {"message": "Internal Server Error"})
        if answer.get("FunctionError"):
            LOG.info("HTTP API integration %s raised: %s", function_arn, raw[:2000])
            return _json_response(500, {"message": "Internal Server Error"})
        if (time.monotonic() - started) * 1000 > timeout_ms:
            return _json_response(503, {"message": "Service Unavailable"})
        return to_response(json.loads(raw) if raw else None)


def to_response(result: Any) -> Response:
    """A Lambda proxy answer (format 2.0) as an HTTP response: a dict with statusCode is taken
    as is; anything else is JSON with status 200."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return Response(json.dumps(result), status=200, mimetype="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = Response(data, status=int(result["statusCode"]))
    response.headers.pop("Content-Type", None)
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    response.headers.setdefault("Content-Type", "application/json")
    response.headers["apigw-requestid"] = uuid.uuid4().hex[:16] + "="
    return response


@hooks.on_infra_start()
def register_http_api_routes() -> None:
    from localstack.services.edge import ROUTER

    endpoint = HttpApiEndpoint()
    ROUTER.add("/", host=HOST_PATTERN, endpoint=endpoint, defaults={"path": ""})
    ROUTER.add("/<greedy_path:path>", host=HOST_PATTERN, endpoint=endpoint)
    ROUTER.add(f"{PATH_STYLE_PREFIX}/<api_id>/", endpoint=endpoint, defaults={"path": ""})
    ROUTER.add(f"{PATH_STYLE_PREFIX}/<api_id>/<greedy_path:path>", endpoint=endpoint)
    LOG.debug("HTTP API (execute-api) routes registered")
