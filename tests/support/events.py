"""Real-shaped API Gateway HTTP API (v2) events, built from the samples in `events/`."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def http_event(
    method: str,
    path: str,
    *,
    route_key: str,
    body: str | bytes | dict[str, Any] | list[Any] | None = None,
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An event as the HTTP API sends it for this request (header names lower-cased)."""
    sample = "calls_post.json" if method == "POST" else "calls_get.json"
    event = copy.deepcopy(load_event(sample))
    url = urlsplit(path)
    event["routeKey"] = route_key
    event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = url.path
    event["rawQueryString"] = url.query
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = url.path
    event["headers"] = {
        k: v for k, v in event["headers"].items() if k not in ("idempotency-key", "content-length")
    }
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    event.pop("pathParameters", None)
    if path_parameters:
        event["pathParameters"] = path_parameters
    event.pop("body", None)
    event["isBase64Encoded"] = False
    if body is not None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, bytes):
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = body
    return event


def post_calls(body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return http_event("POST", "/calls", route_key="POST /calls", body=body, headers=headers)


def get_call(call_id: str) -> dict[str, Any]:
    return http_event(
        "GET",
        f"/calls/{call_id}",
        route_key="GET /calls/{call_id}",
        path_parameters={"call_id": call_id},
    )


def _query_event(path: str, route_key: str, query: dict[str, str] | None, **kwargs: Any) -> dict:
    from urllib.parse import urlencode

    event = http_event("GET", f"{path}?{urlencode(query or {})}", route_key=route_key, **kwargs)
    if query:
        event["queryStringParameters"] = dict(query)
    else:
        event.pop("queryStringParameters", None)
    return event


def list_calls(query: dict[str, str] | None = None) -> dict[str, Any]:
    return _query_event("/calls", "GET /calls", query)


def post_batches(body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return http_event("POST", "/batches", route_key="POST /batches", body=body, headers=headers)


def get_batch(batch_id: str) -> dict[str, Any]:
    return http_event(
        "GET",
        f"/batches/{batch_id}",
        route_key="GET /batches/{batch_id}",
        path_parameters={"batch_id": batch_id},
    )


def list_batch_calls(
    batch_id: str, query: dict[str, str] | None = None, *, accept: str | None = None
) -> dict[str, Any]:
    return _query_event(
        f"/batches/{batch_id}/calls",
        "GET /batches/{batch_id}/calls",
        query,
        headers={"accept": accept} if accept else None,
        path_parameters={"batch_id": batch_id},
    )
