"""Soak: hundreds of calls through the local stack while the provider repeats, reorders and
overlaps its callbacks and the receiver's storage fails one write in ten.

Every call must end exactly as the simulator decided (none lost), each distinct callback counted
once (none counted twice), whatever order the copies came in (never backward). The short run is
part of ``make test``; the full one (``make soak``, marker ``soak``) gives the figures of
docs/reliability.md.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.outcomes import (
    ANSWERED,
    CALL_STATUS,
    FAILED_CALL,
    NO_ANSWER,
    REFUSALS,
    STAGES,
    PlannedCall,
    plan_calls,
    simulator_rules,
    soak_simulator,
)
from tests.e2e.stack import RunningStack, local_stack, wait_for
from tests.e2e.traffic import Answer, SimulatorAdmin, in_parallel, latency_summary, post_call

pytestmark = pytest.mark.e2e

SHORT_RUN_CALLS = 60
FULL_RUN_CALLS = int(os.environ.get("SOAK_CALLS", "500"))
FAIL_RATIO = 0.1  # of the receiver's callback writes
FAULT_SEED = 20261127
CLIENTS = 8  # concurrent clients, each placing a call and waiting for its outcome
FOLLOW_SECONDS = 60  # how long a client waits for its call's outcome before the next one
CONCURRENCY = 4  # environments per function
DRAIN_SECONDS = 300  # for the simulator to send every callback once the calls are placed


@pytest.fixture(scope="module")
def soak_stack() -> Iterator[RunningStack]:
    with local_stack("--concurrency", str(CONCURRENCY)) as running:
        yield running


@pytest.fixture
def simulator(soak_stack: RunningStack) -> Iterator[SimulatorAdmin]:
    with soak_simulator(soak_stack) as admin:
        yield admin


def soak(
    stack: RunningStack, simulator: SimulatorAdmin, calls: int, record: Callable[..., None]
) -> None:
    # Given the simulator repeats each callback 1-6 times, in order, shuffled, reversed or all at
    # once, with outcomes chosen by the number (answered, no answer, failed, refusals)
    simulator.set_rules(simulator_rules())
    # (a receiver queueing behind its busy environments still answers: the provider's patience
    # is not what is measured here)
    simulator.settings(callback_timeout=20)
    planned = plan_calls(calls, seed=calls)
    api = httpx.Client(base_url=stack.url, timeout=35, trust_env=False,
                       limits=httpx.Limits(max_connections=CLIENTS))  # fmt: skip
    # and the receiver fails one callback write in ten (DynamoDB errors inside the handler)
    armed = api.post(
        "/_devstack/faults", json={"fail_callback_writes_ratio": FAIL_RATIO, "seed": FAULT_SEED}
    )
    assert armed.status_code == 200, armed.text
    fired_before = armed.json()["fired"]["fail_callback_writes_ratio"]
    try:
        # When concurrent clients place the calls, each waiting for its call's outcome before
        # placing the next (a closed loop: the load follows what the stack sustains)
        started = time.monotonic()

        def place(call: PlannedCall) -> Answer:
            body = {"phone": call.phone, "template_id": "soak", "request_id": call.request_id}
            answer = post_call(api, body)
            if answer.status == 202:
                url = f"/calls/{answer.body['call_id']}"
                wait_for(lambda: api.get(url).json()["status"] == "COMPLETED",
                         timeout=FOLLOW_SECONDS, interval=0.25)  # fmt: skip
            return answer

        answers = in_parallel(place, planned, workers=CLIENTS)

        # Then each is answered as its outcome says
        accepted: dict[str, tuple[PlannedCall, dict[str, Any]]] = {}
        for call, answer in zip(planned, answers, strict=True):
            if call.outcome in REFUSALS:
                code, status = REFUSALS[call.outcome]
                assert (answer.status, answer.body.get("esms_code")) == (status, code), answer
            else:
                assert answer.status == 202, answer
                accepted[answer.body["sms_id"]] = (call, answer.body)

        # And every accepted call settles: the simulator has sent everything
        idle = wait_for(lambda: simulator.wait_idle(20), timeout=DRAIN_SECONDS, interval=0)
        assert idle, "the simulator still has callbacks to send"
        sim_calls = {item["sms_id"]: item for item in simulator.calls()}
        assert set(accepted) <= set(sim_calls)

        def unsettled() -> list[str]:
            return [
                body["call_id"]
                for _, body in accepted.values()
                if api.get(f"/calls/{body['call_id']}").json()["status"] != "COMPLETED"
            ]

        wait_for(lambda: not unsettled(), timeout=30, interval=0.5)
        settled = time.monotonic()

        # Then each shows the simulator's outcome, every distinct callback counted once
        lost: list[str] = []
        doubled: list[str] = []
        attempts: list[dict[str, Any]] = []
        for sms_id, (call, body) in accepted.items():
            sim = sim_calls[sms_id]
            attempts += sim["callbacks"]
            record_ = api.get(f"/calls/{body['call_id']}").json()
            outcome = sim["outcome"]
            expected = {
                "status": "COMPLETED",
                "sms_id": sms_id,
                "call_status": CALL_STATUS[outcome["call_status"]],
                "duration_seconds": outcome["duration"],
                "price": outcome["price"],
                "sent_result": outcome["sent_result"],
                "send_status": 5,
                "ivr": outcome["ivr"] or None,
            }
            result = record_.get("result") or {}
            seen = {
                "status": record_["status"],
                "sms_id": record_["sms_id"],
                **{name: result.get(name) for name in list(expected)[2:]},
            }
            if seen != expected:
                lost.append(f"{call.phone}: {seen} != {expected}")
            distinct = {a["send_status"] for a in sim["callbacks"] if a["status_code"] == 200}
            if record_["callbacks_received"] != len(distinct):
                doubled.append(f"{call.phone}: {record_['callbacks_received']} != {len(distinct)}")
            elif distinct != set(STAGES):
                lost.append(f"{call.phone}: delivered only SendStatus {sorted(distinct)}")
        assert lost == [], lost[:5]
        assert doubled == [], doubled[:5]

        # And the faults really fired, the refused callbacks were sent again, none given up
        faults = api.get("/_devstack/faults").json()
        fired = faults["fired"]["fail_callback_writes_ratio"] - fired_before
        statuses = Counter(a["status_code"] for a in attempts)
        assert fired > 0 and statuses[503] >= fired * 0.5, (fired, statuses)
        assert set(statuses) <= {200, 503, None}, statuses
        sends = Counter((a["sms_id"], a["send_status"], a["copy"]) for a in attempts)
        delivered = {(a["sms_id"], a["send_status"], a["copy"]) for a in attempts if a["ok"]}
        assert set(sends) == delivered, "a callback was given up"
        # ...and the provider was asked once per call
        make_calls = Counter(
            r["params"].get("RequestID") for r in simulator.requests("MakeCallRecord_V2")
        )
        assert all(make_calls[call.request_id] == 1 for call in planned)

        post_ms = [answer.elapsed_ms for answer in answers]
        callback_ms = [a["elapsed_ms"] for a in attempts]
        by_outcome = Counter(
            {ANSWERED: "answered", NO_ANSWER: "no answer", FAILED_CALL: "failed"}.get(
                call.outcome, f"refused {REFUSALS.get(call.outcome, ('?',))[0]}"
            )
            for call in planned
        )
        record(
            {
                "calls": calls,
                "accepted": len(accepted),
                "outcomes": dict(sorted(by_outcome.items())),
                "lost": len(lost),
                "counted_twice": len(doubled),
                "callback_attempts": len(attempts),
                "callback_writes_failed_on_purpose": fired,
                "callback_answers": {str(k): v for k, v in sorted(statuses.items(), key=str)},
                "calls_per_second": round(calls / (settled - started), 2),
                "wall_seconds": round(settled - started, 1),
                "post_calls_ms": latency_summary(post_ms),
                "callback_route_ms": latency_summary(callback_ms),
            }
        )
    finally:
        api.delete("/_devstack/faults")
        api.close()


def test_a_short_soak_loses_nothing_and_counts_nothing_twice(
    soak_stack: RunningStack, simulator: SimulatorAdmin, figures: Callable[..., None]
) -> None:
    soak(soak_stack, simulator, SHORT_RUN_CALLS, figures)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_the_full_soak_loses_nothing_and_counts_nothing_twice(
    soak_stack: RunningStack, simulator: SimulatorAdmin, figures: Callable[..., None]
) -> None:
    soak(soak_stack, simulator, FULL_RUN_CALLS, figures)
