"""`esms-calls` as a user runs it, against a local stack: place (a recording, a script), get,
list, a batch from a CSV file, watch to the end, and a refusal as one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import ROOT, RunningStack, local_stack
from tests.e2e.test_local_stack import new_phone

pytestmark = pytest.mark.e2e

WATCH_TIMEOUT = "30"


@pytest.fixture(scope="module")
def cli_stack() -> Iterator[RunningStack]:
    with local_stack("--simulator-delays", "0.1") as running:
        yield running


def esms_calls(stack: RunningStack, *argv: str) -> subprocess.CompletedProcess[str]:
    """The console script's module, its API from the environment as a user would set it."""
    env = {**os.environ, "ESMS_CALLS_API_URL": stack.url}
    return subprocess.run(
        [sys.executable, "-m", "esms_calls_cli", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def json_of(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_recording_call_is_placed_read_found_and_watched_to_its_end(
    cli_stack: RunningStack,
) -> None:
    # Given a number and a request id of our own
    phone, request_id = new_phone(), f"cli-e2e-{uuid.uuid4().hex[:12]}"
    # When a recording call is placed
    placed = esms_calls(
        cli_stack, "place", "--phone", phone, "--template-id", "123", "--request-id", request_id
    )
    # Then one line names the call, its request id and ACCEPTED
    assert placed.returncode == 0, placed.stderr
    words = placed.stdout.split()
    assert words[0] == "call" and words[2:] == ["request", request_id, "ACCEPTED"]
    call_id = words[1]
    # And watching it (not a terminal: one plain line per change) ends on the outcome, exit 0
    watched = esms_calls(
        cli_stack, "watch", call_id, "--interval", "0.2", "--timeout", WATCH_TIMEOUT
    )
    assert watched.returncode == 0, watched.stderr
    assert "\r" not in watched.stdout
    assert watched.stdout.splitlines()[-1] == (
        f"call {call_id} COMPLETED ANSWERED 13 s, 300.0000 (3 callbacks)"
    )
    # And get shows it completed, and list finds it by its request id
    shown = esms_calls(cli_stack, "get", call_id)
    assert f"phone     {phone}" in shown.stdout.splitlines()
    assert "status    COMPLETED ANSWERED 13 s, 300.0000" in shown.stdout.splitlines()
    found = json_of(esms_calls(cli_stack, "--json", "list", "--request-id", request_id))
    assert [call["call_id"] for call in found["items"]] == [call_id]


def test_a_spoken_one_time_code_completes(cli_stack: RunningStack) -> None:
    # When OTP1 (one variable) is placed as a sensitive script call, then watched as JSON
    placed = json_of(
        esms_calls(
            cli_stack, "--json", "place", "--phone", new_phone(), "--tts-template", "OTP1",
            "--var", "482913", "--sensitive",
        )
    )  # fmt: skip
    final = json_of(
        esms_calls(cli_stack, "watch", placed["call_id"], "--json", "--timeout", WATCH_TIMEOUT)
    )
    # Then it completed, spoke the script, and the code is nowhere in what the API gives back
    assert final["status"] == "COMPLETED" and final["kind"] == "tts"
    assert final["tts"]["template_id"] == "OTP1" and final["tts"]["variable_count"] == 1
    assert "482913" not in json.dumps(final)


def test_a_batch_from_a_csv_file_is_watched_to_its_end(
    cli_stack: RunningStack, tmp_path: Path
) -> None:
    # Given a CSV file of 5 numbers, each with its REMIND1 variables
    phones = [new_phone() for _ in range(5)]
    rows = [f"{phone},Khách {i},{(i + 1) * 10_000} đồng" for i, phone in enumerate(phones)]
    csv = tmp_path / "reminders.csv"
    csv.write_text("phone,var1,var2\n" + "\n".join(rows) + "\n", encoding="utf-8")
    batch_id = f"cli-e2e-{uuid.uuid4().hex[:12]}"
    # When it is sent as one batch
    sent = esms_calls(
        cli_stack, "batch", str(csv), "--tts-template", "REMIND1", "--batch-id", batch_id
    )
    # Then all 5 are accepted
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout == f"batch {batch_id}: 5 accepted, 0 invalid, 0 skipped\n"
    # And watching the batch ends with every call answered, exit 0
    watched = esms_calls(cli_stack, "watch", "--batch", batch_id, "--timeout", WATCH_TIMEOUT)
    assert watched.returncode == 0, watched.stderr
    lines = watched.stdout.splitlines()
    assert f"batch {batch_id}: finished, 5/5 placed" in lines
    assert "  outcome  ANSWERED 5" in lines and "  cost     1500.0000" in lines
    # And the listing of the batch holds each number once, each with its own variables
    listed = json_of(esms_calls(cli_stack, "--json", "list", "--batch-id", batch_id, "--all"))
    by_phone = {call["phone"]: call["tts"]["variables"] for call in listed["items"]}
    assert by_phone == {
        phone: [f"Khách {i}", f"{(i + 1) * 10_000} đồng"] for i, phone in enumerate(phones)
    }


def test_an_invalid_phone_is_one_line_and_exit_1(cli_stack: RunningStack) -> None:
    # When a call to a number that is not Vietnamese is placed
    refused = esms_calls(cli_stack, "place", "--phone", "12345", "--template-id", "123")
    # Then stderr is one line naming the problem and the field; no traceback, nothing on stdout
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "error 422 invalid-request: the request has invalid fields (phone: must be a Vietnamese "
        "phone number, e.g. 0912345678 or +84 912 345 678)"
    ]


def test_an_unknown_call_is_a_not_found_line(cli_stack: RunningStack) -> None:
    missing = esms_calls(cli_stack, "get", uuid.uuid4().hex)
    assert (missing.returncode, missing.stderr) == (1, "error 404 not-found: no such call\n")
