"""The provider's callback route: public, authenticated by the HMAC token in its path."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from esms_calls.api.problems import problem
from esms_calls.errors import StorageUnavailable
from esms_calls.observability import count, logger
from esms_calls.usecases.receive_callback import CallbackForbidden, receive_callback

app = APIGatewayHttpResolver()


@app.get("/callbacks/esms/<call_id>/<token>")
def callback(call_id: str, token: str) -> Response[str]:
    logger.append_keys(call_id=call_id)
    stored = receive_callback(call_id, token, app.current_event.raw_query_string or "")
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type="application/json",
        body=f'{{"stored": "{stored.value}"}}',
    )


@app.exception_handler(CallbackForbidden)
def _forbidden(_exc: CallbackForbidden) -> Response[str]:
    return problem(HTTPStatus.FORBIDDEN, "forbidden", "this callback URL is not valid")


@app.exception_handler(StorageUnavailable)
def _storage(_exc: StorageUnavailable) -> Response[str]:
    # Anything but 200 makes the provider send the callback again.
    count("CallbacksNotStored")
    logger.warning("callback not stored: storage unavailable")
    return problem(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "storage-unavailable",
        "not stored; send it again",
        headers={"Retry-After": str(StorageUnavailable.retry_after_seconds)},
    )


@app.exception_handler(NotFoundError)
def _not_found(_exc: NotFoundError) -> Response[str]:
    return problem(HTTPStatus.FORBIDDEN, "forbidden", "this callback URL is not valid")


def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
