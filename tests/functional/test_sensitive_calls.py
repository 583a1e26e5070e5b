"""A one-time code (`tts.sensitive`) through the whole service: placed, replayed, refused for
another code, retried after a provider fault, refused by the provider, called back, read, finished
as an outcome event, and refused from a list that fans out. Every log line (ours at DEBUG and every
library's), every stored item and stream record, every queue message and every answer is
captured; the code is in none of them, and the provider still heard it each time."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest

from esms_calls.domain.calls import CallSpec, TtsScript, Voice
from esms_calls.domain.signing import payload_fingerprint
from esms_calls.observability import logger
from tests.functional.conftest import SIGNING_KEY
from tests.support import events
from tests.support.callbacks import appended, callback_event, report_query
from tests.support.fake_esms import FakeEsms, accept, body_of, raises, refuse
from tests.support.pipes import outcome_pipe, pipe_entries, stream_records
from tests.support.queues import CallsQueue
from tests.support.triggers import phones, rule_event

CODE = "48291375"  # eight digits: no id or hash in the output holds them by chance
OTHER_CODE = "77120564"
PHONE = "0912345678"


def otp(code: str = CODE, **fields: Any) -> dict[str, Any]:
    script = {"template_id": "OTP1", "variables": [code], "voice": "female", "sensitive": True}
    return {"phone": PHONE, "tts": script, **fields}


@pytest.fixture
def every_log_line(
    log_lines: io.StringIO, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> Iterator[Callable[[], str]]:
    """Ours at DEBUG, formatted as in Lambda, and every library's; read by calling it."""
    caplog.set_level(logging.DEBUG)
    logger.setLevel(logging.DEBUG)

    def read() -> str:
        captured = capfd.readouterr()
        return log_lines.getvalue() + captured.out + captured.err + caplog.text

    yield read
    logger.setLevel(logging.INFO)


def readable(value: object) -> str:
    """A binary attribute as text, decompressed when it is (a batch keeps its answer so): a
    code must not hide in one either."""
    if not isinstance(value, bytes | bytearray):
        raise TypeError(type(value).__name__)
    try:
        return zlib.decompress(value).decode()
    except zlib.error:
        return bytes(value).decode("latin-1")


def test_a_one_time_code_is_spoken_and_found_nowhere_else(
    invoke_calls,
    invoke_callback,
    esms: FakeEsms,
    tables: dict[str, str],
    calls_queue: CallsQueue,
    every_log_line,
) -> None:
    answers: list[dict[str, Any]] = []

    def post(body: dict[str, Any]) -> dict[str, Any]:
        answers.append(invoke_calls(events.post_calls(body)))
        return answers[-1]

    # Given the provider accepts the first call, times out on the second, accepts its retry,
    # and refuses the third with a message echoing the code
    esms.then(
        accept,
        raises(httpx.ReadTimeout),
        accept,
        refuse("104", f"Template OTP1 not found for VariableListStr={CODE}"),
    )
    # When a code is placed, and the same request comes again
    placed = post(otp(request_id="login-1"))
    replayed = post(otp(request_id="login-1"))
    # Then the second is the first's answer, replayed, and the provider heard of it once
    assert placed["statusCode"] == replayed["statusCode"] == 202
    assert replayed["headers"]["Idempotent-Replayed"] == "true"
    assert body_of(replayed) == body_of(placed)
    # When the same request id comes with another code, it is refused: the keyed hash compares
    assert post(otp(OTHER_CODE, request_id="login-1"))["statusCode"] == 422
    # When the provider times out, the caller retries, and the retry is accepted
    assert post(otp(request_id="login-2"))["statusCode"] == 504
    retried = post(otp(request_id="login-2"))
    assert retried["statusCode"] == 202
    # When the provider refuses a third, echoing the code, and the refusal is replayed
    refused = post(otp(request_id="login-3"))
    assert refused["statusCode"] == 422 and body_of(refused)["esms_code"] == "104"
    assert post(otp(request_id="login-3"))["headers"]["Idempotent-Replayed"] == "true"
    # And a code the provider cannot carry is refused without being quoted
    assert post(otp(CODE + "\n", request_id="login-4"))["statusCode"] == 422

    # Then the provider heard the code on every attempt, the timed-out one's retry included
    assert [sent["VariableListStr"] for sent in esms.calls] == [CODE] * 4

    # When the provider calls the first call back: waiting, sent, finished
    call = body_of(placed)
    callback_url = esms.calls[0]["CallbackUrl"]
    for send_status in (2, 7, 5):
        query = report_query(call["sms_id"], send_status=send_status)
        callback = invoke_callback(callback_event(appended(callback_url, query)))
        assert callback["statusCode"] == 200
        answers.append(callback)
    # Then GET shows the call finished, its script's parameters, the count of its variables
    read = invoke_calls(events.get_call(call["call_id"]))
    answers.append(read)
    record = body_of(read)
    assert record["status"] == "COMPLETED" and record["kind"] == "tts"
    assert record["tts"] == {
        "template_id": "OTP1",
        "variables": None,
        "variable_count": 1,
        "voice": "female",
        "speed": None,
        "sensitive": True,
    }

    # When a rule event lists codes among more calls than fan out allows
    numbers = phones(12)
    entries = [{"phone": n, "tts": {"variables": [CODE]}} for n in numbers[:2]] + numbers[2:]
    defaults = {"tts": {"template_id": "OTP1", "sensitive": True}}
    report = invoke_calls(rule_event({"defaults": defaults, "calls": entries}))
    answers.append(report)
    # Then every entry is refused: sensitive calls never go through the queue
    assert report["queued"] == 0 and len(report["invalid"]) == 12
    assert calls_queue.bodies() == []

    # And the outcome event of the finished call says what it was, and nothing of the code
    events_published = pipe_entries(outcome_pipe(), stream_records(tables["CallsTable"]))
    finished = [json.loads(e["Detail"]) for e in events_published]
    assert {(e["call_id"], e["kind"], e["status"]) for e in finished} >= {
        (call["call_id"], "tts", "COMPLETED")
    }

    # And the code is in no log line, no stored item, no stream record and no answer
    dynamodb = boto3.client("dynamodb")
    stored = {name: dynamodb.scan(TableName=name)["Items"] for name in tables.values()}
    everything = {
        "logs": every_log_line(),
        "stored items": json.dumps(stored, default=readable),
        "stream records": json.dumps(stream_records(tables["CallsTable"]), default=readable),
        "outcome events": json.dumps(events_published),
        "answers": json.dumps(answers),
    }
    for where, text in everything.items():
        assert CODE not in text and OTHER_CODE not in text, where
    assert "call accepted by the provider" in everything["logs"]
    # And the payload hash Powertools keeps is a hash of the keyed fingerprint, not of the call
    spec = CallSpec(
        phone=PHONE,
        template_id="OTP1",
        tts=TtsScript.of((CODE,), voice=Voice.FEMALE, sensitive=True),
    )
    fingerprint = payload_fingerprint(SIGNING_KEY.encode(), spec)
    validations = {
        item["validation"]["S"] for item in stored[tables["DedupeTable"]] if "validation" in item
    }
    assert hashlib.md5(json.dumps(fingerprint).encode()).hexdigest() in validations  # noqa: S324
