"""What API Gateway's HTTP API does between a client and a Lambda function (payload format 2.0).

- :class:`Router` matches a request to one of the template's routes the way HTTP APIs choose:
  the most specific path wins (literal segments over ``{param}``, ``{param}`` over
  ``{proxy+}``), a route's own method over ``ANY``, ``$default`` last.
- :func:`build_event` turns the request into the event the gateway would send.
- :func:`to_http_response` turns the function's result into the HTTP answer, including the 2.0
  format's inference for a result without ``statusCode``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from devstack.template import Route

# Bodies of these types reach the function as text; anything else base64-encoded.
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/graphql",
    "application/x-yaml",
    "application/yaml",
)
_TEXT_SUFFIXES = ("+json", "+xml")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PARAM = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")

# The gateway's own answers (HTTP APIs send these bodies).
NOT_FOUND = (404, {"message": "Not Found"})
INTERNAL_ERROR = (500, {"message": "Internal Server Error"})
SERVICE_UNAVAILABLE = (503, {"message": "Service Unavailable"})
TOO_LARGE = (413, {"message": "Request Entity Too Large"})
# RFC 9110's names where Python before 3.13 still has the older ones (the problem titles of
# esms_calls.api.problems use the same, so a status line and its problem's title agree).
REASON_PHRASES = {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # HTTP APIs refuse larger request bodies
INTEGRATION_TIMEOUT_SECONDS = 30.0  # HTTP APIs give an integration at most 30 s


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    regex: re.Pattern[str] | None  # None: the $default route
    names: tuple[str, ...]
    specificity: tuple[int, int, int]  # larger is more specific

    @property
    def route_key(self) -> str:
        if self.route.path == "$default":
            return "$default"
        return f"{self.route.method} {self.route.path}"


def _compile(route: Route) -> CompiledRoute:
    if route.path == "$default":
        return CompiledRoute(route, None, (), (-1, 0, 0))
    pattern: list[str] = []
    names: list[str] = []
    literals = 0
    greedy = False
    for segment in route.path.strip("/").split("/"):
        param = _PARAM.match(segment)
        if param is None:
            pattern.append(re.escape(segment))
            literals += 1
        elif param.group(2):
            pattern.append(f"(?P<p{len(names)}>.+)")
            names.append(param.group(1))
            greedy = True
        else:
            pattern.append(f"(?P<p{len(names)}>[^/]+)")
            names.append(param.group(1))
    regex = re.compile("^/" + "/".join(pattern) + "$")
    specificity = (0 if greedy else 1, literals, 0 if route.method == "ANY" else 1)
    return CompiledRoute(route, regex, tuple(names), specificity)


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = [_compile(route) for route in routes]

    def match(self, method: str, raw_path: str) -> tuple[CompiledRoute, dict[str, str]] | None:
        best: tuple[CompiledRoute, dict[str, str]] | None = None
        for compiled in self.routes:
            if compiled.route.method not in ("ANY", method):
                continue
            params: dict[str, str] = {}
            if compiled.regex is not None:
                found = compiled.regex.match(raw_path)
                if found is None:
                    continue
                params = {
                    name: unquote(found.group(f"p{index}"))
                    for index, name in enumerate(compiled.names)
                }
            if best is None or compiled.specificity > best[0].specificity:
                best = (compiled, params)
        return best


def new_request_id() -> str:
    """An id shaped like the gateway's (``C1mYxh4vSQ0EJxQ=``)."""
    return base64.b64encode(secrets.token_bytes(11)).decode()


def trace_header() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def request_time(epoch: float) -> str:
    """``27/Nov/2026:09:00:00 +0000``: English month names whatever the locale."""
    utc = time.gmtime(epoch)
    return (
        f"{utc.tm_mday:02d}/{_MONTHS[utc.tm_mon - 1]}/{utc.tm_year}:"
        f"{utc.tm_hour:02d}:{utc.tm_min:02d}:{utc.tm_sec:02d} +0000"
    )


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";")[0].strip().lower()
    return media.startswith(_TEXT_TYPES) or media.endswith(_TEXT_SUFFIXES)


@dataclass(frozen=True)
class HttpRequest:
    """A request as the server read it. ``headers`` keep their order and repetitions."""

    method: str
    raw_path: str
    raw_query: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    server_port: int = 80


def build_event(
    request: HttpRequest,
    route: CompiledRoute,
    path_parameters: dict[str, str],
    *,
    request_id: str,
    account_id: str,
    api_id: str = "devstack",
    received: float | None = None,
) -> dict[str, Any]:
    """The HTTP API (payload format 2.0) event for this request on this route."""
    received = time.time() if received is None else received
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies += [piece.strip() for piece in value.split(";") if piece.strip()]
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    # What the gateway adds in front of every integration.
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = (
        f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    )
    headers["x-forwarded-port"] = str(request.server_port)
    headers["x-forwarded-proto"] = "http"
    headers.setdefault("x-amzn-trace-id", trace_header())

    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value

    domain = headers.get("host", f"127.0.0.1:{request.server_port}")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0].split(":")[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": request_time(received),
        "timeEpoch": int(received * 1000),
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if request.body:
        text = None
        if is_text(headers.get("content-type")):
            try:
                text = request.body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
            event["isBase64Encoded"] = False
    else:
        event["isBase64Encoded"] = False
    return event


class MalformedResponse(ValueError):
    """The function's result is not something the gateway can turn into an answer."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def to_http_response(result: Any) -> HttpResponse:
    """The gateway's answer for a function result (payload format 2.0)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # 2.0 inference: valid JSON without statusCode is a 200 with that JSON as the body.
        body = json.dumps(result).encode()
        return HttpResponse(200, [("Content-Type", "application/json")], body)
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError) as exc:
        raise MalformedResponse("statusCode is not a number") from exc
    if not 100 <= status <= 599:
        raise MalformedResponse("statusCode out of range")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), _header_value(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(str(name), _header_value(value)) for value in values or []]
    headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
    raw = result.get("body")
    if raw is None:
        body = b""
    elif not isinstance(raw, str):
        raise MalformedResponse("body is not a string")
    elif result.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except ValueError as exc:
            raise MalformedResponse("body is not base64") from exc
    else:
        body = raw.encode("utf-8")
    return HttpResponse(status, headers, body)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def gateway_answer(answer: tuple[int, dict[str, str]], request_id: str) -> HttpResponse:
    status, payload = answer
    return HttpResponse(
        status,
        [("Content-Type", "application/json"), ("apigw-requestid", request_id)],
        json.dumps(payload).encode(),
    )
