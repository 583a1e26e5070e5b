"""Handlers in-process against moto's DynamoDB (tables built from template.yaml) and a fake eSMS."""

from __future__ import annotations

import importlib.util
import io
import logging
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.template import create_tables
from esms_calls import dependencies
from esms_calls.domain.phone import mask_phone
from tests.support.fake_esms import FakeEsms
from tests.support.lambda_context import FakeLambdaContext
from tests.support.logs import whole_phone_numbers
from tests.support.queues import CallsQueue, create_calls_queue, parameter_default

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-api-key-5f1c9a"
SECRET_KEY = "test-secret-key-a83d7e"
SIGNING_KEY = "test-signing-key-0d9b41c7"
PUBLIC_BASE_URL = "https://calls.example.test"


def load_function(name: str) -> ModuleType:
    """Import `functions/<name>/app.py` as Lambda does, under a module name of its own."""
    module_name = f"{name}_function_app"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Fresh tables, named uniquely, and the environment the template gives the functions."""
    suffix = uuid.uuid4().hex[:8]
    names = {"CallsTable": f"calls-{suffix}", "DedupeTable": f"dedupe-{suffix}"}
    with mock_aws():
        create_tables(boto3.client("dynamodb"), names)
        env = {
            "CALLS_TABLE_NAME": names["CallsTable"],
            "DEDUPE_TABLE_NAME": names["DedupeTable"],
            "ESMS_BASE_URL": "https://esms.test/MainService.svc/json",
            "ESMS_API_KEY": API_KEY,
            "ESMS_SECRET_KEY": SECRET_KEY,
            "CALLBACK_SIGNING_KEY": SIGNING_KEY,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        for key in (
            "ESMS_CREDENTIALS_SECRET",
            "CALLBACK_SIGNING_SECRET",
            "PUBLIC_BASE_URL_PARAMETER",
        ):
            monkeypatch.delenv(key, raising=False)
        dependencies.reset()
        yield names
        dependencies.reset()


@pytest.fixture
def esms(tables: dict[str, str]) -> Iterator[FakeEsms]:
    """The provider, faked at httpx's transport level; the real client parses its answers."""
    fake = FakeEsms()
    dependencies.use_esms_transport(fake.transport())
    yield fake
    dependencies.use_esms_transport(None)


@pytest.fixture
def calls_app() -> Any:
    return load_function("calls")


@pytest.fixture
def callback_app() -> Any:
    return load_function("callback")


@pytest.fixture
def invoke_callback(callback_app: Any, esms: FakeEsms):
    def invoke(event: dict[str, Any], context: FakeLambdaContext | None = None) -> dict[str, Any]:
        return callback_app.lambda_handler(
            event,
            context or FakeLambdaContext(function_name="CallbackFunction", timeout_seconds=60),
        )

    return invoke


@pytest.fixture(autouse=True)
def atomic_moto_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each request to an item atomically; moto's in-process backend does not
    lock, so concurrent requests could interleave inside one. Serialise them, as DynamoDB would."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", call_action)


@pytest.fixture(autouse=True)
def one_metrics_flush_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lambda runs one event at a time per environment; tests that run handlers on threads share
    one Powertools Metrics object, whose flush checks for metrics and then serialises them: a
    second thread flushing in between leaves the first with an empty set, and an error Lambda
    can never see. Serialise the flushes, as one environment would."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
        AmazonCloudWatchEMFProvider,
    )

    lock = threading.Lock()
    original = AmazonCloudWatchEMFProvider.flush_metrics

    def flush_metrics(self: AmazonCloudWatchEMFProvider, *args: Any, **kwargs: Any) -> None:
        with lock:
            original(self, *args, **kwargs)

    monkeypatch.setattr(AmazonCloudWatchEMFProvider, "flush_metrics", flush_metrics)


@pytest.fixture
def invoke_calls(calls_app: Any, esms: FakeEsms):
    def invoke(event: dict[str, Any], context: FakeLambdaContext | None = None) -> dict[str, Any]:
        return calls_app.lambda_handler(event, context or FakeLambdaContext())

    return invoke


@pytest.fixture
def calls_queue(tables: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> CallsQueue:
    """The calls queue and its dead-letter queue (the template's settings), and CallsFunction's
    environment pointing at it, with the template's default fan-out threshold."""
    queue = create_calls_queue(uuid.uuid4().hex[:8])
    monkeypatch.setenv("CALLS_QUEUE_URL", queue.url)
    monkeypatch.setenv("FAN_OUT_THRESHOLD", str(parameter_default("FanOutThreshold")))
    dependencies.reset()
    return queue


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Our log lines, formatted as in Lambda, whatever stream pytest gave the handler."""
    from esms_calls.observability import logger

    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield output
    logger.removeHandler(handler)


@pytest.fixture(autouse=True)
def no_whole_phone_number_in_any_log_line() -> Iterator[None]:
    """Every flow a functional test drives (HTTP, schedule, rule, queue, callback,
    reconciliation) logs at DEBUG, ours formatted as in Lambda and every library's line that
    reaches the root logger; after the test, no line may hold a whole phone number."""
    from esms_calls.observability import logger

    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logger.registered_formatter)
    handler.setLevel(logging.DEBUG)
    level = logger.log_level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        logger.removeHandler(handler)
        logger.setLevel(level)
    leaked = whole_phone_numbers(output.getvalue())
    assert not leaked, f"whole phone numbers in the logs: {[mask_phone(p) for p in leaked]}"
