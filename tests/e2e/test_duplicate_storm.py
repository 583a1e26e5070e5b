"""A storm of identical requests: one call placed, every answer the original or a clean 409."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.e2e.stack import RunningStack, local_stack, wait_for
from tests.e2e.traffic import Answer, SimulatorAdmin, in_parallel, latency_summary, post_call

pytestmark = pytest.mark.e2e

STORM = 50
CONCURRENCY = 4  # environments per function: four requests really run at once
PROVIDER_DELAY_SECONDS = 1.5  # the first request holds the id this long
SETTLE_SECONDS = 15.0


@pytest.fixture(scope="module")
def storm_stack() -> Iterator[RunningStack]:
    with local_stack("--concurrency", str(CONCURRENCY), "--simulator-delays", "0.1") as running:
        yield running


@pytest.fixture
def simulator(storm_stack: RunningStack) -> Iterator[SimulatorAdmin]:
    with SimulatorAdmin(storm_stack.simulator_url) as admin:
        try:
            yield admin
        finally:
            admin.reset_rules()


def storm(api: httpx.Client, body: dict[str, str]) -> list[Answer]:
    """STORM identical POST /calls, released together from STORM threads."""
    start = threading.Barrier(STORM)

    def fire(_: int) -> Answer:
        start.wait(timeout=10)
        return post_call(api, body)

    return in_parallel(fire, range(STORM), workers=STORM)


def warm_every_environment(api: httpx.Client, phone: str) -> None:
    """One slow call per environment at once, so that each has finished its cold start: on a
    loaded machine a cold start can outlast the first request, which would then overlap none."""
    answers = in_parallel(
        lambda i: post_call(
            api, {"phone": phone, "template_id": f"warm{i}", "request_id": uuid.uuid4().hex}
        ),
        range(CONCURRENCY),
        workers=CONCURRENCY,
    )
    assert [answer.status for answer in answers] == [202] * CONCURRENCY


def test_fifty_identical_requests_at_once_place_one_call(
    storm_stack: RunningStack, simulator: SimulatorAdmin, figures: Callable[..., None]
) -> None:
    # Given a number whose provider answer takes 1.5 s, so that the requests overlap the first
    phone = f"09{secrets.randbelow(10**8):08d}"
    simulator.add_rule({"phone": phone, "response_delay": PROVIDER_DELAY_SECONDS})
    body = {"phone": phone, "template_id": "storm", "request_id": f"storm-{uuid.uuid4().hex}"}
    limits = httpx.Limits(max_connections=STORM, max_keepalive_connections=STORM)
    with httpx.Client(base_url=storm_stack.url, timeout=35, limits=limits) as api:
        # And every environment of the function warm
        warm_every_environment(api, phone)
        # When 50 clients send the same request (same request id) at once
        answers = storm(api, body)

        # Then the provider was asked exactly once
        assert len(simulator.make_call_requests(body["request_id"])) == 1
        # And each answer is the original 202, its replay, or a 409 while it was in flight
        assert {answer.status for answer in answers} <= {202, 409}, [a.status for a in answers]
        accepted = [answer for answer in answers if answer.status == 202]
        originals = [a for a in accepted if "Idempotent-Replayed" not in a.headers]
        assert len(originals) == 1, [dict(a.headers) for a in accepted]
        original = originals[0]
        assert original.body["status"] == "ACCEPTED" and original.body["sms_id"]
        for replay in accepted:
            assert replay.body == original.body
            assert replay.headers["Location"] == f"/calls/{original.body['call_id']}"
            if replay is not original:
                assert replay.headers["Idempotent-Replayed"] == "true"
        conflicts = [answer for answer in answers if answer.status == 409]
        assert conflicts, "no request overlapped the first: the storm proved nothing"
        for conflict in conflicts:
            assert conflict.content_type.startswith("application/problem+json")
            assert conflict.body["status"] == 409
            assert int(conflict.headers["Retry-After"]) >= 1

        # When the same storm comes again, once the call was placed
        again = storm(api, body)

        # Then every answer is the original, replayed, and the provider was still asked once
        assert all(answer.status == 202 for answer in again), [a.status for a in again]
        assert all(answer.body == original.body for answer in again)
        assert all(answer.headers["Idempotent-Replayed"] == "true" for answer in again)
        assert len(simulator.make_call_requests(body["request_id"])) == 1

        # And the one call completes, each callback counted once
        call_id = original.body["call_id"]

        def completed() -> dict[str, object] | None:
            record: dict[str, object] = api.get(f"/calls/{call_id}").json()
            return record if record["status"] == "COMPLETED" else None

        record = wait_for(completed, timeout=SETTLE_SECONDS)
        assert record and record["callbacks_received"] == 3, record

    figures(
        {
            "identical_requests": 2 * STORM,
            "provider_calls": 1,
            "first_storm": {
                "original_202": 1,
                "replayed_202": len(accepted) - 1,
                "conflict_409": len(conflicts),
            },
            "second_storm_replayed_202": len(again),
            "post_calls_ms_first_storm": latency_summary([a.elapsed_ms for a in answers]),
            "post_calls_ms_second_storm": latency_summary([a.elapsed_ms for a in again]),
        }
    )
