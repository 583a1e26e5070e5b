"""`POST /batches`, `GET /batches/{batch_id}` (the summary) and `GET /batches/{batch_id}/calls`
(paged JSON, or the whole batch as CSV with `Accept: text/csv`)."""

from __future__ import annotations

import csv
import io
import uuid
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header

from esms_calls import dependencies
from esms_calls.api.listing_api import (
    PAGE_RESPONSES,
    CursorParam,
    LimitParam,
    StatusParam,
    page_response,
)
from esms_calls.api.resolver import app, documented
from esms_calls.api.responses import BatchAcceptedView, BatchView
from esms_calls.domain.batches import BatchCall
from esms_calls.domain.ids import BATCH_ID_PATTERN
from esms_calls.domain.listing import Listing
from esms_calls.domain.times import iso
from esms_calls.errors import InvalidCallRequest
from esms_calls.observability import logger
from esms_calls.requests.batches import PlaceBatchRequest
from esms_calls.requests.call_lists import entries_of
from esms_calls.requests.listing import listing_query
from esms_calls.usecases.place_batch import PlaceBatchCommand

CSV = "text/csv"
CSV_COLUMNS = (
    "call_id",
    "request_id",
    "phone",
    "status",
    "call_status",
    "duration_seconds",
    "ivr",
    "price",
    "created_at",
    "updated_at",
)


@app.post(
    "/batches",
    summary="Place many calls at once (up to 10,000)",
    responses={
        202: {
            "description": "recorded; the valid entries are placed through the calls queue",
            "content": {"application/json": {"model": BatchAcceptedView}},
        },
        **documented(
            HTTPStatus.BAD_REQUEST,
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            HTTPStatus.UNPROCESSABLE_ENTITY,
            HTTPStatus.SERVICE_UNAVAILABLE,
        ),
    },
)
def create_batch(
    body: Annotated[PlaceBatchRequest, Body()],
    idempotency_key: Annotated[
        str | None, Header(alias="idempotency-key", pattern=BATCH_ID_PATTERN)
    ] = None,
) -> Response[str]:
    if idempotency_key and body.batch_id and idempotency_key != body.batch_id:
        raise InvalidCallRequest("batch_id", "differs from the Idempotency-Key header")
    batch_id = idempotency_key or body.batch_id or uuid.uuid4().hex
    logger.append_keys(batch_id=batch_id)
    entries, invalid = entries_of(
        body.calls,
        body.defaults,
        own_ids="a batch's calls get request ids batch:<batch_id>:<index>: leave it out",
    )
    accepted = dependencies.root().place_batch(
        PlaceBatchCommand(batch_id=batch_id, name=body.name, entries=entries, invalid=invalid)
    )
    headers = {"Location": f"/batches/{batch_id}"}
    if accepted.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        status_code=HTTPStatus.ACCEPTED.value,
        content_type="application/json",
        body=BatchAcceptedView.model_validate(accepted.model_dump()).model_dump_json(),
        headers=headers,
    )


@app.get(
    "/batches/<batch_id>",
    summary="What became of a batch's calls: exact counts, keys pressed, cost",
    responses={
        200: {"description": "the summary", "content": {"application/json": {"model": BatchView}}},
        **documented(HTTPStatus.NOT_FOUND),
    },
)
def read_batch(batch_id: str) -> Response[str]:
    logger.append_keys(batch_id=batch_id)
    summary = dependencies.root().get_batch.summary(batch_id)
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type="application/json",
        body=BatchView.of(summary).model_dump_json(),
    )


@app.get(
    "/batches/<batch_id>/calls",
    summary="A batch's calls: paged JSON, or the whole batch as CSV (Accept: text/csv)",
    responses={
        **PAGE_RESPONSES,
        200: {
            "description": "a page of the batch's calls, newest first; with Accept: text/csv, "
            "every call of the batch, oldest first, one row each",
            "content": {
                **PAGE_RESPONSES[200]["content"],
                CSV: {"schema": {"type": "string"}},
            },
        },
        **documented(HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND, HTTPStatus.UNPROCESSABLE_ENTITY),
    },
)
def list_batch_calls(
    batch_id: str,
    status: StatusParam = None,
    limit: LimitParam = None,
    cursor: CursorParam = None,
    accept: Annotated[str | None, Header(alias="accept")] = None,
) -> Response[str]:
    logger.append_keys(batch_id=batch_id)
    root = dependencies.root()
    if accept and CSV in accept.lower():
        return _csv(batch_id, root.get_batch.calls(batch_id))
    calls, page_size, page_cursor = listing_query(
        app.current_event.query_string_parameters, batch_id=batch_id
    )
    root.get_batch.batch(batch_id)  # 404 for a batch that does not exist
    page = root.list_calls(Listing.BATCH_CALLS, calls, limit=page_size, cursor=page_cursor)
    return page_response(page)


def _csv(batch_id: str, calls: list[BatchCall]) -> Response[str]:
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for call in calls:
        result = call.result
        writer.writerow(
            [
                call.call_id,
                call.request_id,
                call.phone,
                call.status.value,
                result.call_status.value if result else "",
                ""
                if result is None or result.duration_seconds is None
                else result.duration_seconds,
                (result.ivr or "") if result else "",
                "" if result is None or result.price is None else str(result.price),
                iso(call.created_at),
                iso(call.updated_at),
            ]
        )
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=f"{CSV}; charset=utf-8",
        body=output.getvalue(),
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.csv"'},
    )
