"""Everything the stack prints, through every flow, holds no credential, no signing key, no
callback token and no whole phone number.

The stack runs with distinctive credentials and signing key, handler logs as Lambda ships them
(``--log-format json``) at DEBUG, and goes through: a call completing, a refusal, a provider
timeout and its retry, duplicated concurrent callbacks, a callback whose write fails and is sent
again, a call settled by reconciliation (``python -m devstack invoke``), forged callbacks and
invalid requests. Its whole output (API, workers, simulator, moto), and the invoke command's, is
then searched; so are a batch fanned out through the calls queue and numbers sent in paths and
query strings (the do-not-call list, a listing by number, a path that is no route).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.e2e.stack import ROOT, RunningStack, local_stack, stack_environment, wait_for
from tests.e2e.traffic import JSON, SimulatorAdmin

pytestmark = pytest.mark.e2e

API_KEY = f"apikey-{uuid.uuid4().hex}"
SECRET_KEY = f"secretkey-{uuid.uuid4().hex}"
SIGNING_KEY = f"signingkey-{uuid.uuid4().hex}"
SETTLE_SECONDS = 15.0


@pytest.fixture(scope="module")
def logged_stack() -> Iterator[RunningStack]:
    env = {"ESMS_API_KEY": API_KEY, "ESMS_SECRET_KEY": SECRET_KEY,
           "CALLBACK_SIGNING_KEY": SIGNING_KEY}  # fmt: skip
    # The provider times out within 2 s; reconciliation looks at calls of any age.
    args = ["--log-format", "json", "--parameter-overrides", "LogLevel=DEBUG",
            "--simulator-delays", "0.05", "--env", "ESMS_READ_TIMEOUT_SECONDS=2",
            "--env", "RECONCILE_AFTER_SECONDS=0"]  # fmt: skip
    with local_stack(*args, env=env) as running:
        yield running


def new_phone() -> str:
    return f"09{secrets.randbelow(10**8):08d}"


def spelled(phone: str) -> str:
    """+84 912 345 678: the spelling that shares the fewest characters with the national one."""
    digits = phone[1:]
    return f"+84 {digits[:3]} {digits[3:6]} {digits[6:]}"


def status_of(api: httpx.Client, call_id: str) -> str:
    return str(api.get(f"/calls/{call_id}").json()["status"])


def completes(api: httpx.Client, call_id: str) -> dict[str, Any]:
    done = wait_for(lambda: status_of(api, call_id) == "COMPLETED", timeout=SETTLE_SECONDS)
    record: dict[str, Any] = api.get(f"/calls/{call_id}").json()
    assert done, record
    return record


def test_no_flow_prints_a_secret_or_a_whole_phone_number(logged_stack: RunningStack) -> None:
    phones: list[str] = []
    tokens: list[str] = []
    printed: list[str] = []

    def place(api: httpx.Client, phone: str, **fields: Any) -> httpx.Response:
        phones.append(phone)
        body = {"phone": spelled(phone), "template_id": "logs", "request_id": uuid.uuid4().hex}
        return api.post("/calls", json={**body, **fields})

    with (
        httpx.Client(base_url=logged_stack.url, timeout=35) as api,
        SimulatorAdmin(logged_stack.simulator_url) as simulator,
    ):
        # Given a stack with distinctive credentials and signing key, logging at DEBUG
        # When a call completes
        answer = place(api, new_phone())
        assert answer.status_code == 202, answer.text
        completes(api, answer.json()["call_id"])

        # When the provider refuses a number
        refused = new_phone()
        simulator.add_rule({"phone": refused, "code": "108"})
        answer = place(api, refused)
        assert (answer.status_code, answer.json()["esms_code"]) == (422, "108")

        # When the provider does not answer in time, and the caller retries
        slow = new_phone()
        simulator.add_rule({"phone": slow, "response_delay": 4, "times": 1})
        request_id = uuid.uuid4().hex
        answer = place(api, slow, request_id=request_id)
        assert answer.status_code == 504, answer.text
        answer = place(api, slow, request_id=request_id)
        assert answer.status_code == 202, answer.text
        completes(api, answer.json()["call_id"])

        # When every callback comes three times, all at once
        repeated = new_phone()
        simulator.add_rule({"phone": repeated, "duplicates": 3, "delivery": "concurrent"})
        answer = place(api, repeated)
        assert answer.status_code == 202, answer.text
        assert simulator.wait_idle(SETTLE_SECONDS)
        assert completes(api, answer.json()["call_id"])["callbacks_received"] == 3

        # When the receiver fails to store a callback, and the provider sends it again
        armed = api.post("/_devstack/faults", json={"fail_next_callback_writes": 1})
        assert armed.status_code == 200, armed.text
        answer = place(api, new_phone())
        assert answer.status_code == 202, answer.text
        assert simulator.wait_idle(SETTLE_SECONDS)
        assert completes(api, answer.json()["call_id"])["callbacks_received"] == 3
        assert api.get("/_devstack/faults").json()["fired"]["fail_next_callback_writes"] == 1

        # When the callbacks never come and reconciliation settles the call
        silent = new_phone()
        simulator.add_rule({"phone": silent, "drop_callbacks": True})
        answer = place(api, silent)
        assert answer.status_code == 202, answer.text
        call_id, sms_id = answer.json()["call_id"], answer.json()["sms_id"]
        ended = wait_for(
            lambda: any(c["sms_id"] == sms_id and c["final"] for c in simulator.calls()),
            timeout=SETTLE_SECONDS,
        )
        assert ended and status_of(api, call_id) == "ACCEPTED"
        invoked = subprocess.run(
            [sys.executable, "-m", "devstack", "invoke", "CallbackFunction",
             "events/reconcile_schedule.json", "--stack-url", logged_stack.url],
            cwd=ROOT, env=stack_environment(), capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        printed += [invoked.stdout.decode(), invoked.stderr.decode()]
        assert invoked.returncode == 0, invoked.stderr.decode()
        assert json.loads(invoked.stdout)["settled"] >= 1
        assert status_of(api, call_id) == "COMPLETED"

        # When callbacks are forged, and requests are invalid
        tokens += [urlsplit(c["callback_url"]).path.rsplit("/", 1)[1] for c in simulator.calls()]
        url = next(c["callback_url"] for c in simulator.calls() if c["sms_id"] == sms_id)
        token = urlsplit(url).path.rsplit("/", 1)[1]
        forged = httpx.get(url.replace(token, "f" * len(token)), timeout=35)
        assert forged.status_code == 403
        forward = new_phone()
        phones.append(forward)
        invalid = place(api, new_phone(), ivr="x", number_forward=spelled(forward))
        assert invalid.status_code == 422
        not_json = api.post("/calls", content=f"phone={phones[-1]}", headers=JSON)
        assert not_json.status_code == 400

        # When a batch fans out through the calls queue, its entries all placed
        batch = [new_phone() for _ in range(3)]
        phones.extend(batch)
        entries = {"calls": [spelled(p) for p in batch], "defaults": {"template_id": "logs"}}
        posted = api.post("/batches", json=entries, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert posted.status_code == 202, posted.text
        batch_url = f"/batches/{posted.json()['batch_id']}"
        placed = wait_for(
            lambda: api.get(batch_url).json()["finished"], timeout=SETTLE_SECONDS, interval=1
        )
        assert placed, api.get(batch_url).text

        # When numbers travel in paths and query strings: the do-not-call list, a listing by
        # number, and a path that is no route
        listed = new_phone()
        phones.append(listed)
        assert api.put(f"/do-not-call/{listed}", json={}).status_code == 201
        assert api.get("/calls", params={"phone": spelled(listed)}).status_code == 200
        assert api.delete(f"/do-not-call/{listed}").status_code == 204
        assert api.get(f"/{listed}").status_code == 404
        simulator.reset_rules()

    # Then, the stack stopped, nothing it printed holds a secret or a whole phone number
    assert logged_stack.interrupt() == 0
    printed.append(logged_stack.output())
    text = "\n".join(printed)
    assert "callback stored" in text and "call accepted by the provider" in text  # it did log
    secrets_ = {"ESMS_API_KEY": API_KEY, "ESMS_SECRET_KEY": SECRET_KEY,
                "CALLBACK_SIGNING_KEY": SIGNING_KEY}  # fmt: skip
    secrets_.update({f"callback token {n}": token for n, token in enumerate(tokens)})
    for name, value in secrets_.items():
        for form in {value, quote(value, safe="")}:
            assert form not in text, f"{name} is in the output"
    for phone in phones:
        national = phone.replace(" ", "").replace("+84", "0")
        for form in {national, national[1:], spelled(national)}:
            assert form not in text, f"a whole phone number ({form[:3]}…) is in the output"
    masked = [f"{p[:3]}****{p[-3:]}" for p in phones[:1]]
    assert all(m in text for m in masked), "the logs name calls by their masked numbers"
