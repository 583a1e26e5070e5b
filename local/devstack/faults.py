"""Dev-only fault injection: make callback invocations fail to write to DynamoDB.

Never on unless asked (``POST /_devstack/faults``). Two knobs, both on the provider's callbacks
(HTTP invocations of the callback function; schedules and ``invoke`` are never affected):

- ``fail_next_callback_writes: N``: the next N callbacks fail;
- ``fail_callback_writes_ratio: R`` (0 to 1), with an optional ``seed``: each callback fails with
  probability R, drawn from a random generator seeded with ``seed`` (0 unless given), so a run
  with the same traffic fails the same share of callbacks. The count knob is consumed first.

The stack keeps the state (:class:`FaultState`); when it hands an armed invocation to a worker,
the job carries ``{"fail_dynamodb_writes": true}`` and the worker's botocore hook
(:class:`DynamoDbFaults`) raises a ``ClientError`` on every DynamoDB write of that one invocation,
inside the real handler path: the application sees what a DynamoDB outage looks like, answers
5xx, and the provider (or the simulator) sends the callback again.
"""

from __future__ import annotations

import random
import sys
import threading
from typing import Any

# The knobs' names, as accepted by POST /_devstack/faults, and what each arms in a worker.
COUNT_KNOBS = {"fail_next_callback_writes": "fail_dynamodb_writes"}
RATIO_KNOBS = {"fail_callback_writes_ratio": "fail_dynamodb_writes"}
KNOBS = {**COUNT_KNOBS, **RATIO_KNOBS}
SEED = "seed"
WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
# Which knob arms the failure of a callback's writes, count first.
CALLBACK_WRITE_KNOBS = ("fail_next_callback_writes", "fail_callback_writes_ratio")


class FaultState:
    """The stack's side: armed counts and ratios, how often each fired. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = dict.fromkeys(COUNT_KNOBS, 0)
        self._ratios = dict.fromkeys(RATIO_KNOBS, 0.0)
        self._seed = 0
        self._rng = random.Random(self._seed)  # noqa: S311 - test traffic, not security
        self._fired = dict.fromkeys(KNOBS, 0)

    def set(self, values: dict[str, Any]) -> dict[str, Any]:
        """Replace the given knobs; unknown names or bad values raise ValueError (and change
        nothing). A ``seed`` restarts the random generator of the ratio knobs."""
        unknown = sorted(set(values) - set(KNOBS) - {SEED})
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {sorted([*KNOBS, SEED])}")
        counts: dict[str, int] = {}
        ratios: dict[str, float] = {}
        for name, value in values.items():
            if name in COUNT_KNOBS:
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
                    raise ValueError(f"{name} must be an integer from 0 to 1000")
                counts[name] = value
            elif name in RATIO_KNOBS:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{name} must be a number from 0 to 1")
                if not 0 <= value <= 1:
                    raise ValueError(f"{name} must be a number from 0 to 1")
                ratios[name] = float(value)
        seed = values.get(SEED)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        with self._lock:
            self._remaining.update(counts)
            self._ratios.update(ratios)
            if seed is not None:
                self._seed = seed
                self._rng = random.Random(seed)  # noqa: S311 - test traffic, not security
        return self.snapshot()

    def clear(self) -> dict[str, Any]:
        with self._lock:
            self._remaining = dict.fromkeys(COUNT_KNOBS, 0)
            self._ratios = dict.fromkeys(RATIO_KNOBS, 0.0)
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "remaining": dict(self._remaining),
                "ratios": dict(self._ratios),
                "seed": self._seed,
                "fired": dict(self._fired),
            }

    def take(self, knob: str) -> bool:
        """One invocation's draw for ``knob``: True when it must fail (then counted as fired).
        A count knob consumes one armed invocation; a ratio knob draws from the seeded RNG."""
        with self._lock:
            if knob in COUNT_KNOBS:
                if self._remaining.get(knob, 0) <= 0:
                    return False
                self._remaining[knob] -= 1
            else:
                ratio = self._ratios.get(knob, 0.0)
                if ratio <= 0 or self._rng.random() >= ratio:
                    return False
            self._fired[knob] += 1
            return True

    def take_any(self, knobs: tuple[str, ...]) -> str | None:
        """The first of ``knobs`` that fires for this invocation, or None."""
        for knob in knobs:
            if self.take(knob):
                return knob
        return None


class DynamoDbFaults:
    """The worker's side: a ``before-call`` hook on boto3's default session, so that every
    DynamoDB client the handler builds afterwards carries it. Inert until armed."""

    _instance: DynamoDbFaults | None = None

    def __init__(self) -> None:
        self.armed = False
        self.knob = "fail_next_callback_writes"

    @classmethod
    def install(cls) -> DynamoDbFaults:
        if cls._instance is None:
            import boto3

            if boto3.DEFAULT_SESSION is None:
                boto3.setup_default_session()
            session = boto3.DEFAULT_SESSION
            if session is None:
                raise RuntimeError("boto3 has no default session")
            instance = cls()
            for operation in WRITE_OPERATIONS:
                session.events.register(f"before-call.dynamodb.{operation}", instance._before_call)
            cls._instance = instance
        return cls._instance

    @classmethod
    def installed(cls) -> DynamoDbFaults:
        return cls.install()

    def arm(self, faults: dict[str, Any]) -> None:
        self.armed = bool(faults.get("fail_dynamodb_writes"))
        self.knob = str(faults.get("knob") or "fail_next_callback_writes")

    def disarm(self) -> None:
        self.armed = False

    def _before_call(self, model: Any, **_: Any) -> None:
        if not self.armed:
            return
        from botocore.exceptions import ClientError

        print(
            f"devstack fault: DynamoDB {model.name} failed on purpose "
            f"(POST /_devstack/faults {self.knob})",
            file=sys.stderr,
            flush=True,
        )
        # Shaped as botocore parses a DynamoDB 500 (typed Any: botocore's TypedDict wants more).
        response: Any = {
            "Error": {
                "Code": "InternalServerError",
                "Message": "Internal server error (injected by the local stack)",
            },
            "ResponseMetadata": {"HTTPStatusCode": 500},
        }
        raise ClientError(response, model.name)
