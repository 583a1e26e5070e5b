"""Deployed, credentials and the signing key come from Secrets Manager and the callback base URL
from SSM, through Powertools Parameters (cached); none of them reaches a log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import boto3
import pytest

from esms_calls import dependencies
from esms_calls.domain.signing import callback_token
from esms_calls.observability import logger
from tests.support import events
from tests.support.fake_esms import body_of

API_KEY = "deployed-api-key-91c2"
SECRET_KEY = "deployed-secret-key-7f3a"
SIGNING_KEY = "deployed-signing-key-55d0e1"
BASE_URL = "https://abc123.execute-api.ap-southeast-1.amazonaws.com"


@pytest.fixture
def deployed(tables, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment template.yaml gives the functions, with the secrets and parameter real."""
    secrets = boto3.client("secretsmanager")
    credentials_arn = secrets.create_secret(
        Name="esms-calls/esms-credentials",
        SecretString=json.dumps({"api_key": API_KEY, "secret_key": SECRET_KEY}),
    )["ARN"]
    signing_arn = secrets.create_secret(Name="esms-calls/signing", SecretString=SIGNING_KEY)["ARN"]
    boto3.client("ssm").put_parameter(
        Name="/esms-calls-dev/public-base-url", Value=BASE_URL, Type="String"
    )
    for name in ("ESMS_API_KEY", "ESMS_SECRET_KEY", "CALLBACK_SIGNING_KEY", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("ESMS_CREDENTIALS_SECRET", credentials_arn)
    monkeypatch.setenv("CALLBACK_SIGNING_SECRET", signing_arn)
    monkeypatch.setenv("PUBLIC_BASE_URL_PARAMETER", "/esms-calls-dev/public-base-url")
    dependencies.reset()
    yield {"credentials_arn": credentials_arn}


def test_a_deployed_call_uses_the_secrets_and_the_published_base_url(
    invoke_calls, esms, deployed
) -> None:
    # Given the deployed configuration, and every log line captured
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        # When a call is placed
        response = invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "1"}))
    finally:
        logger.removeHandler(handler)
    # Then the provider got the secret's credentials and a CallbackUrl on the published base URL,
    # signed with the secret signing key
    assert response["statusCode"] == 202
    [sent] = esms.calls
    assert (sent["ApiKey"], sent["SecretKey"]) == (API_KEY, SECRET_KEY)
    call_id = body_of(response)["call_id"]
    token = callback_token(SIGNING_KEY.encode(), call_id)
    assert sent["CallbackUrl"].startswith(f"{BASE_URL}/callbacks/esms/{call_id}/{token}?")
    # And no secret reached the logs
    for secret in (API_KEY, SECRET_KEY, SIGNING_KEY):
        assert secret not in captured.getvalue()


def test_secrets_are_cached_between_invocations(invoke_calls, esms, deployed) -> None:
    # Given a call placed with the current credentials
    invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "1"}))
    # When the secret is rotated and another call follows at once
    boto3.client("secretsmanager").put_secret_value(
        SecretId=deployed["credentials_arn"],
        SecretString=json.dumps({"api_key": "rotated", "secret_key": "rotated"}),
    )
    invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "2"}))
    # Then the cached value served it (rotation takes effect within the cache's max age)
    assert esms.calls[1]["ApiKey"] == API_KEY
