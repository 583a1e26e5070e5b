"""`PUT`, `GET` and `DELETE /do-not-call/{phone}`: the do-not-call list, one number at a time.
The path's number is normalised like a call's (`+84 912 345 678` and `0912345678` are one
entry); the answers never hold it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from esms_calls import dependencies
from esms_calls.api.resolver import app, documented
from esms_calls.api.responses import DoNotCallView
from esms_calls.domain.calling_rules import DoNotCallEntry
from esms_calls.domain.phone import PHONE_PATTERN
from esms_calls.requests.do_not_call import DoNotCallRequest, listed_phone

# The number in any spelling a call takes. Documented by its pattern, checked by listed_phone
# once percent-decoded: Powertools would match the pattern against the path's encoded text.
PhoneParam = Annotated[
    str, Path(description="a Vietnamese number", json_schema_extra={"pattern": PHONE_PATTERN})
]


@app.put(
    "/do-not-call/<phone>",
    summary="Put a number on the do-not-call list (or change its reason)",
    responses={
        200: {
            "description": "already listed: its reason is changed",
            "content": {"application/json": {"model": DoNotCallView}},
        },
        201: {"description": "listed", "content": {"application/json": {"model": DoNotCallView}}},
        **documented(
            HTTPStatus.BAD_REQUEST,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            HTTPStatus.UNPROCESSABLE_ENTITY,
            HTTPStatus.SERVICE_UNAVAILABLE,
        ),
    },
)
def put_on_list(phone: PhoneParam, body: Annotated[DoNotCallRequest, Body()]) -> Response[str]:
    entry, created = dependencies.root().do_not_call_list.put(listed_phone(phone), body.reason)
    return _entry(entry, HTTPStatus.CREATED if created else HTTPStatus.OK)


@app.get(
    "/do-not-call/<phone>",
    summary="Whether a number is on the do-not-call list, and why",
    responses={
        200: {"description": "listed", "content": {"application/json": {"model": DoNotCallView}}},
        **documented(
            HTTPStatus.NOT_FOUND, HTTPStatus.UNPROCESSABLE_ENTITY, HTTPStatus.SERVICE_UNAVAILABLE
        ),
    },
)
def read_entry(phone: PhoneParam) -> Response[str]:
    return _entry(dependencies.root().do_not_call_list.get(listed_phone(phone)), HTTPStatus.OK)


@app.delete(
    "/do-not-call/<phone>",
    summary="Take a number off the do-not-call list",
    responses={
        204: {"description": "taken off the list"},
        **documented(
            HTTPStatus.NOT_FOUND, HTTPStatus.UNPROCESSABLE_ENTITY, HTTPStatus.SERVICE_UNAVAILABLE
        ),
    },
)
def take_off_list(phone: PhoneParam) -> Response[str]:
    dependencies.root().do_not_call_list.delete(listed_phone(phone))
    return Response(status_code=HTTPStatus.NO_CONTENT.value, body="")


def _entry(entry: DoNotCallEntry, status: HTTPStatus) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type="application/json",
        body=DoNotCallView.of(entry).model_dump_json(),
    )
