"""POST /batches, GET /batches/{batch_id} and its calls: idempotent by batch id, fanned out
through the calls queue, summaries exact under repeated, shuffled and failed callbacks."""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from decimal import Decimal
from typing import Any

import pytest

from esms_calls.errors import QueueUnavailable
from esms_calls.storage.calls_queue import CallsQueue as QueueAdapter
from tests.support import events
from tests.support.callbacks import appended, callback_event, report_query
from tests.support.dynamodb_requests import counting_requests, dynamodb_fails
from tests.support.fake_esms import FakeEsms, body_of, refuse
from tests.support.queues import CallsQueue, drain
from tests.support.triggers import TODAY, new_schedule, phones, rule_event, scheduled

Invoke = Any


def new_batch_id() -> str:
    return f"camp-{uuid.uuid4().hex[:12]}"


def post(invoke_calls: Invoke, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    return invoke_calls(events.post_batches(body, headers=headers or None))


def summary_of(invoke_calls: Invoke, batch_id: str) -> dict[str, Any]:
    response = invoke_calls(events.get_batch(batch_id))
    assert response["statusCode"] == 200, response["body"]
    return body_of(response)


def test_a_batch_of_numbers_is_accepted_and_each_call_placed_once(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given bare numbers taking the defaults, an entry of its own and two invalid ones
    batch_id = new_batch_id()
    body = {
        "calls": [
            "0912000001",
            "+84 912 000 002",
            {"phone": "0912000003", "template_id": "9"},
            "12345",
            {"phone": "0912000004", "request_id": "mine"},
        ],
        "defaults": {"template_id": "123"},
        "name": "tomorrow's reminders",
    }
    # When it is posted
    response = post(invoke_calls, body, **{"Idempotency-Key": batch_id})
    # Then the valid entries are accepted and the invalid ones reported by index
    assert response["statusCode"] == 202
    assert response["headers"]["Location"] == f"/batches/{batch_id}"
    answer = body_of(response)
    assert answer["batch_id"] == batch_id and answer["accepted"] == 3
    assert [entry["index"] for entry in answer["invalid"]] == [3, 4]
    assert [e["field"] for e in answer["invalid"][0]["errors"]] == ["phone"]
    assert "phone" not in answer["invalid"][0]  # the masked number stays in the logs
    # And nothing is placed before the queue's consumers place it, each call once
    assert esms.calls == []
    drain(calls_queue, invoke_calls)
    placed = {call["RequestID"]: call for call in esms.calls}
    assert sorted(placed) == [f"batch:{batch_id}:{i}" for i in range(3)]
    assert placed[f"batch:{batch_id}:2"]["TemplateId"] == "9"
    assert placed[f"batch:{batch_id}:1"]["Phone"] == "0912000002"
    # And the summary counts them
    summary = summary_of(invoke_calls, batch_id)
    assert summary["name"] == "tomorrow's reminders"
    assert (summary["total"], summary["placed"], summary["finished"]) == (3, 3, False)
    assert summary["by_status"]["ACCEPTED"] == 3


def test_a_replay_gives_the_same_answer_and_places_nothing_again(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    batch_id = new_batch_id()
    body = {"calls": phones(4), "defaults": {"template_id": "1"}, "batch_id": batch_id}
    first = post(invoke_calls, body)
    drain(calls_queue, invoke_calls)
    # When the same batch is posted again (by header this time, same id)
    again = post(
        invoke_calls,
        {k: v for k, v in body.items() if k != "batch_id"},
        **{"Idempotency-Key": batch_id},
    )
    # Then the same answer, marked replayed, and nothing queued or placed again
    assert again["statusCode"] == 202 and body_of(again) == body_of(first)
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert calls_queue.depth() == 0 and len(esms.calls) == 4
    # Numbers spelled otherwise are the same entries
    respelled = {**body, "calls": [f"+84 {p[1:]}" for p in phones(4)]}
    assert body_of(post(invoke_calls, respelled)) == body_of(first)


def test_the_same_batch_id_with_other_entries_is_422(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    batch_id = new_batch_id()
    post(invoke_calls, {"calls": phones(2), "defaults": {"template_id": "1"}, "batch_id": batch_id})
    other = post(
        invoke_calls, {"calls": phones(3), "defaults": {"template_id": "1"}, "batch_id": batch_id}
    )
    assert other["statusCode"] == 422
    assert body_of(other)["type"].endswith("batch-id-reused")


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        ({"calls": ["0912000001"], "batch_id": "a" * 37}, {}, "batch_id"),
        ({"calls": ["0912000001"], "batch_id": "b-1"}, {"Idempotency-Key": "b-2"}, "batch_id"),
        ({"calls": ["0912000001"]}, {"Idempotency-Key": "has space"}, "Idempotency-Key"),
        ({"calls": []}, {}, "calls"),
        ({"calls": ["0912000001"], "defaults": {"request_id": "x"}}, {}, "defaults"),
        ({"calls": ["0912000001"], "extra": 1}, {}, "extra"),
    ],
    ids=["long-id", "two-ids", "bad-header", "empty", "request-id-default", "unknown-field"],
)
def test_a_batch_that_cannot_be_read_is_422_naming_the_field(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue, body, headers, field
) -> None:
    response = post(invoke_calls, body, **headers)
    assert response["statusCode"] == 422
    assert field in [error["field"] for error in body_of(response)["errors"]]
    assert calls_queue.depth() == 0


def test_10000_entries_are_accepted_in_one_request_and_over_10000_refused(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given 10,000 bare numbers (about 140 KB of JSON; over the 64 KiB of POST /calls)
    batch_id = new_batch_id()
    body = {"calls": phones(10_000), "defaults": {"template_id": "1"}, "batch_id": batch_id}
    # When posted
    with counting_requests() as requests:
        response = post(invoke_calls, body)
    # Then all are accepted with a bounded number of storage requests, a hundred calls to a
    # message (the queue's consumer fans each chunk out into one message per call)
    assert response["statusCode"] == 202, response["body"]
    assert body_of(response)["accepted"] == 10_000 and body_of(response)["invalid"] == []
    assert requests.by_operation == {"PutItem": 1, "UpdateItem": 1}
    chunks = [json.loads(message) for message in calls_queue.bodies()]
    orders = [order for chunk in chunks for order in chunk["orders"]]
    assert len(chunks) == 100
    assert sorted(order["index"] for order in orders) == list(range(10_000))
    assert {order["request_id"] for order in orders} == {
        f"batch:{batch_id}:{i}" for i in range(10_000)
    }
    assert {order["batch_id"] for order in orders} == {batch_id}
    # And the summary of a batch not yet placed says so
    summary = summary_of(invoke_calls, batch_id)
    assert (summary["total"], summary["placed"], summary["finished"]) == (10_000, 0, False)
    # One more is refused whole
    over = {"calls": phones(10_001), "defaults": {"template_id": "1"}}
    assert post(invoke_calls, over)["statusCode"] == 422


def test_a_body_over_5_mib_is_413(invoke_calls, esms: FakeEsms, calls_queue: CallsQueue) -> None:
    padding = "x" * 200
    body = {"calls": [{"phone": "0912000001", "template_id": "1", "pad": padding}] * 27_000}
    response = post(invoke_calls, body)
    assert response["statusCode"] == 413


def test_a_batch_resent_after_its_queueing_failed_places_every_call_once(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the queue refuses the batch's messages after the batch was recorded
    batch_id = new_batch_id()
    body = {"calls": phones(25), "defaults": {"template_id": "1"}, "batch_id": batch_id}
    original = QueueAdapter.send_chunks

    def half_then_fail(self: QueueAdapter, orders: Any) -> None:
        original(self, orders[:12])
        raise QueueUnavailable("injected")

    monkeypatch.setattr(QueueAdapter, "send_chunks", half_then_fail)
    failed = post(invoke_calls, body)
    assert failed["statusCode"] == 503 and failed["headers"]["Retry-After"]
    monkeypatch.setattr(QueueAdapter, "send_chunks", original)
    # When the caller sends the batch again
    again = post(invoke_calls, body)
    # Then it is accepted, and once the queue is worked every call is placed exactly once
    assert again["statusCode"] == 202 and body_of(again)["accepted"] == 25
    drain(calls_queue, invoke_calls)
    request_ids = [call["RequestID"] for call in esms.calls]
    assert sorted(request_ids) == sorted(f"batch:{batch_id}:{i}" for i in range(25))
    # And a third time is a plain replay
    third = post(invoke_calls, body)
    assert third["headers"]["Idempotent-Replayed"] == "true" and calls_queue.depth() == 0


def test_the_summary_is_exact_under_repeated_shuffled_and_failed_callbacks(
    invoke_calls, invoke_callback, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given a batch of 12 calls: 2 refused by the provider, the others placed
    batch_id = new_batch_id()
    esms.then(refuse("108", "bad number"), refuse("99", "blocked"))
    post(
        invoke_calls, {"calls": phones(12), "defaults": {"template_id": "1"}, "batch_id": batch_id}
    )
    drain(calls_queue, invoke_calls)
    accepted = [body_of(invoke_calls(events.list_batch_calls(batch_id, {"status": "ACCEPTED"})))]
    placed = accepted[0]["items"]
    assert len(placed) == 10
    urls = {call["RequestID"]: call["CallbackUrl"] for call in esms.calls}
    # And each call's callbacks (2, 7, then final) sent 1-3 times each, shuffled
    rng = random.Random(20261201)
    truth = {"ANSWERED": 0, "NO_ANSWER": 0, "UNKNOWN": 0}
    keys: dict[str, int] = {}
    cost = Decimal(0)
    deliveries: list[str] = []
    for n, call in enumerate(placed):
        outcome = ("ANSWERED", "NO ANSWER", "")[n % 3]
        price = f"{(n + 1) * 150}.5000" if outcome == "ANSWERED" else "0.0000"
        ivr = str(n % 2 + 1) if outcome == "ANSWERED" else ""
        truth[{"ANSWERED": "ANSWERED", "NO ANSWER": "NO_ANSWER", "": "UNKNOWN"}[outcome]] += 1
        if ivr:
            keys[ivr] = keys.get(ivr, 0) + 1
        cost += Decimal(price)
        for send_status in (2, 7, 5):
            query = report_query(
                call["sms_id"], send_status=send_status, CallStatus=outcome, Price=price, Ivr=ivr
            )
            deliveries += [appended(urls[call["request_id"]], query)] * rng.randint(1, 3)
    rng.shuffle(deliveries)
    # When they arrive, every fourth write failing (the provider then re-sends it)
    for number, url in enumerate(deliveries):
        if number % 4 == 0:
            with dynamodb_fails("UpdateItem", "InternalServerError"):
                assert invoke_callback(callback_event(url))["statusCode"] >= 500
        assert invoke_callback(callback_event(url))["statusCode"] == 200
    # Then every count is exact
    summary = summary_of(invoke_calls, batch_id)
    assert summary["by_status"]["COMPLETED"] == 10 and summary["by_status"]["FAILED"] == 2
    assert summary["by_outcome"] == {**truth, "REFUSED": 2}
    assert summary["keys_pressed"] == dict(sorted(keys.items()))
    assert Decimal(summary["cost"]) == cost and summary["cost"] == str(cost)
    assert summary["finished"] is True and summary["finished_at"]
    assert sum(summary["by_status"].values()) == summary["placed"] == summary["total"] == 12


def test_the_whole_batch_downloads_as_csv(
    invoke_calls, invoke_callback, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    batch_id = new_batch_id()
    post(invoke_calls, {"calls": phones(3), "defaults": {"template_id": "1"}, "batch_id": batch_id})
    drain(calls_queue, invoke_calls)
    first = esms.calls[0]
    listed = body_of(invoke_calls(events.list_batch_calls(batch_id)))["items"]
    sms_id = next(c["sms_id"] for c in listed if c["request_id"] == first["RequestID"])
    url = appended(first["CallbackUrl"], report_query(sms_id, send_status=5))
    assert invoke_callback(callback_event(url))["statusCode"] == 200
    # When the batch's calls are asked for as CSV
    response = invoke_calls(events.list_batch_calls(batch_id, accept="text/csv"))
    # Then a header row and one row per call
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response["body"])))
    assert list(rows[0]) == [
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
    ]
    assert len(rows) == 3
    done = next(row for row in rows if row["request_id"] == first["RequestID"])
    assert (
        done["status"],
        done["call_status"],
        done["duration_seconds"],
        done["ivr"],
        done["price"],
    ) == ("COMPLETED", "ANSWERED", "13", "1", "300.0000")


def test_a_batchs_calls_page_as_json(invoke_calls, esms: FakeEsms, calls_queue: CallsQueue) -> None:
    batch_id = new_batch_id()
    post(invoke_calls, {"calls": phones(5), "defaults": {"template_id": "1"}, "batch_id": batch_id})
    drain(calls_queue, invoke_calls)
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = body_of(invoke_calls(events.list_batch_calls(batch_id, query)))
        seen += [item["request_id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == sorted(f"batch:{batch_id}:{i}" for i in range(5))
    assert len(seen) == 5


def test_an_unknown_batch_is_404(invoke_calls, esms: FakeEsms) -> None:
    for event in (
        events.get_batch("no-such-batch"),
        events.list_batch_calls("no-such-batch"),
        events.list_batch_calls("no-such-batch", accept="text/csv"),
        events.get_batch("bad id!"),
    ):
        response = invoke_calls(event)
        assert response["statusCode"] == 404
        assert body_of(response)["detail"] == "no such batch"


def test_a_schedule_runs_list_is_a_batch_to_follow(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given a schedule run with a list longer than the fan-out threshold
    run = scheduled(new_schedule(), TODAY, calls=phones(15), defaults={"template_id": "1"})
    # When it runs, and again (a retried invocation)
    result = invoke_calls(run)
    retried = invoke_calls(run)
    # Then its batch id is in the result and its calls are followed by GET /batches/{id}
    batch_id = result["batch_id"]
    assert batch_id.startswith("sch:") and retried["batch_id"] == batch_id
    drain(calls_queue, invoke_calls)
    summary = summary_of(invoke_calls, batch_id)
    assert (summary["total"], summary["placed"]) == (15, 15)
    assert len(esms.calls) == 15


def test_a_rule_events_list_is_a_batch(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    event = rule_event({"calls": phones(3), "defaults": {"template_id": "1"}})
    result = invoke_calls(event)
    assert result["batch_id"].startswith("evt:")
    summary = summary_of(invoke_calls, result["batch_id"])
    assert (summary["total"], summary["placed"]) == (3, 3)
    assert summary["by_status"]["ACCEPTED"] == 3
    # A single call is not a batch
    assert invoke_calls(rule_event({"phone": "0912000009", "template_id": "1"}))["batch_id"] is None


def test_the_http_samples_follow_a_batch_to_its_csv(
    invoke_calls, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given the samples in events/: a batch posted, its summary, its CSV, a search
    from tests.support.events import load_event

    posted = invoke_calls(load_event("batches_post.json"))
    assert posted["statusCode"] == 202
    assert body_of(posted)["accepted"] == 3 and body_of(posted)["invalid"][0]["index"] == 3
    drain(calls_queue, invoke_calls)
    summary = body_of(invoke_calls(load_event("batches_get.json")))
    assert summary["placed"] == 3 and summary["name"] == "delivery reminders 2026-12-02"
    csv_answer = invoke_calls(load_event("batch_calls_get_csv.json"))
    assert len(csv_answer["body"].strip().splitlines()) == 1 + 3
    found = body_of(invoke_calls(load_event("calls_list.json")))
    assert found == {"items": [], "next_cursor": None}  # nothing COMPLETED or FAILED yet
