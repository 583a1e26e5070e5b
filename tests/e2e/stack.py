"""Starting the local stack as a user does: ``python -m devstack`` in a subprocess, on loopback.

Every wait has a deadline; every stack started here is stopped (SIGINT, as Ctrl-C) at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_SECONDS = 45.0
STOP_DEADLINE_SECONDS = 15.0
# Variables of the test run that would change what the stack does, were they inherited.
_STACK_VARIABLES = (
    "PORT",
    "DYNAMODB",
    "CALLS_TABLE_NAME",
    "DEDUPE_TABLE_NAME",
    "ESMS_BASE_URL",
    "ESMS_API_KEY",
    "ESMS_SECRET_KEY",
    "CALLBACK_SIGNING_KEY",
    "PUBLIC_BASE_URL",
    "RECONCILE_EVERY",
    "CONCURRENCY",
    "LOG_FORMAT",
    "PARAMETER_OVERRIDES",
    "ESMS_SIM_CONFIG",
    "ESMS_SIM_CONFIG_JSON",
    "ESMS_SIM_PORT",
    "ESMS_SIM_HOST",
    "ESMS_SIM_API_KEY",
    "ESMS_SIM_SECRET_KEY",
)


def stack_environment(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STACK_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "local"), str(ROOT / "layers" / "shared")])
    env["NO_COLOR"] = "1"
    env.update(overrides or {})
    return env


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def health(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/_devstack/health", timeout=5)
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    @property
    def simulator_url(self) -> str:
        url = self.health()["esms"]["simulator_url"]
        assert url, "this stack has no embedded simulator"
        return str(url)

    def output(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT, then the exit code (killed after the deadline: a failure)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(
                f"the stack did not stop within {STOP_DEADLINE_SECONDS} s:\n{self.output()}"
            ) from None


@contextmanager
def local_stack(*args: str, env: Mapping[str, str] | None = None) -> Iterator[RunningStack]:
    """Start ``python -m devstack --port 0`` and wait until it has written its URL."""
    with tempfile.TemporaryDirectory(prefix="devstack-e2e-") as tmp:
        url_file = Path(tmp) / "url"
        log_path = Path(tmp) / "stack.log"
        command = [sys.executable, "-m", "devstack", "--port", "0", "--url-file", str(url_file)]
        command += ["--reconcile-every", "0", "--concurrency", "2", *args]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=stack_environment(env), stdout=log, stderr=subprocess.STDOUT
            )
        stack = RunningStack(process, "", log_path)
        try:
            deadline = time.monotonic() + START_DEADLINE_SECONDS
            while not url_file.exists():
                if process.poll() is not None:
                    raise AssertionError(
                        f"the stack exited ({process.returncode}):\n{stack.output()}"
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(f"the stack was not ready in time:\n{stack.output()}")
                time.sleep(0.05)
            stack.url = url_file.read_text("utf-8").strip()
            yield stack
        finally:
            # A stack that does not stop is a failure of its own (interrupt raises it), even
            # after the test passed; after a failing test it is reported chained to that one.
            if process.poll() is None:
                stack.interrupt()


def wait_for(predicate: Any, *, timeout: float, interval: float = 0.1) -> Any:
    """Call ``predicate`` until it returns something truthy; that value, or the last one."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def invoke_event(stack: RunningStack, function: str, event: dict[str, Any]) -> dict[str, Any]:
    """`python -m devstack invoke FUNCTION -` against the stack, the event on stdin, as a user
    runs it; the handler's answer it prints."""
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "invoke", function, "-", "--stack-url", stack.url],
        cwd=ROOT, env=stack_environment(), input=json.dumps(event).encode(),
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer
