"""Deployed, credentials and the signing key come from Secrets Manager and the callback base URL
from SSM, through Powertools Parameters (cached); none of them reaches a log line. With
SnapStart, the runtime hooks leave no secret in the snapshot and make everything fresh after a
restore."""

from __future__ import annotations

import gc
import io
import json
import logging
import random
import sys
import weakref
from collections.abc import Iterator

import boto3
import pytest
from snapshot_restore_py import get_after_restore, get_before_snapshot

from esms_calls import dependencies, snapshots
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


def run_hooks(registry: list, ours: object) -> int:
    """Run the hooks of esms_calls/snapshots.py in this registry as the runtime does (before a
    snapshot in reverse order of registration, after a restore in order)."""
    entries = [(f, a, k) for f, a, k in registry if f is ours]
    if registry is get_before_snapshot():
        entries.reverse()
    for func, args, kwargs in entries:
        func(*args, **kwargs)
    return len(entries)


def test_the_snapshot_holds_no_secret_client_or_connection(
    calls_app, callback_app, invoke_calls, esms, deployed
) -> None:
    # Given an environment that has read the secrets, built its clients and called the provider
    invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "1"}))
    root = dependencies.root()
    held = [weakref.ref(o) for o in (root, root.esms_client, root.dynamodb, root._secrets)]
    del root
    # When Lambda runs the before-snapshot hooks of both functions
    assert run_hooks(get_before_snapshot(), snapshots.before_snapshot) == 2
    # Then nothing that held a secret, a credential or a connection is still reachable
    gc.collect()
    assert [ref() for ref in held] == [None] * len(held)
    # And every route of CallsFunction is loaded into the snapshot
    assert {f"esms_calls.api.{name}" for name in ("batches_api", "listing_api")} <= set(sys.modules)


def test_after_a_restore_secrets_clients_and_random_state_are_fresh(
    calls_app, invoke_calls, esms, deployed
) -> None:
    # Given a warm environment (secrets cached, clients and the provider's connection pool built)
    invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "1"}))
    root = dependencies.root()
    provider, dynamodb, session = root.esms_client, root.dynamodb, boto3.DEFAULT_SESSION
    random_state = random.getstate()
    # And the credentials rotated since the snapshot was taken
    boto3.client("secretsmanager").put_secret_value(
        SecretId=deployed["credentials_arn"],
        SecretString=json.dumps({"api_key": "rotated-key", "secret_key": "rotated-secret"}),
    )
    # When Lambda restores the environment and runs the after-restore hooks
    assert run_hooks(get_after_restore(), snapshots.after_restore) >= 1
    # Then the root, its clients and boto3's session (its credentials) are new, the old
    # connection pool is closed, and random draws another sequence
    fresh = dependencies.root()
    assert fresh is not root and fresh.dynamodb is not dynamodb
    assert boto3.DEFAULT_SESSION is not session
    assert provider._http.is_closed
    assert random.getstate() != random_state
    # And the next call uses the rotated credentials at once, not a cached copy
    invoke_calls(events.post_calls({"phone": "0912345678", "template_id": "2"}))
    assert (esms.calls[1]["ApiKey"], esms.calls[1]["SecretKey"]) == (
        "rotated-key",
        "rotated-secret",
    )
