"""Lambda events as AWS sends them: API Gateway HTTP API (v2), REST API (v1) and an ALB.

Shapes from AWS's documentation of each integration's payload; only what Django reads varies.
v2 carries cookies in a ``cookies`` array and answers them in one; v1 and the ALB (with
multi-value headers on) carry them in ``multiValueHeaders``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

KINDS = ("apigw-v2", "apigw-v1", "alb")
HOST = "testserver"


def event(kind: str, path: str, *, method: str = "GET", cookie: str | None = None,
          user_agent: str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0") -> dict[str, Any]:
    headers = {"host": HOST, "user-agent": user_agent, "x-forwarded-proto": "https", "x-forwarded-port": "443"}
    if kind == "apigw-v2":
        return {
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            **({"cookies": [cookie]} if cookie else {}),
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "api-id", "domainName": HOST, "domainPrefix": "api",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                         "userAgent": user_agent},
                "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
                "time": "01/Dec/2026:12:00:00 +0000", "timeEpoch": int(time.time() * 1000),
            },
            "isBase64Encoded": False, "body": "",
        }
    multi = {name: [value] for name, value in headers.items()}
    if cookie:
        multi["cookie"] = [cookie]
    common = {
        "httpMethod": method, "path": path, "multiValueHeaders": multi, "headers": None,
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "body": None, "isBase64Encoded": False,
    }
    if kind == "apigw-v1":
        return {
            **common, "resource": "/{proxy+}", "pathParameters": {"proxy": path.lstrip("/")}, "stageVariables": None,
            "requestContext": {
                "accountId": "123456789012", "apiId": "api-id", "httpMethod": method, "path": f"/prod{path}",
                "protocol": "HTTP/1.1", "requestId": str(uuid.uuid4()), "resourcePath": "/{proxy+}", "stage": "prod",
                "identity": {"sourceIp": "203.0.113.7", "userAgent": user_agent},
            },
        }
    return {**common, "requestContext": {"elb": {
        "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/sessions/abc"}}}


def set_cookies(response: dict[str, Any]) -> list[str]:
    """The Set-Cookie values of a Lambda response, wherever the integration puts them (apig-wsgi
    leaves the leading space of Python's cookie output, which clients ignore)."""
    if "cookies" in response:
        return [cookie.strip() for cookie in response["cookies"]]
    multi = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
    single = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    values = multi.get("set-cookie") or ([single["set-cookie"]] if "set-cookie" in single else [])
    return [cookie.strip() for cookie in values]


def header(response: dict[str, Any], name: str) -> str | None:
    multi = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
    single = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    if name.lower() in single:
        return str(single[name.lower()])
    values = multi.get(name.lower())
    return str(values[0]) if values else None


class Context:
    """The handful of LambdaContext attributes handlers read."""

    function_name = "sessions"
    memory_limit_in_mb = 512
    aws_request_id = "request-id"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sessions"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000
