"""An in-process eSMS for functional tests, at httpx's transport level: scripted answers and
faults, and a record of every request the client sent."""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import httpx

Answer = Callable[[httpx.Request], httpx.Response]


def accept(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"CodeResult": "100", "SMSID": str(uuid.uuid4())})


def refuse(code: str, message: str = "refused") -> Answer:
    return lambda request: httpx.Response(200, json={"CodeResult": code, "ErrorMessage": message})


def status(code: int, text: str = "", content_type: str = "text/html") -> Answer:
    return lambda request: httpx.Response(code, text=text, headers={"Content-Type": content_type})


def raises(error: type[httpx.TransportError]) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return answer


class FakeEsms:
    """Answers each request with the next scripted answer, or accepts it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self.on_request: Callable[[httpx.Request], None] | None = None
        # Requests being answered right now, and the most there ever were at once.
        self.in_flight = 0
        self.max_in_flight = 0

    def then(self, *answers: Answer) -> FakeEsms:
        self._script.extend(answers)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            answer = self._script.popleft() if self._script else accept
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.on_request:
                self.on_request(request)
            return answer(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def calls(self) -> list[dict[str, str]]:
        """The query of every MakeCallRecord_V2 or MakeCallTemplate_V2 request, by the
        provider's parameter names."""
        return [
            dict(parse_qsl(urlsplit(str(r.url)).query, keep_blank_values=True))
            for r in self.requests
            if r.url.path.endswith(("/MakeCallRecord_V2", "/MakeCallTemplate_V2"))
        ]


def body_of(response: dict) -> dict:
    return json.loads(response["body"])
