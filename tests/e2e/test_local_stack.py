"""The local stack driven as a user drives it: HTTP on loopback, the way `make run` serves it."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from devstack.template import function_queue_events, load_template
from tests.e2e.stack import (
    ROOT,
    RunningStack,
    invoke_event,
    local_stack,
    stack_environment,
    wait_for,
)

pytestmark = pytest.mark.e2e

JSON = {"Content-Type": "application/json"}
SETTLE_SECONDS = 15.0  # the simulator's three callbacks come within ~3 s


def new_phone() -> str:
    return f"09{secrets.randbelow(10**8):08d}"


def place(api: httpx.Client, **fields: Any) -> httpx.Response:
    body = {"phone": new_phone(), "template_id": "welcome-1", **fields}
    return api.post("/calls", content=json.dumps(body), headers=JSON)


def settled(api: httpx.Client, call_id: str) -> dict[str, Any] | None:
    record: dict[str, Any] = api.get(f"/calls/{call_id}").json()
    return record if record.get("status") == "COMPLETED" else None


def test_a_placed_call_completes_with_its_outcome(api: httpx.Client) -> None:
    # Given the stack with its embedded simulator (every call answered)
    # When a call is placed
    answer = place(api)
    assert answer.status_code == 202, answer.text
    call = answer.json()
    assert answer.headers["Location"] == f"/calls/{call['call_id']}"
    assert call["status"] == "ACCEPTED" and call["sms_id"]

    # Then, a few seconds later, the call shows the provider's final result
    record = wait_for(lambda: settled(api, call["call_id"]), timeout=SETTLE_SECONDS)
    assert record, api.get(f"/calls/{call['call_id']}").text
    assert record["result"]["call_status"] == "ANSWERED"
    assert record["result"]["duration_seconds"] == 13
    assert record["result"]["price"] == "300.0000"
    assert record["callbacks_received"] == 3


def test_a_callback_the_receiver_fails_is_sent_again_and_counted_once(
    api: httpx.Client, stack: RunningStack
) -> None:
    # Given the receiver will fail to store the next callback (the stack's fault knob)
    armed = api.post("/_devstack/faults", json={"fail_next_callback_writes": 1})
    assert armed.status_code == 200, armed.text
    try:
        # When a call is placed
        answer = place(api)
        assert answer.status_code == 202, answer.text
        call = answer.json()

        # Then it still completes, each callback counted once
        record = wait_for(lambda: settled(api, call["call_id"]), timeout=SETTLE_SECONDS)
        assert record, api.get(f"/calls/{call['call_id']}").text
        assert record["callbacks_received"] == 3
        # ...because the simulator sent the refused callback again
        attempts = httpx.get(
            f"{stack.simulator_url}/_simulator/callbacks",
            params={"sms_id": call["sms_id"]},
            timeout=5,
        ).json()["callbacks"]
        failed = [a for a in attempts if a["status_code"] not in (200, None)]
        assert [a["status_code"] for a in failed] == [503]
        resent = [
            a
            for a in attempts
            if a["send_status"] == failed[0]["send_status"] and a["attempt"] == 2
        ]
        assert resent and resent[0]["status_code"] == 200
        assert api.get("/_devstack/faults").json()["remaining"]["fail_next_callback_writes"] == 0
    finally:
        api.delete("/_devstack/faults")


def test_a_refusal_rule_in_the_simulator_gives_422_with_the_provider_code(
    api: httpx.Client, stack: RunningStack
) -> None:
    # Given the simulator refuses one phone number with code 108
    phone = new_phone()
    rules_url = f"{stack.simulator_url}/_simulator/rules"
    added = httpx.post(rules_url, json={"phone": phone, "code": "108", "times": 1}, timeout=5)
    assert added.status_code == 201, added.text
    try:
        # When a call to that number is placed
        answer = place(api, phone=phone)

        # Then the caller is told why, with the provider's code
        assert answer.status_code == 422, answer.text
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        assert answer.json()["esms_code"] == "108"
    finally:
        httpx.delete(rules_url, timeout=5)


def test_invoke_runs_the_reconcile_schedule_event_and_prints_its_summary(
    stack: RunningStack,
) -> None:
    # Given the sample event of the reconcile schedule, and a running stack
    # When it is invoked through the invoke entry point, against the stack
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "invoke", "CallbackFunction",
         "events/reconcile_schedule.json", "--stack-url", stack.url],
        cwd=ROOT, env=stack_environment(), capture_output=True, timeout=60, check=False,
    )  # fmt: skip

    # Then stdout is the handler's return value: the run's summary, as JSON
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads(done.stdout)
    assert {"examined", "settled", "expired", "deferred", "errors"} <= set(summary)
    assert summary["errors"] == []


@pytest.mark.parametrize(
    ("event", "summary"),
    [
        (
            "events/reconcile_schedule.json",
            # nothing in its own (empty) tables to settle
            {
                "examined": 0,
                "settled": 0,
                "expired": 0,
                "deferred": 0,
                "stopped_early": False,
                "errors": [],
            },
        ),
        # the embedded simulator's account balance, above the default threshold
        ("events/check_balance_schedule.json", {"balance": 5e6, "low": False, "error": None}),
    ],
    ids=["reconcile", "check-balance"],
)
def test_invoke_without_a_running_stack_starts_its_own_resources(
    event: str, summary: dict[str, Any]
) -> None:
    # Given no stack is running on the port invoke looks at
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]

    # When a schedule's event is invoked
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "invoke", "CallbackFunction", event],
        cwd=ROOT, env=stack_environment({"PORT": str(free_port)}), capture_output=True,
        timeout=60, check=False,
    )  # fmt: skip

    # Then it ran against its own resources and printed the summary
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == summary


def test_a_long_list_fans_out_through_the_queue_and_every_call_is_placed(
    stack: RunningStack,
) -> None:
    # Given a rule event listing more calls than the fan-out threshold
    template = load_template()
    if not function_queue_events(template):
        pytest.skip("the template has no SQS event source")
    count = int(template["Parameters"]["FanOutThreshold"]["Default"]) + 2
    phones = {new_phone() for _ in range(count)}
    event = json.loads((ROOT / "events" / "rule_calls_requested.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"]["calls"] = [{"phone": phone} for phone in sorted(phones)]

    # When CallsFunction gets it (as the rule would invoke it)
    assert invoke_event(stack, "CallsFunction", event)["queued"] == len(phones)

    # Then the queue's event source mapping delivers every call, and the provider gets each once
    def all_placed() -> list[str] | None:
        calls = httpx.get(f"{stack.simulator_url}/_simulator/calls", timeout=5).json()["calls"]
        found = [call["phone"] for call in calls if call["phone"] in phones]
        return found if len(found) >= len(phones) else None

    found = wait_for(all_placed, timeout=20)
    assert found is not None and sorted(found) == sorted(phones)


# ------------------------------------------------------------------------ another provider


class _Recorder(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def provider() -> Iterator[dict[str, Any]]:
    """A tiny provider endpoint on loopback: records every request, accepts every call."""
    seen: dict[str, Any] = {"requests": []}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            split = urlsplit(self.path)
            seen["requests"].append(
                {
                    "method": self.command,
                    "path": split.path,
                    "params": parse_qsl(split.query, keep_blank_values=True),
                }
            )
            if split.path == "/MakeCallRecord_V2":
                body = {"CodeResult": "100", "SMSID": str(uuid.uuid4())}
            else:
                body = {"CodeResult": "105", "CountRegenerate": 0, "ErrorMessage": "Not found"}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Recorder(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    seen["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_with_esms_base_url_the_stack_calls_that_endpoint_and_accepts_its_callbacks(
    provider: dict[str, Any],
) -> None:
    api_key, secret_key = f"key-{uuid.uuid4().hex[:8]}", f"secret-{uuid.uuid4().hex[:8]}"
    env = {"ESMS_BASE_URL": provider["url"], "ESMS_API_KEY": api_key, "ESMS_SECRET_KEY": secret_key}
    with local_stack(env=env) as stack, httpx.Client(base_url=stack.url, timeout=35) as api:
        health = stack.health()
        assert health["esms"] == {"mode": "external", "base_url": provider["url"],
                                  "simulator_url": None, "admin_url": None}  # fmt: skip

        # When a call with every optional field is placed
        request_id = f"e2e-{uuid.uuid4().hex[:12]}"
        send_at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        answer = place(
            api,
            phone="+84 912 000 111",
            request_id=request_id,
            send_at=send_at.isoformat(),
            number_forward="0987654321",
            ivr="1",
            time_wait_to_ivr=10,
            max_repeat=2,
            max_retry=1,
            wait_retry=60,
        )
        assert answer.status_code == 202, answer.text
        call = answer.json()

        # Then exactly the provider's GET reached that endpoint, spelled as the provider spells it
        assert len(provider["requests"]) == 1
        sent = provider["requests"][0]
        assert (sent["method"], sent["path"]) == ("GET", "/MakeCallRecord_V2")
        names = [name for name, _ in sent["params"]]
        assert sorted(names) == sorted(
            ["ApiKey", "SecretKey", "Phone", "TemplateId", "RequestID", "CallbackUrl", "SendDate",
             "NumberForward", "Ivr", "TimeWaitToIvr", "MaxRepeat", "MaxRetry", "WaitRetry"]
        )  # fmt: skip
        params = dict(sent["params"])
        assert (params["ApiKey"], params["SecretKey"]) == (api_key, secret_key)
        assert params["Phone"] == "0912000111"
        assert params["NumberForward"] == "0987654321"
        assert params["RequestID"] == request_id
        vietnam_time = send_at + timedelta(hours=7)  # the provider's SendDate is Vietnam time
        assert params["SendDate"] == vietnam_time.strftime("%Y/%m/%d %H:%M:%S")
        assert (params["Ivr"], params["TimeWaitToIvr"]) == ("1", "10")
        assert (params["MaxRepeat"], params["MaxRetry"], params["WaitRetry"]) == ("2", "1", "60")
        callback_url = params["CallbackUrl"]
        assert callback_url.startswith(f"{stack.url}/callbacks/esms/{call['call_id']}/")

        # When the provider reports the result at the CallbackUrl it was handed
        query = (
            f"ReferenceId={call['sms_id']}&CallDuration=21&CallStatus=ANSWERED&Ivr=1"
            "&Price=300.0000&SentResult=1&CID=02871002454&SendStatus=5"
        )
        reported = httpx.get(f"{callback_url}&{query}", timeout=35)

        # Then the receiver takes it, and the call shows the result
        assert reported.status_code == 200, reported.text
        record = api.get(f"/calls/{call['call_id']}").json()
        assert record["status"] == "COMPLETED"
        assert record["result"]["call_status"] == "ANSWERED"
        assert record["result"]["duration_seconds"] == 21
        assert record["callbacks_received"] == 1
        assert len(provider["requests"]) == 1  # nothing else was sent to the provider

        # And Ctrl-C stops everything: exit code 0, no environment left, ports closed
        pids = [pid for f in health["functions"].values() for pid in f["pids"]]
        addresses = [urlsplit(health["dynamodb"]["endpoint"]), urlsplit(stack.url)]
        assert stack.interrupt() == 0, stack.output()
        assert stack.output().rstrip().endswith("Stopped.")
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    for address in addresses:
        with pytest.raises(OSError):
            socket.create_connection((str(address.hostname), int(address.port or 0)), timeout=1)
