"""Running `esms-calls` in-process against an httpx MockTransport: what it sent, printed, exited."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from esms_calls_cli.app import run


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    requests: list[httpx.Request] = field(default_factory=list)

    def body(self, index: int = 0) -> Any:
        return json.loads(self.requests[index].content)


class FakeTty(io.StringIO):
    """A terminal: what the live progress line writes is kept, `\\r`s included."""

    def isatty(self) -> bool:
        return True


Handler = Callable[[httpx.Request], httpx.Response]


def problem(status: int, type_: str, detail: str, **extra: Any) -> httpx.Response:
    body = {"type": f"urn:esms-calls:problem:{type_}", "title": "t", "status": status}
    return httpx.Response(
        status,
        json={**body, "detail": detail, **extra},
        headers={"Content-Type": "application/problem+json"},
    )


def run_cli(
    *argv: str,
    answer: Handler | None = None,
    stdout: io.StringIO | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CliRun:
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        sent.append(request)
        return answer(request) if answer else httpx.Response(200, json={})

    out, err = stdout or io.StringIO(), io.StringIO()
    code = run(list(argv), out, err, transport=httpx.MockTransport(handle), clock=clock)
    return CliRun(code, out.getvalue(), err.getvalue(), sent)
