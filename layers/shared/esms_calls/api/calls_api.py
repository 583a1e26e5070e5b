"""`POST /calls` and `GET /calls/{call_id}`, and `resolve`, which answers every HTTP event of
CallsFunction: the checks Powertools' validation cannot make, then the resolver's routes."""

from __future__ import annotations

import base64
import importlib
import json
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header

from esms_calls import dependencies
from esms_calls.api import problems
from esms_calls.api.problems import FieldError
from esms_calls.api.resolver import app, documented
from esms_calls.api.responses import CallAccepted, CallView
from esms_calls.domain.ids import REQUEST_ID_PATTERN
from esms_calls.domain.placement import PlaceCallCommand, PlaceCallOutcome
from esms_calls.errors import InvalidCallRequest
from esms_calls.observability import count, logger
from esms_calls.requests.calls import PlaceCallRequest
from esms_calls.usecases.place_call import new_request_id

MAX_BODY_BYTES = 64 * 1024
# A batch of 10,000 entries is about 1-3 MB of JSON. API Gateway takes bodies up to 10 MB, but
# Lambda's synchronous invocation payload stops at 6 MB (the event around the body included):
# 5 MiB leaves the envelope room, and a larger body is refused here, not by Lambda with a 500.
MAX_BATCH_BODY_BYTES = 5 * 1024 * 1024
_BODY_LIMITS = {"/batches": MAX_BATCH_BODY_BYTES}
_FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# The methods whose routes take a JSON body (POST /calls, /batches; PUT /do-not-call/{phone}).
_METHODS_WITH_BODY = ("POST", "PUT")
# The methods each path serves, for the 405 of the template's `ANY` routes.
_METHODS_OF_PATH = {
    "/calls": ("GET", "POST"),
    "/calls/{call_id}": ("GET",),
    "/batches": ("POST",),
    "/batches/{batch_id}": ("GET",),
    "/batches/{batch_id}/calls": ("GET",),
    "/do-not-call/{phone}": ("DELETE", "GET", "PUT"),
}

# The other routes of CallsFunction register themselves on the resolver when their module is
# imported, and an event imports only the module of the route API Gateway matched (its
# routeKey): a cold `POST /calls` loads neither the batch nor the listing models and handlers
# (docs/performance.md). An event of any other route key (the template's ANY routes are answered
# before this) imports them all.
ROUTE_MODULES = ("batches_api", "do_not_call_api", "listing_api")
_ROUTE_MODULES_OF = {
    "POST /calls": (),
    "GET /calls/{call_id}": (),
    "GET /calls": ("listing_api",),
    "POST /batches": ("batches_api",),
    "GET /batches/{batch_id}": ("batches_api",),
    "GET /batches/{batch_id}/calls": ("batches_api",),
    "PUT /do-not-call/{phone}": ("do_not_call_api",),
    "GET /do-not-call/{phone}": ("do_not_call_api",),
    "DELETE /do-not-call/{phone}": ("do_not_call_api",),
}


def register_routes(route_key: str | None = None) -> None:
    """Register the routes this route key needs (every route when it is None or unknown)."""
    names = _ROUTE_MODULES_OF.get(route_key or "", ROUTE_MODULES)
    for name in names:
        importlib.import_module(f"esms_calls.api.{name}")


@app.post(
    "/calls",
    summary="Place an automated call that plays a recording or speaks a script",
    responses={
        202: {
            "description": "accepted by eSMS",
            "content": {"application/json": {"model": CallAccepted}},
        },
        **documented(
            HTTPStatus.BAD_REQUEST,
            HTTPStatus.CONFLICT,
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            HTTPStatus.UNPROCESSABLE_ENTITY,
            HTTPStatus.BAD_GATEWAY,
            HTTPStatus.SERVICE_UNAVAILABLE,
            HTTPStatus.GATEWAY_TIMEOUT,
        ),
    },
)
def create_call(
    body: Annotated[PlaceCallRequest, Body()],
    idempotency_key: Annotated[
        str | None, Header(alias="idempotency-key", pattern=REQUEST_ID_PATTERN)
    ] = None,
) -> Response[str]:
    if idempotency_key and body.request_id and idempotency_key != body.request_id:
        raise InvalidCallRequest("request_id", "differs from the Idempotency-Key header")
    request_id = idempotency_key or body.request_id or new_request_id()
    count("CallsRequested")
    logger.append_keys(request_id=request_id)
    place_call = dependencies.root().place_call
    place_call.register_lambda_context(app.lambda_context)
    remaining_ms = app.lambda_context.get_remaining_time_in_millis()
    outcome = place_call(
        PlaceCallCommand(request_id=request_id, spec=body.to_spec()),
        remaining_seconds=remaining_ms / 1000,
    )
    logger.append_keys(call_id=outcome.call_id)
    return _outcome_response(outcome)


@app.get(
    "/calls/<call_id>",
    summary="A call and what became of it",
    responses={
        200: {"description": "the call", "content": {"application/json": {"model": CallView}}},
        **documented(HTTPStatus.NOT_FOUND),
    },
)
def read_call(call_id: str) -> Response[str]:
    logger.append_keys(call_id=call_id)
    view = CallView.of(dependencies.root().get_call(call_id))
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type="application/json",
        body=view.model_dump_json(),
    )


def _outcome_response(outcome: PlaceCallOutcome) -> Response[str]:
    headers = {"Location": f"/calls/{outcome.call_id}"}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    refusal = outcome.refusal
    if refusal is not None:
        return problems.refusal(
            refusal.kind, refusal.code, refusal.message, outcome.call_id, headers
        )
    body = CallAccepted(
        call_id=outcome.call_id,
        request_id=outcome.request_id,
        sms_id=outcome.sms_id,
        status=outcome.status,
        deferred_until=outcome.deferred_until,
    )
    return Response(
        status_code=HTTPStatus.ACCEPTED.value,
        content_type="application/json",
        body=body.model_dump_json(),
        headers=headers,
    )


def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer an HTTP API event, after the checks Powertools' validation cannot make."""
    refusal = _refuse_before_parsing(event)
    if refusal is not None:
        return {
            "statusCode": refusal.status_code,
            "headers": {**refusal.headers, "Content-Type": problems.PROBLEM_JSON},
            "body": refusal.body,
            "isBase64Encoded": False,
        }
    register_routes(event.get("routeKey"))
    return app.resolve(event, context)


def _refuse_before_parsing(event: dict[str, Any]) -> Response[str] | None:
    route_key = str(event.get("routeKey") or "")
    if route_key.startswith("ANY "):  # the template's catch-all routes: a method we do not serve
        return problems.method_not_allowed(_METHODS_OF_PATH.get(route_key[4:], ()))
    body = _body_text(event)
    if isinstance(body, Response):
        return body
    if event.get("requestContext", {}).get("http", {}).get("method") not in _METHODS_WITH_BODY:
        return None
    return _refuse_body(event, body)


def _body_text(event: dict[str, Any]) -> str | Response[str]:
    """The body as text, or the problem of a body too large or not UTF-8."""
    raw = event.get("body") or ""
    try:
        data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    except ValueError:  # bad base64, or a str holding lone surrogates
        data = None
    limit = _BODY_LIMITS.get(event.get("rawPath", ""), MAX_BODY_BYTES)
    if data is not None and len(data) > limit:
        return problems.problem(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "body-too-large",
            f"the body is over {limit // 1024} KiB",
        )
    try:
        if data is None:
            raise ValueError("undecodable body")
        return data.decode()
    except ValueError:  # UnicodeDecodeError included
        return problems.problem(HTTPStatus.BAD_REQUEST, "malformed-json", "the body is not UTF-8")


def _refuse_body(event: dict[str, Any], body: str) -> Response[str] | None:
    content_type = (event.get("headers") or {}).get("content-type", "").lower()
    if content_type.startswith(_FORM_CONTENT_TYPES):
        # Powertools would parse a form and report the whole body as one unknown field; the
        # usual cause is `curl -d` without a Content-Type header.
        return problems.problem(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the body as JSON with Content-Type: application/json",
        )
    if not body.strip():
        return problems.problem(HTTPStatus.BAD_REQUEST, "malformed-json", "the body is empty")
    # Parsed here once before Powertools does: its parser lets RecursionError (deep nesting) and
    # the over-long-integer ValueError escape as 500s, and it validates a JSON array as its
    # first element (a form-data convenience). Bodies are at most 64 KiB (5 MiB for a batch):
    # the cost is small.
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return None  # Powertools answers 400 with the position of the error
    except (ValueError, RecursionError):
        return problems.problem(
            HTTPStatus.BAD_REQUEST,
            "malformed-json",
            "the body cannot be read as JSON: nesting too deep or a number too long",
        )
    if not isinstance(document, dict):
        return problems.problem(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid-request",
            "the request has invalid fields",
            errors=[FieldError(field="body", message="must be a JSON object")],
        )
    return None
