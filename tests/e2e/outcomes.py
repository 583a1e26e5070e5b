"""The soak's traffic plan: numbers whose digits tell the eSMS simulator what to do with each call
(answered, no answer, failed, refused; how many copies of each callback, in which order).
Shared by the soaks of single calls and of batches."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.e2e.stack import RunningStack
from tests.e2e.traffic import SimulatorAdmin

# Outcome digit (third of the number) → what the simulator does with the call.
ANSWERED, NO_ANSWER, FAILED_CALL, REFUSED_108, REFUSED_99, REFUSED_103 = range(6)
OUTCOME_WEIGHTS = {
    ANSWERED: 55,
    NO_ANSWER: 20,
    FAILED_CALL: 10,
    REFUSED_108: 5,
    REFUSED_99: 5,
    REFUSED_103: 5,
}
REFUSALS = {REFUSED_108: ("108", 422), REFUSED_99: ("99", 422), REFUSED_103: ("103", 502)}
DELIVERIES = ("sequential", "shuffled", "concurrent", "reversed")
CALL_STATUS = {"ANSWERED": "ANSWERED", "NO ANSWER": "NO_ANSWER", "": "UNKNOWN"}
STAGES = (2, 7, 5)


def duration_of(duplicates: int, delivery: int) -> int:
    return 10 + 3 * duplicates + delivery


def simulator_rules() -> list[dict[str, Any]]:
    """One rule per (outcome, duplicates, delivery), matched by the number's first digits:
    ``09`` + outcome + duplicates (1-6) + delivery (0-3) + a 5-digit sequence number."""
    rules: list[dict[str, Any]] = []
    for outcome, (code, _) in REFUSALS.items():
        rules.append({"prefix": f"09{outcome}", "code": code})
    delays = [0.05, 0.1, 0.1]
    for duplicates in range(1, 7):
        for index, delivery in enumerate(DELIVERIES):
            common = {"duplicates": duplicates, "delivery": delivery, "delays": delays}
            duration = duration_of(duplicates, index)
            rules += [
                {
                    "prefix": f"09{ANSWERED}{duplicates}{index}",
                    "call_status": "ANSWERED",
                    "duration": duration,
                    "price": f"{duration * 20}.0000",
                    "ivr": str(duplicates),
                    **common,
                },
                {"prefix": f"09{NO_ANSWER}{duplicates}{index}", "call_status": "NO ANSWER",
                 **common},
                {"prefix": f"09{FAILED_CALL}{duplicates}{index}", "call_status": "", **common},
            ]  # fmt: skip
    return rules


@dataclass(frozen=True)
class PlannedCall:
    request_id: str
    phone: str
    outcome: int


def plan_calls(count: int, seed: int) -> list[PlannedCall]:
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:8]
    outcomes = list(OUTCOME_WEIGHTS)
    weights = list(OUTCOME_WEIGHTS.values())
    planned = []
    for number in range(count):
        outcome = rng.choices(outcomes, weights)[0]
        duplicates = rng.randint(1, 6)
        delivery = rng.randrange(len(DELIVERIES))
        phone = f"09{outcome}{duplicates}{delivery}{number:05d}"
        planned.append(PlannedCall(f"soak-{run}-{number}", phone, outcome))
    return planned


@contextmanager
def soak_simulator(stack: RunningStack) -> Iterator[SimulatorAdmin]:
    """The stack's simulator, its rules and delivery settings put back afterwards."""
    with SimulatorAdmin(stack.simulator_url) as admin:
        before = admin.settings()
        try:
            yield admin
        finally:
            admin.reset_rules()
            admin.settings(
                **{k: before[k] for k in ("callback_timeout", "max_resends", "resend_backoff")}
            )
