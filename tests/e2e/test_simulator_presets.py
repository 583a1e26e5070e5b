"""The simulator's well-known numbers and its clock, through the local stack as a newcomer uses
them: the README's table of numbers is what each call gets."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from esms_simulator import PRESETS
from tests.e2e.stack import RunningStack, local_stack, wait_for

pytestmark = pytest.mark.e2e

JSON = {"Content-Type": "application/json"}
SETTLE_SECONDS = 30.0  # the lost-callback number waits for a reconciliation run


@pytest.fixture(scope="module")
def preset_stack() -> Iterator[RunningStack]:
    # Reconciliation every second, for calls a second old: the lost callbacks settle quickly.
    with local_stack(
        "--reconcile-every", "1", "--reconcile-after", "1", "--simulator-delays", "0.1"
    ) as running:
        yield running


@pytest.fixture
def api(preset_stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=preset_stack.url, timeout=35) as client:
        yield client


def place(api: httpx.Client, phone: str, **fields: Any) -> httpx.Response:
    body = {"phone": phone, "template_id": "welcome-1", "request_id": uuid.uuid4().hex, **fields}
    return api.post("/calls", content=json.dumps(body), headers=JSON)


def final(api: httpx.Client, call_id: str) -> dict[str, Any] | None:
    record: dict[str, Any] = api.get(f"/calls/{call_id}").json()
    return record if record["status"] in ("COMPLETED", "FAILED", "EXPIRED") else None


def phone_of(outcome: str) -> str:
    return next(preset.phone for preset in PRESETS if preset.outcome.startswith(outcome))


# (number, what POST /calls answers, the call's final result as GET shows it)
SETTLED = [
    ("answered, key 1", {"call_status": "ANSWERED", "ivr": "1", "duration_seconds": 13}, 3),
    ("no answer", {"call_status": "NO_ANSWER", "duration_seconds": 0}, 3),
    ("carrier failure", {"call_status": "UNKNOWN", "sent_result": 0}, 3),
    ("answered, after the provider took", {"call_status": "ANSWERED"}, 3),
    ("answered, every callback lost", {"call_status": "ANSWERED", "send_status": 5}, 0),
    ("answered, key 9", {"call_status": "ANSWERED", "ivr": "9"}, 3),
]


@pytest.mark.parametrize(("outcome", "result", "callbacks"), SETTLED)
def test_each_outcome_number_gives_its_outcome(
    api: httpx.Client, outcome: str, result: dict[str, Any], callbacks: int
) -> None:
    # Given the number the README lists for this outcome
    phone = phone_of(outcome)

    # When a call to it is placed
    started = time.monotonic()
    answer = place(api, phone)
    answered_after = time.monotonic() - started

    # Then it is accepted, and ends with that outcome
    assert answer.status_code == 202, answer.text
    if "provider took" in outcome:
        assert answered_after >= 4.5, answered_after

    def settled() -> dict[str, Any] | None:
        # Final, and every callback in: on a loaded machine an earlier callback can be re-sent
        # after the final one arrived (and is counted then, as a late one).
        record = final(api, answer.json()["call_id"])
        return record if record and record["callbacks_received"] >= callbacks else None

    record = wait_for(settled, timeout=SETTLE_SECONDS)
    assert record, api.get(f"/calls/{answer.json()['call_id']}").text
    assert record["status"] == "COMPLETED"
    assert record["result"].items() >= result.items(), record["result"]
    assert record["callbacks_received"] == callbacks


REFUSALS = [
    *((code, 422) for code in ("99", "104", "106", "108", "120")),
    *((code, 502) for code in ("101", "102", "103", "140")),
    *((code, 409) for code in ("124", "199")),
]


@pytest.mark.parametrize(("code", "status"), REFUSALS)
def test_each_refusal_number_is_refused_with_its_code(
    api: httpx.Client, code: str, status: int
) -> None:
    # Given the number ending in the refusal code
    phone = phone_of(f"refused with code {code}")
    assert phone.endswith(code.zfill(3))

    # When a call to it is placed
    answer = place(api, phone)

    # Then the provider's code comes back, with the refused call's record
    assert answer.status_code == status, answer.text
    problem = answer.json()
    assert problem["esms_code"] == code
    assert answer.headers["Location"] == f"/calls/{problem['call_id']}"
    record = api.get(f"/calls/{problem['call_id']}").json()
    assert (record["status"], record["esms_code"]) == ("FAILED", code)


def test_a_call_for_tomorrow_completes_once_the_simulator_clock_moves_a_day(
    api: httpx.Client, preset_stack: RunningStack
) -> None:
    # Given a call booked for tomorrow
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    answer = place(api, "0912345670", send_at=tomorrow.isoformat())
    assert answer.status_code == 202, answer.text
    call_id = answer.json()["call_id"]
    waiting = wait_for(lambda: api.get(f"/calls/{call_id}").json()["status"] == "WAITING",
                       timeout=10)  # fmt: skip
    assert waiting, api.get(f"/calls/{call_id}").text
    time.sleep(1.0)  # a simulator that ignored the date would have finished by now
    assert api.get(f"/calls/{call_id}").json()["status"] == "WAITING"

    # When the simulator's clock moves a day forward (its admin address on the API's port)
    moved = api.post("/_simulator/clock", json={"by": "1d"})
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["now"]) >= tomorrow

    # Then the call plays out and completes
    record = wait_for(lambda: final(api, call_id), timeout=15)
    assert record, api.get(f"/calls/{call_id}").text
    assert (record["status"], record["result"]["call_status"]) == ("COMPLETED", "ANSWERED")
    assert record["callbacks_received"] == 3


def test_the_clock_never_moves_back_and_says_why(api: httpx.Client) -> None:
    # When someone tries to move the simulator's clock backwards, Then it refuses, saying why
    answer = api.post("/_simulator/clock", json={"by": "-1h"})
    assert answer.status_code == 400
    assert "forward" in answer.json()["error"]
