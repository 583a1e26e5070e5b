"""A 200-call batch through the local stack while the simulator repeats (1-6 copies), shuffles
and overlaps its callbacks and the receiver's storage fails one callback write in ten: the
batch's summary must equal, count for count, what the simulator's own record says happened,
and its CSV must hold one row per call."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.outcomes import CALL_STATUS, plan_calls, simulator_rules, soak_simulator
from tests.e2e.stack import RunningStack, local_stack, wait_for
from tests.e2e.traffic import SimulatorAdmin

pytestmark = pytest.mark.e2e

BATCH_CALLS = 200
FAIL_RATIO = 0.1
FAULT_SEED = 20261202
FINISH_SECONDS = 600


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with local_stack("--concurrency", "4") as running:
        yield running


@pytest.fixture
def simulator(stack: RunningStack) -> Iterator[SimulatorAdmin]:
    with soak_simulator(stack) as admin:
        yield admin


def truth_of(simulator: SimulatorAdmin, batch_id: str) -> dict[str, Any]:
    """What the simulator says became of the batch's calls: refused at MakeCall, or called
    with the outcome it chose."""
    prefix = f"batch:{batch_id}:"
    answers = {
        request["params"].get("RequestID"): request["code"]
        for request in simulator.requests("MakeCallRecord_V2")
        if str(request["params"].get("RequestID", "")).startswith(prefix)
    }
    accepted = [c for c in simulator.calls() if str(c["request_id"]).startswith(prefix)]
    outcomes = Counter(CALL_STATUS[call["outcome"]["call_status"]] for call in accepted)
    keys = Counter(call["outcome"]["ivr"] for call in accepted if call["outcome"]["ivr"])
    cost = sum(
        (Decimal(call["outcome"]["price"]) for call in accepted if call["outcome"]["price"]),
        Decimal(0),
    )
    refused = sum(1 for code in answers.values() if code != "100")
    return {
        "requests": len(answers),
        "by_outcome": {
            "ANSWERED": outcomes["ANSWERED"],
            "NO_ANSWER": outcomes["NO_ANSWER"],
            "UNKNOWN": outcomes["UNKNOWN"],
            "REFUSED": refused,
        },
        "completed": len(accepted),
        "keys_pressed": dict(sorted(keys.items())),
        "cost": cost,
        "by_request_id": {call["request_id"]: call for call in accepted},
    }


@pytest.mark.timeout(900)
def test_a_200_call_batch_ends_with_a_summary_equal_to_the_truth(
    stack: RunningStack, simulator: SimulatorAdmin, figures: Callable[..., None]
) -> None:
    # Given the simulator's soak rules (outcome, copies and order chosen by the number's digits)
    simulator.set_rules(simulator_rules())
    planned = plan_calls(BATCH_CALLS, seed=BATCH_CALLS)
    batch_id = f"e2e-{uuid.uuid4().hex[:12]}"
    api = httpx.Client(base_url=stack.url, timeout=35, trust_env=False)
    # and the receiver failing one callback write in ten
    armed = api.post(
        "/_devstack/faults", json={"fail_callback_writes_ratio": FAIL_RATIO, "seed": FAULT_SEED}
    )
    assert armed.status_code == 200, armed.text
    fired_before = armed.json()["fired"]["fail_callback_writes_ratio"]
    try:
        # When the numbers are posted as one batch
        body = {
            "calls": [call.phone for call in planned],
            "defaults": {"template_id": "soak"},
            "name": "e2e batch",
        }
        posted = api.post("/batches", json=body, headers={"Idempotency-Key": batch_id})
        assert posted.status_code == 202, posted.text
        assert posted.json()["accepted"] == BATCH_CALLS
        # and followed until it says it is finished
        answers: list[httpx.Response] = []

        def finished() -> bool:
            answers.append(api.get(f"/batches/{batch_id}"))
            return answers[-1].status_code == 200 and answers[-1].json()["finished"]

        # (every 10 s: moto's server, which the stack's every request shares, runs a GSI query
        # in time linear in the table, and polling faster starves the callbacks)
        assert wait_for(finished, timeout=FINISH_SECONDS, interval=10), answers[-1].text
        assert {answer.status_code for answer in answers} == {200}, [
            answer.text for answer in answers if answer.status_code != 200
        ][:3]
        assert wait_for(lambda: simulator.wait_idle(20), timeout=120, interval=0)
        summary = api.get(f"/batches/{batch_id}").json()
        truth = truth_of(simulator, batch_id)
        # Then every count equals the truth
        assert truth["requests"] == BATCH_CALLS  # the provider was asked once per call
        assert summary["total"] == summary["placed"] == BATCH_CALLS
        assert summary["by_outcome"] == truth["by_outcome"]
        assert summary["by_status"]["COMPLETED"] == truth["completed"]
        assert summary["by_status"]["FAILED"] == truth["by_outcome"]["REFUSED"]
        assert sum(summary["by_status"].values()) == BATCH_CALLS
        assert summary["keys_pressed"] == truth["keys_pressed"]
        assert Decimal(summary["cost"]) == truth["cost"]
        # And the CSV has one row per call, each as the simulator decided
        csv_answer = api.get(f"/batches/{batch_id}/calls", headers={"Accept": "text/csv"})
        assert csv_answer.status_code == 200
        rows = list(csv.DictReader(io.StringIO(csv_answer.text)))
        assert len(rows) == BATCH_CALLS
        assert len({row["call_id"] for row in rows}) == BATCH_CALLS
        for row in rows:
            sim = truth["by_request_id"].get(row["request_id"])
            if sim is None:
                assert row["status"] == "FAILED"
            else:
                assert row["status"] == "COMPLETED"
                assert row["call_status"] == CALL_STATUS[sim["outcome"]["call_status"]]
                assert row["price"] == (sim["outcome"]["price"] or "")
        fired = api.get("/_devstack/faults").json()["fired"]["fail_callback_writes_ratio"]
        assert fired - fired_before > 0
        figures(
            {
                "batch_calls": BATCH_CALLS,
                "by_outcome": summary["by_outcome"],
                "callback_writes_failed_on_purpose": fired - fired_before,
                "cost": summary["cost"],
            }
        )
    finally:
        api.delete("/_devstack/faults")
        api.close()
