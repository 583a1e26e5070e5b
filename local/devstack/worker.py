"""One Lambda execution environment: ``python -m devstack.worker`` (started by the stack).

The process imports the handler once (the init phase), then handles one event at a time, read
as JSON lines from stdin; results go back as JSON lines on a separate pipe (``--results-fd``), so
that stdout and stderr carry only what the handler prints, as CloudWatch would receive it. Module
state (Powertools Logger keys, ``functools.cache`` collaborators) lives as long as the process,
exactly as it lives as long as an execution environment.

Protocol, one JSON object per line:

- worker → stack: ``{"type": "ready", "init_ms": 812.5}`` or ``{"type": "init_error", "error":
  {...}}`` once; then per job ``{"type": "result", "id": ..., "ok": true, "result": ...,
  "duration_ms": ...}`` or ``{"type": "result", "id": ..., "ok": false, "error": {"errorType":
  ..., "errorMessage": ..., "stackTrace": [...]}, ...}``;
- stack → worker: ``{"id": ..., "event": {...}, "request_id": ..., "timeout_ms": ...,
  "faults": {"fail_dynamodb_writes": true}}``. End of stdin ends the worker.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from devstack.faults import DynamoDbFaults


@dataclass
class CognitoIdentity:
    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


@dataclass
class LambdaContext:
    """The context object the Python runtime passes (``awslambdaric``'s LambdaContext): the
    same attributes, ``memory_limit_in_mb`` a string as there, and a real deadline."""

    aws_request_id: str
    deadline_ms: int  # epoch milliseconds
    function_name: str = field(default_factory=lambda: os.environ["AWS_LAMBDA_FUNCTION_NAME"])
    function_version: str = field(
        default_factory=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    )
    memory_limit_in_mb: str = field(
        default_factory=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    )
    log_group_name: str = field(
        default_factory=lambda: os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
    )
    log_stream_name: str = field(
        default_factory=lambda: os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
    )
    invoked_function_arn: str = ""
    identity: CognitoIdentity = field(default_factory=CognitoIdentity)
    client_context: Any = None
    tenant_id: str | None = None

    def __post_init__(self) -> None:
        if not self.invoked_function_arn:
            region = os.environ.get("AWS_REGION", "ap-southeast-1")
            account = os.environ.get("DEVSTACK_ACCOUNT_ID", "123456789012")
            self.invoked_function_arn = (
                f"arn:aws:lambda:{region}:{account}:function:{self.function_name}"
            )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)
        sys.stdout.flush()


def _error(exc: BaseException) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(frames),
    }


def _max_memory_mb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024)


class Runtime:
    def __init__(self, handler: Callable[..., Any], results: TextIO, init_ms: float) -> None:
        self.handler = handler
        self.results = results
        self.init_ms: float | None = init_ms
        self.faults = DynamoDbFaults.installed()

    def send(self, message: dict[str, Any]) -> None:
        self.results.write(json.dumps(message) + "\n")
        self.results.flush()

    def run(self, stdin: TextIO) -> int:
        for line in stdin:
            if not line.strip():
                continue
            job = json.loads(line)
            fatal = self.invoke(job)
            if fatal:
                return 1
        return 0

    def invoke(self, job: dict[str, Any]) -> bool:
        """Handle one job; True when the environment must end (the runtime would reset it)."""
        request_id = str(job["request_id"])
        started = time.monotonic()
        context = LambdaContext(
            aws_request_id=request_id,
            deadline_ms=int(time.time() * 1000) + int(job["timeout_ms"]),
        )
        print(f"START RequestId: {request_id} Version: {context.function_version}", flush=True)
        self.faults.arm(job.get("faults") or {})
        fatal = False
        try:
            result = self.handler(job["event"], context)
            payload = json.dumps(result)
            message: dict[str, Any] = {"type": "result", "id": job["id"], "ok": True}
            message["result"] = json.loads(payload)
        except Exception as exc:  # the runtime reports it and keeps the environment
            message = {"type": "result", "id": job["id"], "ok": False, "error": _error(exc)}
            if isinstance(exc, TypeError) and "JSON serializable" in str(exc):
                message["error"]["errorType"] = "Runtime.MarshalError"
            message["error"]["requestId"] = request_id
            text = "".join(traceback.format_exception(exc))
            print(f"[ERROR] {type(exc).__name__}: {exc}\n{text}", file=sys.stderr, flush=True)
        except BaseException as exc:  # SystemExit & co.: the runtime resets the environment
            message = {"type": "result", "id": job["id"], "ok": False, "error": _error(exc)}
            message["error"]["errorType"] = "Runtime.ExitError"
            fatal = True
        finally:
            self.faults.disarm()
        duration = (time.monotonic() - started) * 1000
        message["duration_ms"] = round(duration, 2)
        print(f"END RequestId: {request_id}", flush=True)
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {int(duration) + 1} ms\t"
            f"Memory Size: {context.memory_limit_in_mb} MB\tMax Memory Used: {_max_memory_mb()} MB"
        )
        if self.init_ms is not None:
            report += f"\tInit Duration: {self.init_ms:.2f} ms"
            self.init_ms = None
        print(report, flush=True)
        self.send(message)
        return fatal


def main(argv: Sequence[str] | None = None) -> int:
    # The stack owns shutdown: a Ctrl-C meant for it must not interrupt a handler mid-event.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parser = argparse.ArgumentParser(prog="python -m devstack.worker")
    parser.add_argument("--results-fd", type=int, required=True)
    parser.add_argument("--code-dir", required=True, help="the function's CodeUri")
    parser.add_argument("--layer-dir", action="append", default=[], help="a layer's content")
    parser.add_argument("--handler", required=True, help="module.function")
    args = parser.parse_args(argv)
    results = os.fdopen(args.results_fd, "w", encoding="utf-8")

    started = time.monotonic()
    # Lambda's order: the code directory first, then the layers.
    sys.path[:0] = [args.code_dir, *args.layer_dir]
    # Before the handler builds any boto3 client: clients copy the session's event hooks.
    DynamoDbFaults.install()
    module_name, _, function_name = args.handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, function_name)
    except Exception as exc:
        error = _error(exc)
        error["errorType"] = f"Runtime.ImportModuleError ({type(exc).__name__})"
        traceback.print_exc()
        results.write(json.dumps({"type": "init_error", "error": error}) + "\n")
        results.flush()
        return 1
    init_ms = (time.monotonic() - started) * 1000
    results.write(json.dumps({"type": "ready", "init_ms": round(init_ms, 2)}) + "\n")
    results.flush()
    return Runtime(handler, results, init_ms).run(sys.stdin)


if __name__ == "__main__":
    sys.exit(main())
