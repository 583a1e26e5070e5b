"""The one place where errors and refusals become HTTP answers (RFC 9457 problem JSON).

Both functions' resolvers install this mapping, so it imports only what errors need: the
callback function must not load the calls API's models or the provider client to answer 403.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import BaseModel

from esms_calls.domain.provider import RefusalKind
from esms_calls.errors import (
    BatchIdBoundToOtherEntries,
    BatchNotFound,
    CallbackForbidden,
    CallNotFound,
    CallRefusedByRule,
    InvalidCallRequest,
    InvalidListingCursor,
    InvalidQueryParameters,
    NotOnDoNotCallList,
    ProviderTimeout,
    ProviderUnavailable,
    QueueUnavailable,
    RequestIdBoundToOtherPayload,
    RequestInProgress,
    StorageUnavailable,
)
from esms_calls.observability import logger
from esms_calls.requests.errors import field_of

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "urn:esms-calls:problem:"

_REFUSAL_STATUS = {
    RefusalKind.REQUEST: HTTPStatus.UNPROCESSABLE_ENTITY,
    RefusalKind.DUPLICATE: HTTPStatus.CONFLICT,
    RefusalKind.ACCOUNT: HTTPStatus.BAD_GATEWAY,
    RefusalKind.NOT_FOUND_YET: HTTPStatus.BAD_GATEWAY,
}


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    esms_code: str | None = None
    call_id: str | None = None  # a refused call's record (also its Location header)


# RFC 9110's names: Python 3.13 renamed these phrases, and titles must not depend on the runtime
# (the local stack's status lines use the same names).
_TITLES = {
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "Content Too Large",
    HTTPStatus.REQUEST_URI_TOO_LONG: "URI Too Long",
    HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE: "Range Not Satisfiable",
    HTTPStatus.UNPROCESSABLE_ENTITY: "Unprocessable Content",
}


def title_of(status: HTTPStatus) -> str:
    return _TITLES.get(status, status.phrase)


def problem(
    status: HTTPStatus,
    slug: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    esms_code: str | None = None,
    call_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    body = Problem(
        type=_TYPE_BASE + slug,
        title=title_of(status),
        status=status.value,
        detail=detail,
        errors=errors,
        esms_code=esms_code,
        call_id=call_id,
    )
    return Response(
        status_code=status.value,
        content_type=PROBLEM_JSON,
        body=body.model_dump_json(exclude_none=True),
        headers=headers,
    )


def refusal(
    kind: RefusalKind, code: str, message: str, call_id: str, headers: dict[str, str]
) -> Response[str]:
    """The provider's refusal of a call: the request's fault (422), a duplicate (409), or the
    account's or deployment's (502)."""
    return problem(
        _REFUSAL_STATUS[kind],
        "provider-refused",
        f"eSMS refused the call: {message}",
        esms_code=code,
        call_id=call_id,
        headers=headers,
    )


def method_not_allowed(allowed: tuple[str, ...]) -> Response[str]:
    return problem(
        HTTPStatus.METHOD_NOT_ALLOWED,
        "method-not-allowed",
        f"this path answers {', '.join(allowed)} only",
        headers={"Allow": ", ".join(allowed)},
    )


def _field_of(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    if loc and loc[0] == "header":
        return "Idempotency-Key" if loc[1:] == ["idempotency-key"] else ".".join(loc[1:])
    return field_of(error, skip=("body", "path"))


def _validation(exc: RequestValidationError) -> Response[str]:
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem(HTTPStatus.BAD_REQUEST, "malformed-json", "the body is not valid JSON")
    return problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "invalid-request",
        "the request has invalid fields",
        errors=[FieldError(field=_field_of(e), message=str(e.get("msg", ""))) for e in errors],
    )


def _retry_later(status: HTTPStatus, slug: str, detail: str, seconds: int) -> Response[str]:
    return problem(status, slug, detail, headers={"Retry-After": str(seconds)})


def _unsupported_media_type(_exc: Exception) -> Response[str]:
    return problem(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "send the body as JSON with Content-Type: application/json",
    )


def _invalid_call(exc: InvalidCallRequest) -> Response[str]:
    return problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "invalid-request",
        "the request has invalid fields",
        errors=[FieldError(field=exc.field, message=exc.message)],
    )


def _invalid_query(exc: InvalidQueryParameters) -> Response[str]:
    return problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "invalid-request",
        "the query has invalid parameters",
        errors=[FieldError(field=field, message=message) for field, message in exc.errors],
    )


def _invalid_cursor(_exc: Exception) -> Response[str]:
    return problem(
        HTTPStatus.BAD_REQUEST,
        "invalid-cursor",
        "the cursor is not one this listing gave for these filters: start again without it",
    )


def _other_entries(_exc: Exception) -> Response[str]:
    return problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "batch-id-reused",
        "this batch id was used for a batch with other entries; use a new batch id",
    )


def _no_batch(_exc: Exception) -> Response[str]:
    return problem(HTTPStatus.NOT_FOUND, "not-found", "no such batch")


def _other_payload(_exc: Exception) -> Response[str]:
    return problem(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "request-id-reused",
        "this request id was used within 24 h for a different call; use a new request id",
    )


def _in_flight(exc: RequestInProgress) -> Response[str]:
    return _retry_later(
        HTTPStatus.CONFLICT,
        "request-in-progress",
        "a request with this id is still being processed; retry shortly",
        exc.retry_after_seconds,
    )


def _provider_timeout(exc: ProviderTimeout) -> Response[str]:
    return _retry_later(
        HTTPStatus.GATEWAY_TIMEOUT,
        "provider-timeout",
        f"{exc}; the outcome is unknown: retry with the same request id",
        exc.retry_after_seconds,
    )


def _provider_unavailable(exc: ProviderUnavailable) -> Response[str]:
    return _retry_later(
        HTTPStatus.BAD_GATEWAY,
        "provider-unavailable",
        f"{exc}; retry with the same request id",
        exc.retry_after_seconds,
    )


def _storage(exc: StorageUnavailable) -> Response[str]:
    logger.warning("storage unavailable", extra={"error": type(exc).__name__})
    return _retry_later(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "storage-unavailable",
        "storage is unavailable; nothing was half-written: retry (the same request id)",
        exc.retry_after_seconds,
    )


def _queue(exc: QueueUnavailable) -> Response[str]:
    logger.warning("calls queue unavailable", extra={"error": type(exc).__name__})
    return _retry_later(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "queue-unavailable",
        "the calls queue is unavailable; send the same batch again (the same batch id): "
        "no call is placed twice",
        StorageUnavailable.retry_after_seconds,
    )


def _calling_rule(exc: CallRefusedByRule) -> Response[str]:
    """A calling rule forbids the call: the type's last segment names the rule
    (outside-calling-hours, frequency-capped, do-not-call). Not stored: the same request id
    may be used again once the rule allows the call."""
    return problem(HTTPStatus.UNPROCESSABLE_ENTITY, exc.rule, exc.detail)


def _not_listed(_exc: Exception) -> Response[str]:
    return problem(HTTPStatus.NOT_FOUND, "not-found", "the number is not on the do-not-call list")


def _no_call(_exc: Exception) -> Response[str]:
    return problem(HTTPStatus.NOT_FOUND, "not-found", "no such call")


def _forbidden_callback(_exc: Exception | None = None) -> Response[str]:
    return problem(HTTPStatus.FORBIDDEN, "forbidden", "this callback URL is not valid")


def _no_route(_exc: Exception) -> Response[str]:
    return problem(HTTPStatus.NOT_FOUND, "not-found", "no such route")


# Each error type of ours (and Powertools' request errors) and its answer.
_HANDLERS: list[tuple[type[Exception], Callable[[Any], Response[str]]]] = [
    (RequestValidationError, _validation),
    (RequestUnsupportedContentType, _unsupported_media_type),
    (InvalidCallRequest, _invalid_call),
    (CallRefusedByRule, _calling_rule),
    (NotOnDoNotCallList, _not_listed),
    (InvalidQueryParameters, _invalid_query),
    (InvalidListingCursor, _invalid_cursor),
    (BatchIdBoundToOtherEntries, _other_entries),
    (BatchNotFound, _no_batch),
    (RequestIdBoundToOtherPayload, _other_payload),
    (RequestInProgress, _in_flight),
    (ProviderTimeout, _provider_timeout),
    (ProviderUnavailable, _provider_unavailable),
    (StorageUnavailable, _storage),
    (QueueUnavailable, _queue),
    (CallNotFound, _no_call),
    (CallbackForbidden, _forbidden_callback),
]


def answer_for(exc: Exception) -> Response[str]:
    """The answer `register` makes the resolver give for `exc`; raises what it does not map."""
    for error_type, handler in _HANDLERS:
        if isinstance(exc, error_type):
            return handler(exc)
    raise exc


def register(app: Any, *, unknown_route: HTTPStatus = HTTPStatus.NOT_FOUND) -> None:
    """Install the mapping on a Powertools resolver. `unknown_route` FORBIDDEN: a path outside
    the routes is answered like a bad callback URL."""
    for error_type, handler in _HANDLERS:
        app.exception_handler(error_type)(handler)
    no_route = _forbidden_callback if unknown_route is HTTPStatus.FORBIDDEN else _no_route
    app.exception_handler(NotFoundError)(no_route)
