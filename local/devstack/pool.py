"""Execution environments of one function: a small pool of worker processes.

As on Lambda, an environment handles one event at a time and keeps its module state between
events; a new one starts (a cold start) when every existing one is busy, up to the function's
concurrency; above it, requests wait for the first environment that frees up. An environment
that exceeds the function's Timeout is killed (Lambda ends it too) and replaced on demand.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Lambda gives the init phase 10 s; a laptop importing cold may need a little more.
INIT_TIMEOUT_SECONDS = 20.0
_STOP_GRACE_SECONDS = 2.0
# The handler's own deadline is its Timeout; this is only for the pipes.
_RESULT_SLACK_SECONDS = 0.25


@dataclass(frozen=True)
class FunctionSpec:
    """What the stack knows of one function of the template."""

    logical_id: str
    code_dir: Path
    handler: str  # module.function
    layer_dirs: tuple[Path, ...]
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, str] = field(repr=False)  # holds credentials: never printed


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation."""

    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    worker: int | None = None
    cold: bool = False
    init_ms: float | None = None


class FunctionError(RuntimeError):
    """The environment could not run the event (init failed, crashed, timed out)."""


class Throttled(RuntimeError):
    """Every environment stayed busy for as long as the caller could wait."""


class Worker:
    """One worker process (one execution environment). Used by one invocation at a time."""

    def __init__(
        self,
        spec: FunctionSpec,
        index: int,
        output: Callable[[Worker], Callable[[str], None]],
        python: str,
    ) -> None:
        self.spec = spec
        self.index = index
        sink = output(self)  # before the process starts: none of its lines is lost
        self.invocations = 0
        self.init_ms: float | None = None
        self._results: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._ready = threading.Event()
        self._init_error: dict[str, Any] | None = None
        self._retired = False  # ended (timeout, exit): never handed another event
        read_fd, write_fd = os.pipe()
        env = dict(spec.environment)
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = (
            f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        )
        command = [python, "-m", "devstack.worker", "--results-fd", str(write_fd)]
        command += ["--code-dir", str(spec.code_dir), "--handler", spec.handler]
        for layer in spec.layer_dirs:
            command += ["--layer-dir", str(layer)]
        try:
            self.process = subprocess.Popen(
                command,
                cwd=spec.code_dir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                # Its own session: a Ctrl-C in the terminal reaches the stack, which then stops
                # its workers in order, rather than every handler at once.
                start_new_session=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
            )
        finally:
            os.close(write_fd)
        self._results_file = os.fdopen(read_fd, "r", encoding="utf-8")
        self._threads = [
            threading.Thread(target=self._read_results, name=f"{spec.logical_id}#{index}-results"),
            threading.Thread(
                target=self._read_output, args=(sink,), name=f"{spec.logical_id}#{index}-out"
            ),
        ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return not self._retired and self.process.poll() is None and self._init_error is None

    def _read_output(self, output: Callable[[str], None]) -> None:
        for line in self.process.stdout or ():
            output(line)

    def _read_results(self) -> None:
        for line in self._results_file:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("type") == "ready":
                self.init_ms = float(message.get("init_ms", 0.0))
                self._ready.set()
            elif message.get("type") == "init_error":
                self._init_error = message.get("error") or {}
                self._ready.set()
            else:
                self._results.put(message)
        self._results.put(None)  # the process is gone
        self._ready.set()

    def wait_ready(self, timeout: float = INIT_TIMEOUT_SECONDS) -> None:
        if not self._ready.wait(timeout):
            self.kill()
            raise FunctionError(f"{self.spec.logical_id}: init did not finish in {timeout:.0f} s")
        if self._init_error is not None:
            raise FunctionError(
                f"{self.spec.logical_id}: init failed: {self._init_error.get('errorType')}: "
                f"{self._init_error.get('errorMessage')}"
            )
        if self.init_ms is None:
            raise FunctionError(f"{self.spec.logical_id}: the environment exited during init")

    def invoke(
        self, event: Any, *, request_id: str, faults: Mapping[str, Any] | None = None
    ) -> Invocation:
        cold = self.invocations == 0
        self.wait_ready()
        self.invocations += 1
        timeout_ms = self.spec.timeout_seconds * 1000
        job = {
            "id": self.invocations,
            "event": event,
            "request_id": request_id,
            "timeout_ms": timeout_ms,
            "faults": dict(faults or {}),
        }
        try:
            if self.process.stdin is None:
                raise OSError("no stdin")
            self.process.stdin.write(json.dumps(job) + "\n")
            self.process.stdin.flush()
        except OSError as exc:
            raise FunctionError(f"{self.spec.logical_id}: the environment is gone") from exc
        try:
            message = self._results.get(timeout=self.spec.timeout_seconds + _RESULT_SLACK_SECONDS)
        except queue.Empty:
            self._retired = True
            self.kill()
            return Invocation(
                ok=False,
                error={
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {self.spec.timeout_seconds:.2f} seconds",
                },
                duration_ms=timeout_ms,
                worker=self.index,
                cold=cold,
            )
        if message is None or (message.get("error") or {}).get("errorType") == "Runtime.ExitError":
            self._retired = True
        if message is None:
            return Invocation(
                ok=False,
                error={
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"the environment exited (code {self.process.poll()})",
                },
                worker=self.index,
                cold=cold,
            )
        return Invocation(
            ok=bool(message.get("ok")),
            result=message.get("result"),
            error=message.get("error"),
            duration_ms=float(message.get("duration_ms", 0.0)),
            worker=self.index,
            cold=cold,
            init_ms=self.init_ms if cold else None,
        )

    def stop(self, timeout: float = _STOP_GRACE_SECONDS) -> None:
        """End of stdin ends the worker's loop; kill it if it does not end in time."""
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.join()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass

    def join(self) -> None:
        for thread in self._threads:
            thread.join(_STOP_GRACE_SECONDS)
        try:
            self._results_file.close()
        except OSError:
            pass


class FunctionPool:
    """Up to ``concurrency`` environments of one function, started on demand."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        concurrency: int,
        output: Callable[[Worker], Callable[[str], None]],
        on_cold_start: Callable[[Worker], None] | None = None,
        python: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.spec = spec
        self.concurrency = concurrency
        self._output = output
        self._on_cold_start = on_cold_start
        self._python = python or sys.executable
        self._lock = threading.Condition()
        self._workers: list[Worker] = []
        self._busy: set[int] = set()
        self._numbers = itertools.count(1)
        self._closed = False

    @property
    def workers(self) -> list[Worker]:
        with self._lock:
            return list(self._workers)

    def prewarm(self, count: int = 1) -> list[Worker]:
        """Start ``count`` environments now (up to the concurrency); returns them, not waited."""
        started = []
        with self._lock:
            while len(self._workers) < min(count, self.concurrency) and not self._closed:
                started.append(self._spawn())
        return started

    def _spawn(self) -> Worker:
        worker = Worker(self.spec, next(self._numbers), self._output, self._python)
        self._workers.append(worker)
        return worker

    def _acquire(self, wait: float) -> Worker:
        deadline = time.monotonic() + wait
        with self._lock:
            while True:
                if self._closed:
                    raise FunctionError(f"{self.spec.logical_id}: the stack is stopping")
                self._workers = [w for w in self._workers if w.alive() or w.index in self._busy]
                for worker in self._workers:
                    if worker.index not in self._busy:
                        self._busy.add(worker.index)
                        return worker
                if len(self._workers) < self.concurrency:
                    worker = self._spawn()
                    self._busy.add(worker.index)
                    return worker
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Throttled(f"{self.spec.logical_id}: all {self.concurrency} busy")
                self._lock.wait(remaining)

    def _release(self, worker: Worker) -> None:
        with self._lock:
            self._busy.discard(worker.index)
            if not worker.alive():
                self._workers = [w for w in self._workers if w is not worker]
            self._lock.notify_all()

    def invoke(
        self,
        event: Any,
        *,
        request_id: str | None = None,
        faults: Mapping[str, Any] | None = None,
        wait: float | None = None,
    ) -> Invocation:
        """Run one event in a free environment (starting one if allowed, else waiting up to
        ``wait`` seconds, the function's Timeout by default)."""
        worker = self._acquire(self.spec.timeout_seconds if wait is None else wait)
        try:
            cold = worker.invocations == 0
            if cold and self._on_cold_start is not None:
                worker.wait_ready()
                self._on_cold_start(worker)
            return worker.invoke(event, request_id=request_id or str(uuid.uuid4()), faults=faults)
        finally:
            self._release(worker)

    def wait_ready(self, timeout: float = INIT_TIMEOUT_SECONDS) -> None:
        for worker in self.workers:
            worker.wait_ready(timeout)

    def stop(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._lock.notify_all()
        threads = [threading.Thread(target=worker.stop, daemon=True) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(_STOP_GRACE_SECONDS * 2)
        with self._lock:
            self._workers.clear()
