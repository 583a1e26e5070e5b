"""`GET /calls`: find calls by request id, batch, phone number, status and time, page by page."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from esms_calls import dependencies
from esms_calls.api.resolver import app, documented
from esms_calls.api.responses import CallsPageView, CallView
from esms_calls.domain.listing import CallsPage, Listing
from esms_calls.requests.listing import listing_query

# The parameters are declared for the OpenAPI document; they are read together by
# requests/listing.py, which reports every bad one at once and applies the window rule.
RequestIdParam = Annotated[str | None, Query(description="exact request id")]
BatchIdParam = Annotated[str | None, Query(description="the calls of one batch")]
PhoneParam = Annotated[str | None, Query(description="any common spelling of a Vietnamese number")]
StatusParam = Annotated[
    str | None, Query(description="one status, or several comma-separated (e.g. FAILED,EXPIRED)")
]
FromParam = Annotated[
    str | None,
    Query(
        alias="from",
        description="ISO-8601 lower bound on created_at (naive = Vietnam time); default 24 h "
        "before `to` unless request_id, batch_id or phone is given",
    ),
]
ToParam = Annotated[
    str | None, Query(description="ISO-8601 upper bound on created_at; default now")
]
LimitParam = Annotated[str | None, Query(description="1-100, default 50")]
CursorParam = Annotated[str | None, Query(description="next_cursor of the previous page")]

PAGE_RESPONSES = {
    200: {
        "description": "a page of calls, newest first",
        "content": {"application/json": {"model": CallsPageView}},
    },
    **documented(HTTPStatus.BAD_REQUEST, HTTPStatus.UNPROCESSABLE_ENTITY),
}


@app.get("/calls", summary="Find calls, newest first", responses=PAGE_RESPONSES)
def list_calls(
    request_id: RequestIdParam = None,
    batch_id: BatchIdParam = None,
    phone: PhoneParam = None,
    status: StatusParam = None,
    created_from: FromParam = None,
    to: ToParam = None,
    limit: LimitParam = None,
    cursor: CursorParam = None,
) -> Response[str]:
    calls, page_size, page_cursor = listing_query(app.current_event.query_string_parameters)
    page = dependencies.root().list_calls(Listing.CALLS, calls, limit=page_size, cursor=page_cursor)
    return page_response(page)


def page_response(page: CallsPage) -> Response[str]:
    body = CallsPageView(
        items=[CallView.of(call) for call in page.calls], next_cursor=page.next_cursor
    )
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type="application/json",
        body=body.model_dump_json(),
    )
