"""No request path scans CallsTable: every DynamoDB request each route and trigger sends is
watched (botocore event hooks on the functions' own client), and none is a Scan."""

from __future__ import annotations

from typing import Any

from tests.support import events
from tests.support.callbacks import appended, callback_event, report_query
from tests.support.dynamodb_requests import counting_requests
from tests.support.fake_esms import FakeEsms, body_of
from tests.support.queues import CallsQueue, drain
from tests.support.triggers import TODAY, new_schedule, phones, scheduled


def test_no_route_or_trigger_sends_a_scan(
    invoke_calls: Any, invoke_callback: Any, esms: FakeEsms, calls_queue: CallsQueue
) -> None:
    # Given every path a user or a trigger can take, watched from the first request
    with counting_requests() as requests:
        placed = body_of(
            invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "1"}))
        )
        batch = {"calls": phones(15), "defaults": {"template_id": "1"}, "batch_id": "no-scan"}
        invoke_calls(events.post_batches(batch))
        invoke_calls(scheduled(new_schedule(), TODAY, calls=phones(12, start=100),
                               defaults={"template_id": "1"}))  # fmt: skip
        drain(calls_queue, invoke_calls)
        request = esms.calls[0]
        url = appended(request["CallbackUrl"], report_query(placed["sms_id"], send_status=5))
        invoke_callback(callback_event(url))
        invoke_callback({"action": "reconcile"})
        answers = [
            invoke_calls(events.get_call(placed["call_id"])),
            invoke_calls(events.list_calls()),
            invoke_calls(events.list_calls({"status": "COMPLETED,ACCEPTED", "limit": "5"})),
            invoke_calls(events.list_calls({"phone": "+84 912 345 678"})),
            invoke_calls(events.list_calls({"request_id": placed["request_id"]})),
            invoke_calls(events.list_calls({"batch_id": "no-scan"})),
            invoke_calls(events.get_batch("no-scan")),
            invoke_calls(events.list_batch_calls("no-scan", {"limit": "3"})),
            invoke_calls(events.list_batch_calls("no-scan", accept="text/csv")),
        ]
    # Then each answered, and not one request was a Scan
    assert [answer["statusCode"] for answer in answers] == [200] * len(answers)
    assert "Scan" not in requests.by_operation
    assert set(requests.by_operation) <= {
        "GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem",
        "TransactWriteItems",
    }  # fmt: skip
    assert requests.by_operation["Query"] >= 8
