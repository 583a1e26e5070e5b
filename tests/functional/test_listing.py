"""GET /calls: every filter served by an index, newest first, paged by signed cursors, each call
on exactly one page even while calls change status."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from esms_calls import dependencies
from esms_calls.domain.batches import Batch
from esms_calls.domain.calls import Call, CallSpec, CallStatus
from tests.support import events
from tests.support.callbacks import appended, callback_event, report_query
from tests.support.dynamodb_requests import counting_requests
from tests.support.fake_esms import body_of

NOW = datetime.now(UTC)


def record(
    *,
    phone: str = "0912345678",
    created_at: datetime | None = None,
    request_id: str | None = None,
    batch_id: str | None = None,
) -> str:
    """A call recorded as POST /calls records it, at a chosen time."""
    moment = created_at or datetime.now(UTC)
    call = Call(
        call_id=uuid.uuid4().hex,
        request_id=request_id or f"req-{uuid.uuid4().hex[:12]}",
        spec=CallSpec(phone=phone, template_id="123"),
        status=CallStatus.PENDING,
        created_at=moment,
        updated_at=moment,
        batch_id=batch_id,
    )
    epoch = int(moment.timestamp())
    dependencies.root().calls_repository.open_call(
        call,
        payload_hash=uuid.uuid4().hex,
        binding_expires_at=epoch + 86400,
        check_after=epoch + 900,
        expires_at=epoch + 90 * 86400,
    )
    return call.call_id


def open_batch(batch_id: str, total: int) -> None:
    now = datetime.now(UTC)
    batch = Batch(batch_id=batch_id, name=None, created_at=now, total=total,
                  entries_digest="d", answer={}, enqueued=True)  # fmt: skip
    dependencies.root().batch_repository.open(batch, expires_at=int(now.timestamp()) + 3600)


def listed(invoke_calls: Any, query: dict[str, str]) -> dict[str, Any]:
    response = invoke_calls(events.list_calls(query))
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def every_page(invoke_calls: Any, query: dict[str, str], between=None) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = listed(invoke_calls, {**query, **({"cursor": cursor} if cursor else {})})
        pages.append([item["call_id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if between:
            between(len(pages))
        if not cursor:
            return pages


def test_calls_are_listed_newest_first_from_the_last_24_hours(invoke_calls, esms) -> None:
    # Given calls made over the last two days
    older = record(created_at=NOW - timedelta(hours=30))
    ids = [record(created_at=NOW - timedelta(minutes=m)) for m in (50, 40, 30)]
    # When the calls are listed without a filter
    page = listed(invoke_calls, {})
    # Then the last 24 h come, newest first, with the GET /calls/{call_id} body
    assert [item["call_id"] for item in page["items"]] == ids[::-1]
    assert older not in [item["call_id"] for item in page["items"]]
    assert page["items"][0]["status"] == "PENDING" and page["items"][0]["phone"] == "0912345678"
    assert page["next_cursor"] is None


def test_request_id_finds_its_call_however_old(invoke_calls, esms) -> None:
    wanted = record(request_id="order-77-reminder", created_at=NOW - timedelta(days=40))
    record(request_id="order-78-reminder")
    page = listed(invoke_calls, {"request_id": "order-77-reminder"})
    assert [item["call_id"] for item in page["items"]] == [wanted]


def test_any_spelling_of_a_phone_number_finds_the_same_calls(invoke_calls, esms) -> None:
    mine = [record(phone="0987654321", created_at=NOW - timedelta(days=d)) for d in (3, 2, 1)]
    record(phone="0912000111")
    for spelling in ("0987654321", "+84 987 654 321", "84987654321"):
        page = listed(invoke_calls, {"phone": spelling})
        assert [item["call_id"] for item in page["items"]] == mine[::-1]


def test_batch_id_lists_only_that_batchs_calls(invoke_calls, esms) -> None:
    mine = [record(batch_id="camp-1") for _ in range(3)]
    record(batch_id="camp-2")
    record()
    page = listed(invoke_calls, {"batch_id": "camp-1"})
    assert sorted(item["call_id"] for item in page["items"]) == sorted(mine)


def test_status_filter_takes_one_or_several_statuses(invoke_calls, invoke_callback, esms) -> None:
    # Given three placed calls, one of them completed
    placed = [
        body_of(invoke_calls(events.post_calls({"phone": f"091234567{i}", "template_id": "1"})))
        for i in range(3)
    ]
    complete(invoke_callback, esms, placed, 0)
    # When listed by status
    completed = listed(invoke_calls, {"status": "COMPLETED"})["items"]
    either = listed(invoke_calls, {"status": "COMPLETED,accepted"})["items"]
    # Then
    assert [item["call_id"] for item in completed] == [placed[0]["call_id"]]
    assert len(either) == 3


def test_from_and_to_bound_created_at_in_vietnam_time_when_naive(invoke_calls, esms) -> None:
    base = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
    ids = [record(created_at=base + timedelta(hours=h)) for h in range(5)]
    page = listed(invoke_calls, {"from": "2026-11-20T10:00:00", "to": "2026-11-20T12:00:00"})
    assert [item["call_id"] for item in page["items"]] == ids[1:4][::-1]
    # A window spanning UTC days reads each day's partition
    spanning = [record(created_at=base - timedelta(days=d)) for d in (3, 2, 1)]
    page = listed(invoke_calls, {"from": "2026-11-16T00:00:00Z", "to": "2026-11-20T02:00:00Z"})
    assert [item["call_id"] for item in page["items"]] == [ids[0], *spanning[::-1]]


def test_filters_combine_with_and(invoke_calls, esms) -> None:
    mine = record(phone="0977000111", batch_id="camp-and")
    record(phone="0977000111")
    record(phone="0977000222", batch_id="camp-and")
    page = listed(invoke_calls, {"phone": "0977000111", "batch_id": "camp-and"})
    assert [item["call_id"] for item in page["items"]] == [mine]


def test_a_window_over_31_days_is_refused_unless_a_filter_narrows_it(invoke_calls, esms) -> None:
    wide = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-05T00:00:00Z"}
    refused = invoke_calls(events.list_calls(wide))
    assert refused["statusCode"] == 422
    assert [e["field"] for e in body_of(refused)["errors"]] == ["from"]
    for narrowing in ({"phone": "0912345678"}, {"request_id": "r-1"}, {"batch_id": "b-1"}):
        assert invoke_calls(events.list_calls({**wide, **narrowing}))["statusCode"] == 200
    # 31 days exactly is allowed, and a backwards window is not
    month = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    assert invoke_calls(events.list_calls(month))["statusCode"] == 200
    backwards = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    assert invoke_calls(events.list_calls(backwards))["statusCode"] == 422


def test_every_bad_parameter_is_reported_at_once(invoke_calls, esms) -> None:
    query = {
        "phone": "12",
        "status": "DONE",
        "limit": "101",
        "from": "yesterday",
        "batch_id": "x" * 37,
    }
    response = invoke_calls(events.list_calls(query))
    assert response["statusCode"] == 422
    fields = sorted(error["field"] for error in body_of(response)["errors"])
    assert fields == ["batch_id", "from", "limit", "phone", "status"]
    assert invoke_calls(events.list_calls({"limit": "0"}))["statusCode"] == 422


def test_pages_hold_each_call_exactly_once_while_calls_change_status(
    invoke_calls, invoke_callback, esms
) -> None:
    # Given 11 placed calls
    placed = [
        body_of(invoke_calls(events.post_calls({"phone": f"09123000{i:02d}", "template_id": "1"})))
        for i in range(11)
    ]

    # When they are paged 3 at a time while, between pages, calls move on to COMPLETED
    def progress(page_number: int) -> None:
        for index in (page_number - 1, 10 - page_number):
            complete(invoke_callback, esms, placed, index)

    pages = every_page(invoke_calls, {"limit": "3"}, between=progress)
    # Then every call is on exactly one page, in order, newest first
    listed_ids = [call_id for page in pages for call_id in page]
    assert listed_ids == [call["call_id"] for call in placed][::-1]
    assert [len(page) for page in pages][:3] == [3, 3, 3]


def test_a_status_filtered_listing_pages_through_sparse_matches(
    invoke_calls, invoke_callback, esms
) -> None:
    placed = [
        body_of(invoke_calls(events.post_calls({"phone": f"09124000{i:02d}", "template_id": "1"})))
        for i in range(12)
    ]
    for index in (1, 6, 11):
        complete(invoke_callback, esms, placed, index)
    pages = every_page(invoke_calls, {"status": "COMPLETED", "limit": "2"})
    assert sorted(len(page) for page in pages if page) == [1, 2]
    assert len({call_id for page in pages for call_id in page}) == 3


def test_a_page_costs_one_query_and_one_batch_read(invoke_calls, esms) -> None:
    for _ in range(5):
        record()
    with counting_requests() as requests:
        listed(invoke_calls, {"limit": "5"})
    assert requests.by_operation == {"Query": 1, "BatchGetItem": 1}


@pytest.mark.parametrize(
    "tamper",
    [
        lambda cursor: cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),
        lambda cursor: _resigned_payload(cursor),
        lambda cursor: "not-a-cursor",
        lambda cursor: "é.é",
        lambda cursor: "a.b.c",
        lambda cursor: "x" * 5000,
    ],
    ids=["signature", "payload", "garbage", "non-ascii", "parts", "huge"],
)
def test_a_tampered_cursor_is_a_400_problem(invoke_calls, esms, tamper) -> None:
    for _ in range(3):
        record()
    cursor = listed(invoke_calls, {"limit": "1"})["next_cursor"]
    response = invoke_calls(events.list_calls({"limit": "1", "cursor": tamper(cursor)}))
    assert response["statusCode"] in (400, 422)
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert body_of(response)["status"] == response["statusCode"]


def _resigned_payload(cursor: str) -> str:
    payload, signature = cursor.split(".")
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    altered = base64.urlsafe_b64encode(data.replace(b'"calls"', b'"other"')).rstrip(b"=")
    return f"{altered.decode()}.{signature}"


def test_a_cursor_of_other_filters_or_another_listing_is_refused(invoke_calls, esms) -> None:
    open_batch("camp-cursor", total=3)
    for _ in range(3):
        record(phone="0966000111", batch_id="camp-cursor")
    by_phone = listed(invoke_calls, {"phone": "0966000111", "limit": "1"})["next_cursor"]
    # Other filters
    response = invoke_calls(
        events.list_calls({"phone": "0966000222", "limit": "1", "cursor": by_phone})
    )
    assert response["statusCode"] == 400
    assert body_of(response)["type"].endswith("invalid-cursor")
    # Another listing: a GET /calls cursor on a batch's calls, and back
    batch_cursor = body_of(invoke_calls(events.list_batch_calls("camp-cursor", {"limit": "1"})))[
        "next_cursor"
    ]
    assert batch_cursor
    other = invoke_calls(
        events.list_calls({"batch_id": "camp-cursor", "limit": "1", "cursor": batch_cursor})
    )
    assert other["statusCode"] == 400
    # The same filters take it, and another page size is fine
    same = invoke_calls(
        events.list_calls({"phone": "0966000111", "limit": "2", "cursor": by_phone})
    )
    assert same["statusCode"] == 200 and len(body_of(same)["items"]) == 2


def test_a_cursor_signed_with_another_deployments_key_is_refused(
    invoke_calls, esms, monkeypatch
) -> None:
    for _ in range(2):
        record()
    cursor = listed(invoke_calls, {"limit": "1"})["next_cursor"]
    monkeypatch.setenv("CALLBACK_SIGNING_KEY", "another-deployments-key")
    dependencies.reset()
    response = invoke_calls(events.list_calls({"limit": "1", "cursor": cursor}))
    assert response["statusCode"] == 400


def complete(invoke_callback: Any, esms: Any, placed: list[dict[str, Any]], index: int) -> None:
    """The provider's final callback for the index-th call placed."""
    request = esms.calls[index]
    assert request["RequestID"] == placed[index]["request_id"]
    url = appended(request["CallbackUrl"], report_query(placed[index]["sms_id"], send_status=5))
    assert invoke_callback(callback_event(url))["statusCode"] == 200
