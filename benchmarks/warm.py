"""Warm overhead per invocation, and DynamoDB requests per path, in-process.

The handlers of functions/*/app.py run as a warm Lambda would run them (every collaborator built,
Tracer disabled as in the tests), the provider faked at httpx's transport level
(dependencies.use_esms_transport), DynamoDB replayed at botocore's level (dynamodb_stub). Next to
each path, the minimal hand-written handler does the same I/O against the same fakes.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

API_KEY = "bench-api-key"
SECRET_KEY = "bench-secret-key"
SIGNING_KEY = "bench-signing-key-5b7e2d"
ESMS_BASE_URL = "https://esms.test/MainService.svc/json"
PUBLIC_BASE_URL = "https://calls.example.test"
BODY = {"phone": "+84 912 345 678", "template_id": "123", "max_retry": 1}
PATHS = ("place a call", "replay", "callback", "GET")


@dataclass
class PathResult:
    path: str
    ours_us: float
    minimal_us: float
    operations: list[str]
    writes: int
    reads: int
    wcu: float
    rcu: float

    @property
    def ratio(self) -> float:
        return self.ours_us / self.minimal_us


def _environment(tables: dict[str, str]) -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "ap-southeast-1",
            "POWERTOOLS_SERVICE_NAME": "esms-calls",
            "POWERTOOLS_METRICS_NAMESPACE": "EsmsCalls",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            "CALLS_TABLE_NAME": tables["CallsTable"],
            "DEDUPE_TABLE_NAME": tables["DedupeTable"],
            "ESMS_BASE_URL": ESMS_BASE_URL,
            "ESMS_API_KEY": API_KEY,
            "ESMS_SECRET_KEY": SECRET_KEY,
            "CALLBACK_SIGNING_KEY": SIGNING_KEY,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        }
    )
    for name in ("ESMS_CREDENTIALS_SECRET", "CALLBACK_SIGNING_SECRET", "PUBLIC_BASE_URL_PARAMETER"):
        os.environ.pop(name, None)


def _load_function(name: str) -> Any:
    module_name = f"bench_{name}_function_app"
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _timed(fn: Callable[[], Any], rounds: int) -> list[float]:
    times = []
    gc.collect()
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


@contextlib.contextmanager
def _stdout_discarded() -> Any:
    """Log lines and metrics go where Lambda's would, a pipe nobody waits on: /dev/null at the
    file-descriptor level (Powertools' handlers hold sys.stdout itself, redirect_stdout misses
    them)."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(null)
        os.close(saved)


def run(rounds: int = 300) -> list[PathResult]:
    saved = dict(os.environ)
    try:
        return _run(rounds)
    finally:  # the local stack started after this must not inherit the fakes' settings
        os.environ.clear()
        os.environ.update(saved)


def _run(rounds: int) -> list[PathResult]:
    import boto3
    from dynamodb_stub import Recorder, Replayer, capacity
    from minimal_handlers import MinimalHandlers
    from moto import mock_aws

    from devstack.template import create_tables
    from esms_calls import dependencies
    from esms_calls.domain.signing import callback_token
    from tests.support import callbacks, events
    from tests.support.clients import dynamodb_client
    from tests.support.fake_esms import FakeEsms
    from tests.support.lambda_context import FakeLambdaContext

    suffix = uuid.uuid4().hex[:8]
    tables = {"CallsTable": f"calls-{suffix}", "DedupeTable": f"dedupe-{suffix}"}
    _environment(tables)
    dependencies.reset()
    fake = FakeEsms()
    dependencies.use_esms_transport(fake.transport())
    calls_app = _load_function("calls")
    callback_app = _load_function("callback")
    calls_ctx = FakeLambdaContext(timeout_seconds=10**6)
    callback_ctx = FakeLambdaContext(function_name="CallbackFunction", timeout_seconds=10**6)
    minimal = MinimalHandlers(
        tables["CallsTable"],
        tables["DedupeTable"],
        ESMS_BASE_URL,
        API_KEY,
        SECRET_KEY,
        SIGNING_KEY.encode(),
        fake.transport(),
    )
    ours_client = dynamodb_client()

    def body_of(answer: dict[str, Any]) -> dict[str, Any]:
        import json

        assert answer["statusCode"] in (200, 202), answer
        return json.loads(answer["body"])

    key = uuid.uuid4().hex
    key_bytes = SIGNING_KEY.encode()
    post = events.post_calls(BODY, headers={"Idempotency-Key": key})
    minimal_key = uuid.uuid4().hex
    minimal_post = events.post_calls(BODY, headers={"Idempotency-Key": minimal_key})

    recordings: dict[tuple[str, str], Any] = {}
    with mock_aws(), _stdout_discarded():
        raw = boto3.client("dynamodb")
        create_tables(raw, tables)

        def record(path: str, who: str, client: Any, fn: Callable[[], Any]) -> Any:
            with Recorder(client) as rec:
                out = fn()
            recordings[(path, who)] = rec
            return out

        placed = body_of(
            record(
                "place a call",
                "ours",
                ours_client,
                lambda: calls_app.lambda_handler(post, calls_ctx),
            )
        )
        minimal_placed = body_of(
            record(
                "place a call",
                "minimal",
                minimal.ddb,
                lambda: minimal.place_call(minimal_post, None),
            )
        )
        body_of(
            record("replay", "ours", ours_client, lambda: calls_app.lambda_handler(post, calls_ctx))
        )
        body_of(
            record("replay", "minimal", minimal.ddb, lambda: minimal.place_call(minimal_post, None))
        )
        call_id = placed["call_id"]
        url = f"{PUBLIC_BASE_URL}/callbacks/esms/{call_id}/{callback_token(key_bytes, call_id)}"
        callback = callbacks.callback_event(f"{url}?{callbacks.report_query(placed['sms_id'])}")
        body_of(
            record(
                "callback",
                "ours",
                ours_client,
                lambda: callback_app.lambda_handler(callback, callback_ctx),
            )
        )
        other = minimal_placed["call_id"]
        minimal_url = f"{PUBLIC_BASE_URL}/callbacks/esms/{other}/{callback_token(key_bytes, other)}"
        minimal_callback = callbacks.callback_event(
            f"{minimal_url}?{callbacks.report_query(minimal_placed['sms_id'])}"
        )
        body_of(
            record(
                "callback", "minimal", minimal.ddb, lambda: minimal.callback(minimal_callback, None)
            )
        )
        get = events.get_call(call_id)
        minimal_get = events.get_call(other)
        body_of(
            record("GET", "ours", ours_client, lambda: calls_app.lambda_handler(get, calls_ctx))
        )
        body_of(record("GET", "minimal", minimal.ddb, lambda: minimal.get_call(minimal_get, None)))

        def current_item(table: str, item_key: dict[str, Any]) -> dict | None:
            return raw.get_item(TableName=table, Key=item_key, ConsistentRead=True).get("Item")

        units = {path: capacity(recordings[(path, "ours")], current_item) for path in PATHS}

    # Timed: no moto; every DynamoDB request answered from the recordings.
    replayer = Replayer()
    detach = [replayer.attach(ours_client), replayer.attach(minimal.ddb)]
    fresh_post = lambda: events.post_calls(BODY, headers={"Idempotency-Key": uuid.uuid4().hex})  # noqa: E731
    scenarios: dict[tuple[str, str], Callable[[], Any]] = {
        ("place a call", "ours"): lambda: calls_app.lambda_handler(fresh_post(), calls_ctx),
        ("place a call", "minimal"): lambda: minimal.place_call(fresh_post(), None),
        ("replay", "ours"): lambda: calls_app.lambda_handler(post, calls_ctx),
        ("replay", "minimal"): lambda: minimal.place_call(minimal_post, None),
        ("callback", "ours"): lambda: callback_app.lambda_handler(callback, callback_ctx),
        ("callback", "minimal"): lambda: minimal.callback(minimal_callback, None),
        ("GET", "ours"): lambda: calls_app.lambda_handler(get, calls_ctx),
        ("GET", "minimal"): lambda: minimal.get_call(minimal_get, None),
    }
    samples: dict[tuple[str, str], list[float]] = {k: [] for k in scenarios}
    try:
        with _stdout_discarded():
            # Rounds in blocks, alternating ours and minimal, so that drift hits both alike.
            block = 25
            for _ in range(max(1, rounds // block)):
                for (path, who), fn in scenarios.items():
                    recording = recordings[(path, who)]

                    def once(
                        fn: Callable[[], Any] = fn,
                        recording: Any = recording,
                        where: tuple[str, str] = (path, who),
                    ) -> None:
                        replayer.play(recording)
                        answer = fn()
                        assert answer["statusCode"] in (200, 202), answer
                        assert replayer.done(), where

                    samples[(path, who)] += _timed(once, block)
    finally:
        for undo in detach:
            undo()
        dependencies.use_esms_transport(None)

    results = []
    for path in PATHS:
        rec = recordings[(path, "ours")]
        wcu, rcu = units[path]
        results.append(
            PathResult(
                path=path,
                ours_us=statistics.median(samples[(path, "ours")]) * 1e6,
                minimal_us=statistics.median(samples[(path, "minimal")]) * 1e6,
                operations=rec.operations,
                writes=rec.count(
                    {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
                ),
                reads=rec.count({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}),
                wcu=wcu,
                rcu=rcu,
            )
        )
    return results


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "local"), str(Path(__file__).parent)]
    for r in run(int(sys.argv[1]) if len(sys.argv) > 1 else 100):
        print(
            f"{r.path:14} ours {r.ours_us:8.0f} us  minimal {r.minimal_us:8.0f} us  "
            f"x{r.ratio:5.2f}  {r.operations} W{r.writes} R{r.reads} WCU {r.wcu} RCU {r.rcu}"
        )
