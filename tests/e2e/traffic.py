"""Traffic for the reliability tests: concurrent requests with their timings, percentiles, and
the simulator's admin endpoints (rules, what it received, what it sent).

Everything here talks to loopback addresses handed out by a stack this test run started; every
loop is bounded by a count and every wait by a deadline.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

JSON = {"Content-Type": "application/json"}
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, as the client saw it."""

    status: int
    headers: httpx.Headers
    body: Any  # the parsed JSON, else the text
    elapsed_ms: float

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def send(client: httpx.Client, method: str, url: str, **kwargs: Any) -> Answer:
    started = time.perf_counter()
    response = client.request(method, url, **kwargs)
    elapsed_ms = (time.perf_counter() - started) * 1000
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return Answer(response.status_code, response.headers, body, elapsed_ms)


def post_call(
    client: httpx.Client, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Answer:
    headers = {**JSON, **(headers or {})}
    return send(client, "POST", "/calls", content=json.dumps(body), headers=headers)


def in_parallel(function: Callable[[T], R], items: Iterable[T], *, workers: int) -> list[R]:
    """``function`` over ``items`` on ``workers`` threads; results in the items' order."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="e2e-load") as pool:
        return list(pool.map(function, items))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.5 for p50, 0.99 for p99)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 0.50), 1),
        "p99_ms": round(percentile(values, 0.99), 1),
        "max_ms": round(max(values), 1),
    }


class SimulatorAdmin:
    """The embedded eSMS simulator's admin endpoints (``/_simulator/...``)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> SimulatorAdmin:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, f"{response.request.url}: {response.text}"
        return response.json()

    def set_rules(self, rules: list[dict[str, Any]], default: dict[str, Any] | None = None) -> Any:
        body: dict[str, Any] = {"rules": rules}
        if default is not None:
            body["default"] = default
        return self._ok(self.client.put("/_simulator/rules", json=body))

    def add_rule(self, rule: dict[str, Any]) -> Any:
        return self._ok(self.client.post("/_simulator/rules", json=rule))

    def reset_rules(self) -> Any:
        return self._ok(self.client.delete("/_simulator/rules"))

    def settings(self, **changes: Any) -> dict[str, Any]:
        if changes:
            return dict(self._ok(self.client.patch("/_simulator/settings", json=changes)))
        return dict(self._ok(self.client.get("/_simulator/settings")))

    def calls(self) -> list[dict[str, Any]]:
        return list(self._ok(self.client.get("/_simulator/calls"))["calls"])

    def requests(self, api: str | None = None) -> list[dict[str, Any]]:
        params = {"api": api} if api else None
        return list(self._ok(self.client.get("/_simulator/requests", params=params))["requests"])

    def callbacks(self, sms_id: str | None = None) -> list[dict[str, Any]]:
        params = {"sms_id": sms_id} if sms_id else None
        return list(self._ok(self.client.get("/_simulator/callbacks", params=params))["callbacks"])

    def wait_idle(self, timeout: float) -> bool:
        answer = self.client.post(
            "/_simulator/wait-idle", params={"timeout": timeout}, timeout=timeout + 10
        )
        return bool(self._ok(answer).get("idle"))

    def make_call_requests(self, request_id: str) -> list[dict[str, Any]]:
        """The MakeCallRecord_V2 requests that carried this RequestID (either spelling)."""
        found = []
        for request in self.requests("MakeCallRecord_V2"):
            params = {name.lower(): value for name, value in request["params"].items()}
            if params.get("requestid") == request_id:
                found.append(request)
        return found
