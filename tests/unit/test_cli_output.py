"""What `esms-calls` prints: a problem as one line with exit 1, a lost connection as one line with
exit 2, the call and batch views, and watch's progress (one `\\r`-updated line on a terminal,
plain lines elsewhere)."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest

from esms_calls_cli.progress import ProgressLine
from esms_calls_cli.render import batch_progress
from tests.support.cli import FakeTty, problem, run_cli

pytestmark = pytest.mark.unit

COMPLETED_CALL = {
    "call_id": "c1", "request_id": "order-1", "status": "COMPLETED", "sms_id": "s1",
    "phone": "0912345678", "kind": "tts", "template_id": "OTP1",
    "tts": {"template_id": "OTP1", "variables": None, "variable_count": 1, "sensitive": True},
    "send_date": None, "deferred_until": None, "created_at": "2026-12-02T03:00:00.000Z",
    "updated_at": "2026-12-02T03:00:04.000Z", "esms_code": None,
    "result": {"call_status": "ANSWERED", "duration_seconds": 13, "ivr": "1", "price": "300.0000"},
    "callbacks_received": 3,
}  # fmt: skip


def batch(done: int, waiting: int, finished: bool = False) -> dict[str, Any]:
    by_status = {"PENDING": 0, "WAITING": waiting, "COMPLETED": done, "FAILED": 0}
    return {
        "batch_id": "b1", "total": done + waiting, "placed": done + waiting,
        "by_status": by_status, "by_outcome": {"ANSWERED": done, "NO_ANSWER": 0},
        "skipped": {"do-not-call": 0}, "keys_pressed": {}, "cost": f"{done * 300}.0000",
        "finished": finished,
    }  # fmt: skip


def test_a_problem_is_one_line_with_every_bad_field_and_exit_1() -> None:
    # Given the API refusing two fields
    errors = [
        {"field": "phone", "message": "must be a Vietnamese phone number"},
        {"field": "send_at", "message": "must not be in the past"},
    ]
    refusal = problem(422, "invalid-request", "the request has invalid fields", errors=errors)
    # When a call is placed
    result = run_cli("place", "--phone", "12", "--template-id", "1", answer=lambda r: refusal)
    # Then stderr holds one line naming the status, the problem type and each field; no retry
    # hint (a refusal is final) and no traceback
    assert result.code == 1 and result.stdout == ""
    assert result.stderr == (
        "error 422 invalid-request: the request has invalid fields "
        "(phone: must be a Vietnamese phone number; send_at: must not be in the past)\n"
    )


def test_a_provider_refusal_names_its_esms_code() -> None:
    refusal = problem(502, "provider-refused", "the provider refused the call", esms_code="103")
    result = run_cli("place", "--phone", "0912345678", "--template-id", "1", "--request-id", "r9",
                     answer=lambda r: refusal)  # fmt: skip
    assert result.code == 1
    assert result.stderr.splitlines() == [
        "error 502 provider-refused: the provider refused the call (eSMS code 103)",
        "retry with --request-id r9: nothing is placed twice",
    ]


def test_an_answer_that_is_not_a_problem_is_still_one_line() -> None:
    result = run_cli("get", "c1", answer=lambda r: httpx.Response(503, text="<html>busy</html>"))
    assert (result.code, result.stderr) == (1, "error 503: Service Unavailable\n")


def test_an_api_gateway_refusal_shows_its_message() -> None:
    denied = httpx.Response(403, json={"message": "User is not authorized to access this resource"})
    result = run_cli("get", "c1", answer=lambda r: denied)
    assert result.stderr == "error 403: User is not authorized to access this resource\n"


def test_no_api_at_all_is_one_line_and_exit_2() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    result = run_cli("get", "c1", answer=refused)
    assert result.code == 2
    assert result.stderr == (
        "error: cannot reach http://127.0.0.1:3000: [Errno 111] Connection refused\n"
    )


def test_get_shows_the_call_and_its_outcome() -> None:
    result = run_cli("get", "c1", answer=lambda r: httpx.Response(200, json=COMPLETED_CALL))
    assert result.stdout.splitlines() == [
        "call      c1",
        "request   order-1",
        "status    COMPLETED ANSWERED 13 s, key 1, 300.0000",
        "phone     0912345678",
        "plays     tts OTP1 (1 variable)",
        "created   2026-12-02T03:00:00.000Z",
        "updated   2026-12-02T03:00:04.000Z",
        "callbacks 3",
    ]


def test_json_prints_the_apis_own_body() -> None:
    result = run_cli(
        "--json", "get", "c1", answer=lambda r: httpx.Response(200, json=COMPLETED_CALL)
    )
    assert json.loads(result.stdout) == COMPLETED_CALL


def test_a_refused_call_in_a_listing_shows_the_providers_code() -> None:
    failed = {**COMPLETED_CALL, "call_id": "c2", "status": "FAILED", "result": None,
              "esms_code": "118", "esms_message": "Invalid VariableListStr"}  # fmt: skip
    pages = {"items": [COMPLETED_CALL, failed], "next_cursor": None}
    result = run_cli("list", answer=lambda r: httpx.Response(200, json=pages))
    assert result.stdout.splitlines() == [
        "c1  2026-12-02T03:00:00.000Z  0912345678  COMPLETED       ANSWERED 13 s, key 1, 300.0000",
        "c2  2026-12-02T03:00:00.000Z  0912345678  FAILED          "
        "eSMS code 118: Invalid VariableListStr",
    ]


def test_the_progress_line_is_rewritten_in_place_on_a_terminal() -> None:
    # Given a terminal
    tty = FakeTty()
    line = ProgressLine(tty)
    # When a batch moves from 1 of 4 finished to all 4
    line.show(batch_progress(batch(done=1, waiting=3)))
    line.show(batch_progress(batch(done=1, waiting=3)))  # unchanged: nothing written
    line.end(batch_progress(batch(done=4, waiting=0, finished=True)))
    # Then each state overwrote the last on one line, padded over the longer one, then a newline
    assert tty.getvalue() == (
        "\rbatch b1 [#####---------------] 1/4  WAITING 3 COMPLETED 1"
        "\rbatch b1 [####################] 4/4  COMPLETED 4          \n"
    )


def test_the_progress_is_plain_lines_when_not_a_terminal() -> None:
    log = io.StringIO()
    line = ProgressLine(log)
    line.show("call c1 ACCEPTED (0 callbacks)")
    line.show("call c1 ACCEPTED (0 callbacks)")
    line.end("call c1 COMPLETED (3 callbacks)")
    assert log.getvalue() == "call c1 ACCEPTED (0 callbacks)\ncall c1 COMPLETED (3 callbacks)\n"


def test_watch_follows_a_batch_to_its_end_on_a_terminal() -> None:
    # Given a batch that finishes on the third read
    states = iter([batch(0, 5), batch(2, 3), batch(5, 0, finished=True)])
    tty = FakeTty()
    # When it is watched on a terminal
    result = run_cli(
        "watch", "--batch", "b1", "--interval", "0",
        answer=lambda r: httpx.Response(200, json=next(states)), stdout=tty,
    )  # fmt: skip
    # Then the live line counted 0, 2, then 5 of 5, and the summary followed; exit 0
    assert result.code == 0 and len(result.requests) == 3
    live, *summary = result.stdout.split("\n")
    assert [part.split("]")[1].split()[0] for part in live.split("\r")[1:]] == ["0/5", "2/5", "5/5"]
    assert summary[0] == "batch b1: finished, 5/5 placed"
    assert "  outcome  ANSWERED 5" in summary and "  cost     1500.0000" in summary


def test_watch_gives_up_at_its_timeout_with_exit_3() -> None:
    # Given a call that never finishes, and a clock that moves 1 s each time it is read
    ticks = iter(range(1000))
    waiting = {**COMPLETED_CALL, "status": "WAITING", "result": None, "callbacks_received": 1}
    # When it is watched for 3 s
    result = run_cli("watch", "c1", "--timeout", "3", "--interval", "0",
                     answer=lambda r: httpx.Response(200, json=waiting),
                     clock=lambda: float(next(ticks)))  # fmt: skip
    # Then it stops after a few reads, says so on stderr, and exits 3
    assert result.code == 3 and len(result.requests) == 3
    assert result.stdout.splitlines()[-1] == "call c1 WAITING (1 callback)"
    assert result.stderr == "timed out after 3 s, not finished\n"
