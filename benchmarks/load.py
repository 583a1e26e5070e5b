"""Local stack throughput: `python -m devstack` in a process of its own, driven over loopback by
a bounded concurrent httpx load (a fixed number of requests, a fixed number of workers, a time
limit). POST /calls first; then one callback for each call it placed."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 8
TIME_LIMIT_SECONDS = 90
SIGNING_KEY = "bench-load-signing-key-7c1d"


def _drive(
    client: httpx.Client, requests: list[tuple[str, str, dict | None]]
) -> tuple[list[float], list[httpx.Response], float]:
    deadline = time.monotonic() + TIME_LIMIT_SECONDS

    def one(request: tuple[str, str, dict | None]) -> tuple[float, httpx.Response | None]:
        if time.monotonic() > deadline:
            return 0.0, None
        method, url, body = request
        start = time.perf_counter()
        answer = client.request(
            method, url, json=body, headers={"Idempotency-Key": uuid.uuid4().hex} if body else None
        )
        return time.perf_counter() - start, answer

    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        done = [r for r in pool.map(one, requests) if r[1] is not None]
    elapsed = time.perf_counter() - started
    return [t for t, _ in done], [a for _, a in done if a is not None], elapsed


def _row(
    name: str, latencies: list[float], answers: list[httpx.Response], elapsed: float, ok: set[int]
) -> tuple:
    good = sum(1 for a in answers if a.status_code in ok)
    if not latencies:
        return (f"local stack: {name}", "n/a", "", "no request completed")
    if good < len(answers):
        statuses = sorted({a.status_code for a in answers})
        name += f" (statuses seen: {statuses})"
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else latencies * 99
    return (
        f"local stack: {name}",
        f"{len(answers) / elapsed:.0f} req/s",
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms",
        f"{len(answers)} requests, {WORKERS} workers, {good} answered "
        + "/".join(map(str, sorted(ok))),
    )


def rows(count: int) -> list[tuple]:
    if not (ROOT / "local" / "devstack" / "__main__.py").exists():
        return [("local stack", "n/a", "", "local/devstack/__main__.py is not there yet")]
    url_file = Path(tempfile.mkdtemp()) / "api-url"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "local"),
        "CALLBACK_SIGNING_KEY": SIGNING_KEY,
        "LOG_FORMAT": os.environ.get("BENCH_LOG_FORMAT", "json"),
    }
    cmd = [
        sys.executable,
        "-m",
        "devstack",
        "--port",
        "0",
        "--url-file",
        str(url_file),
        "--reconcile-every",
        "0",
        "--simulator-delays",
        "600,600,600",
    ]
    log = open(url_file.with_name("devstack.log"), "w")
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not url_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = Path(log.name).read_text()[-300:].replace("\n", " ")
                return [("local stack", "n/a", "", f"did not start: {tail}")]
            time.sleep(0.1)
        base = url_file.read_text().strip()
        from esms_calls.domain.signing import callback_token
        from tests.support import callbacks

        with httpx.Client(
            base_url=base, timeout=30, limits=httpx.Limits(max_connections=WORKERS)
        ) as client:
            body = {"phone": "0912345678", "template_id": "123"}
            # a short warm-up: every worker environment of the stack imports its handler once
            _drive(client, [("POST", "/calls", body)] * (2 * WORKERS))
            lat, answers, elapsed = _drive(client, [("POST", "/calls", body)] * count)
            out = [_row("POST /calls", lat, answers, elapsed, {202})]
            placed = [a.json() for a in answers if a.status_code == 202]
            requests = []
            for call in placed:
                token = callback_token(SIGNING_KEY.encode(), call["call_id"])
                query = callbacks.report_query(call.get("sms_id") or "")
                requests.append(("GET", f"/callbacks/esms/{call['call_id']}/{token}?{query}", None))
            lat, answers, elapsed = _drive(client, requests)
            out.append(_row("callback route", lat, answers, elapsed, {200}))
            return out
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
