"""Everything logged during whole requests, success and every failure class, is free of the
provider's credentials, the signing key and whole phone numbers."""

from __future__ import annotations

import io
import logging

import httpx
import pytest

from esms_calls.observability import logger
from tests.functional.conftest import API_KEY, SECRET_KEY, SIGNING_KEY
from tests.support import events
from tests.support.fake_esms import body_of, raises, refuse, status

PHONE = "0912345678"
FORWARD = "0987654321"


def test_logs_of_full_requests_hold_no_secret_and_no_whole_phone(
    invoke_calls, esms, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given every log line at DEBUG, ours (formatted as in Lambda) and every library's
    caplog.set_level(logging.DEBUG)
    logger.setLevel(logging.DEBUG)
    ours = io.StringIO()
    handler = logging.StreamHandler(ours)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    esms.then(
        refuse("101", f"Authorize Failed for {API_KEY}"),
        refuse("108"),
        raises(httpx.ReadTimeout),
        raises(httpx.ConnectError),
        status(500, "<html>error</html>"),
        refuse("124"),
    )
    call = {"phone": "+84 912 345 678", "template_id": "1", "number_forward": FORWARD, "ivr": "1"}
    try:
        # When requests go through each outcome: refusals, timeout, unreachable, 5xx, 124, success
        for request_id in ("a", "b", "c", "d", "e", "c", "f"):
            invoke_calls(events.post_calls({**call, "request_id": f"log-{request_id}"}))
        accepted = invoke_calls(events.post_calls({**call, "request_id": "log-f"}))
        invoke_calls(events.get_call(body_of(accepted)["call_id"]))
        invoke_calls(events.post_calls({**call, "phone": "not a phone"}))
    finally:
        logger.setLevel(logging.INFO)
        logger.removeHandler(handler)
    # Then the log output says what happened, and holds none of the secrets nor the numbers
    captured = capfd.readouterr()
    output = ours.getvalue() + captured.out + captured.err + caplog.text
    assert "call accepted by the provider" in output and "091****678" in output
    for secret in (API_KEY, SECRET_KEY, SIGNING_KEY, PHONE, FORWARD, "84912345678"):
        assert secret not in output, secret
