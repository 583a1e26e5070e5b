"""The callback side of the simulated provider: stage timing, delivery and re-sending.

Each accepted call gets one worker thread that walks through its stages (SendStatus 2, 7, 5),
tells the simulator when a stage is reached, and GETs the partner's CallbackUrl. A callback
answered with anything but HTTP 200 (or timing out, or failing to connect) is sent again, up
to ``max_resends`` more times. Every attempt is reported to a recorder.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from .clock import SimulatorClock
from .rules import Delivery
from .urls import Composition, compose_callback_url

log = logging.getLogger("esms_simulator")

# Callbacks in flight at once, as a provider's sending pool has. More would wait inside httpx's
# connection pool, where the wait counts against the attempt's timeout (an attempt "timed out"
# that never left) and assigning a connection costs time in the square of the waiting requests.
MAX_CALLBACKS_IN_FLIGHT = 32


@dataclass(frozen=True)
class CallbackAttempt:
    """One HTTP GET of a callback, as the simulator made it."""

    sms_id: str
    send_status: int
    copy: int  # 1..duplicates: which copy of a duplicated callback
    attempt: int  # 1 = first send, 2.. = re-sends
    url: str
    status_code: int | None  # None: no HTTP answer (timeout, connection error)
    error: str | None
    sent_at: float  # epoch seconds
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code == 200

    def to_dict(self) -> dict[str, Any]:
        return {
            "sms_id": self.sms_id,
            "send_status": self.send_status,
            "copy": self.copy,
            "attempt": self.attempt,
            "url": self.url,
            "status_code": self.status_code,
            "error": self.error,
            "ok": self.ok,
            "sent_at": self.sent_at,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


@dataclass(frozen=True)
class SenderSettings:
    timeout: float
    max_resends: int
    backoff: float


@dataclass(frozen=True)
class Stage:
    send_status: int
    delay: float  # seconds to wait before this stage
    params: tuple[tuple[str, str], ...]  # the callback's query parameters
    send: bool  # False: the state moves on, but no callback goes out


@dataclass(frozen=True)
class CallPlan:
    """Everything the worker needs to play one accepted call."""

    sms_id: str
    callback_url: str | None
    composition: Composition
    stages: tuple[Stage, ...]
    duplicates: int = 1
    delivery: Delivery = Delivery.SEQUENTIAL
    # Epoch seconds (SendDate) on the simulator's clock: stages after 2 wait for it.
    not_before: float | None = None


class CallbackSender:
    """GETs callback URLs with re-sends; thread-safe."""

    def __init__(
        self,
        settings: Callable[[], SenderSettings],
        record: Callable[[CallbackAttempt], None],
    ) -> None:
        self._settings = settings
        self._record = record
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._closed = False
        self._in_flight = threading.BoundedSemaphore(MAX_CALLBACKS_IN_FLIGHT)

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._closed:
                raise RuntimeError("the callback sender is closed")
            if self._client is None:  # created on first use: most test simulators never call back
                # trust_env=False: never route local traffic through a proxy from the environment.
                self._client = httpx.Client(
                    trust_env=False,
                    follow_redirects=False,
                    limits=httpx.Limits(
                        max_connections=MAX_CALLBACKS_IN_FLIGHT,
                        max_keepalive_connections=MAX_CALLBACKS_IN_FLIGHT,
                    ),
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _get(self, url: str, timeout: float) -> tuple[int | None, str | None]:
        try:
            with self._in_flight:  # the timeout runs from when the callback leaves
                response = self._http().get(url, timeout=timeout)
        except httpx.TimeoutException as exc:
            return None, f"timeout: {type(exc).__name__}"
        except (httpx.HTTPError, httpx.InvalidURL, RuntimeError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None

    def deliver(
        self, sms_id: str, send_status: int, url: str, copy: int, cancel: threading.Event
    ) -> bool:
        """Send one callback until answered 200 or re-sends run out; True when delivered."""
        settings = self._settings()
        host = urlsplit(url).netloc
        for attempt in range(1, settings.max_resends + 2):
            if cancel.is_set() or (attempt > 1 and cancel.wait(settings.backoff)):
                return False
            started = time.monotonic()
            sent_at = time.time()
            status, error = self._get(url, settings.timeout)
            elapsed_ms = (time.monotonic() - started) * 1000
            self._record(
                CallbackAttempt(
                    sms_id, send_status, copy, attempt, url, status, error, sent_at, elapsed_ms
                )
            )
            log.info(
                "callback sms_id=%s SendStatus=%s copy=%d attempt=%d host=%s -> %s (%.0f ms)",
                sms_id, send_status, copy, attempt, host, status or error, elapsed_ms,
            )  # fmt: skip
            if status == 200:
                return True
        log.warning(
            "callback sms_id=%s SendStatus=%s copy=%d given up after %d attempts",
            sms_id, send_status, copy, settings.max_resends + 1,
        )  # fmt: skip
        return False


class CallbackDispatcher:
    """Runs one worker thread per accepted call; can cancel them all or wait for them."""

    def __init__(
        self,
        sender: CallbackSender,
        on_stage: Callable[[str, int], None],
        rng: random.Random,
        clock: SimulatorClock,
    ) -> None:
        self._clock = clock
        self._sender = sender
        self._on_stage = on_stage
        self._rng = rng
        self._lock = threading.Lock()
        self._workers: dict[threading.Thread, threading.Event] = {}
        self._closed = False

    def start(self, plan: CallPlan) -> bool:
        """Play ``plan`` on a new worker thread; False when the dispatcher is closed."""
        cancel = threading.Event()
        worker = threading.Thread(
            target=self._run, args=(plan, cancel), name=f"esms-sim-{plan.sms_id[:8]}", daemon=True
        )
        with self._lock:
            if self._closed:
                return False
            self._workers[worker] = cancel
        worker.start()
        return True

    def close(self) -> None:
        """Cancel everything pending and refuse new plans."""
        with self._lock:
            self._closed = True
        self.cancel_all()

    def busy(self) -> bool:
        with self._lock:
            return bool(self._workers)

    def cancel_all(self) -> None:
        """Stop every pending stage and callback promptly (in-flight GETs finish)."""
        with self._lock:
            events = list(self._workers.values())
        for event in events:
            event.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every worker has finished; False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                workers = list(self._workers)
            if not workers:
                return True
            for worker in workers:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                worker.join(remaining)

    def _run(self, plan: CallPlan, cancel: threading.Event) -> None:
        try:
            self._play(plan, cancel)
        except Exception:  # a worker must never die silently
            log.exception("callback worker for sms_id=%s failed", plan.sms_id)
        finally:
            with self._lock:
                self._workers.pop(threading.current_thread(), None)

    def _play(self, plan: CallPlan, cancel: threading.Event) -> None:
        held: list[tuple[int, str]] = []
        for stage in plan.stages:
            if cancel.wait(stage.delay):
                return
            if stage.send_status != 2 and plan.not_before is not None:
                if not self._clock.wait_until(plan.not_before, cancel):
                    return
            self._on_stage(plan.sms_id, stage.send_status)
            if not stage.send or not plan.callback_url:
                continue
            url = compose_callback_url(plan.callback_url, stage.params, plan.composition)
            if plan.delivery is Delivery.SEQUENTIAL:
                for copy in range(1, plan.duplicates + 1):
                    self._sender.deliver(plan.sms_id, stage.send_status, url, copy, cancel)
            else:
                held.append((stage.send_status, url))
        self._deliver_held(plan, held, cancel)

    def _deliver_held(
        self, plan: CallPlan, held: list[tuple[int, str]], cancel: threading.Event
    ) -> None:
        copies = range(1, plan.duplicates + 1)
        jobs = [(status, url, copy) for status, url in held for copy in copies]
        if plan.delivery is Delivery.REVERSED:
            jobs.reverse()
        elif plan.delivery is Delivery.SHUFFLED:
            self._rng.shuffle(jobs)
        if plan.delivery is not Delivery.CONCURRENT:
            for status, url, copy in jobs:
                self._sender.deliver(plan.sms_id, status, url, copy, cancel)
            return
        threads = [
            threading.Thread(
                target=self._sender.deliver,
                args=(plan.sms_id, status, url, copy, cancel),
                name=f"esms-sim-{plan.sms_id[:8]}-{status}-{copy}",
                daemon=True,
            )
            for status, url, copy in jobs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
