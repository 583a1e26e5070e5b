"""The calling rules on the local stack as a user drives it: a callee presses an advertising
call's opt-out key, the provider sends that callback three times, the number is listed once,
and the next advertising call to it is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.stack import RunningStack, local_stack, wait_for
from tests.e2e.traffic import SimulatorAdmin

pytestmark = pytest.mark.e2e

OPT_OUT_KEY = "9"
OPTED_OUT_LINE = "callee opted out by key press"


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    # Advertising hours all day: the test runs whatever the time in Vietnam.
    overrides = {"PARAMETER_OVERRIDES": "AdvertisingHours=00:00-24:00"}
    with local_stack("--simulator-delays", "0.05", env=overrides) as running:
        yield running


@pytest.fixture
def api(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=35) as client:
        yield client


def advertising_call(api: httpx.Client, phone: str, **fields: Any) -> httpx.Response:
    body = {
        "phone": phone,
        "template_id": "promo-1",
        "purpose": "advertising",
        "request_id": uuid.uuid4().hex,
        **fields,
    }
    return api.post("/calls", json=body)


def test_an_opt_out_key_pressed_lists_the_number_once_and_stops_the_next_advertising_call(
    api: httpx.Client, stack: RunningStack
) -> None:
    # Given a callee who presses 9, and a provider that sends each callback three times
    phone = f"09{uuid.uuid4().int % 10**8:08d}"
    with SimulatorAdmin(stack.simulator_url) as simulator:
        simulator.add_rule({"phone": phone, "ivr": OPT_OUT_KEY, "duplicates": 3})

        # When an advertising call with opt-out key 9 is placed to them
        placed = advertising_call(api, phone, opt_out_key=OPT_OUT_KEY)
        assert placed.status_code == 202, placed.text
        sms_id = placed.json()["sms_id"]

        # Then every copy of every callback is delivered (2, 7, 5, three times each)
        delivered = wait_for(lambda: len(simulator.callbacks(sms_id)) >= 9, timeout=20)
        assert delivered, simulator.callbacks(sms_id)
        assert simulator.wait_idle(timeout=20)

    # And the number is on the do-not-call list, by key press, once
    entry = api.get(f"/do-not-call/{phone}")
    assert entry.status_code == 200, entry.text
    assert entry.json()["source"] == "key-press"
    assert entry.json()["call_id"] == placed.json()["call_id"]
    assert stack.output().count(OPTED_OUT_LINE) == 1, stack.output()

    # And the next advertising call to it is refused
    refused = advertising_call(api, phone)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("do-not-call")
    # And no line the stack wrote (functions, access lines, simulator) holds the whole number
    assert phone[1:] not in stack.output()
