"""In-memory stand-ins for the use cases' ports (esms_calls/usecases/ports.py): no moto, no
sockets. Each keeps what it was asked, so a test can say what reached the outside world."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from esms_calls.domain.batches import Batch, BatchCall
from esms_calls.domain.calling_rules import (
    CAP_WINDOW_SECONDS,
    AdvertisingHours,
    CallingRule,
    CapSlot,
    DoNotCallEntry,
)
from esms_calls.domain.calls import Call, CallSpec, CallStatus, OpenCall, OpenedCall
from esms_calls.domain.orders import CallOrder
from esms_calls.domain.placement import PlaceCallCommand, PlaceCallOutcome
from esms_calls.domain.provider import Accepted, MakeCallAnswer, SendStatusAnswer
from esms_calls.domain.reports import OptOutKey, Recorded, Report, Stored
from esms_calls.domain.signing import payload_fingerprint
from esms_calls.errors import RequestIdBoundToOtherPayload, RequestInProgress
from esms_calls.usecases.calling_rules import CallingPolicy, CallingRules
from esms_calls.usecases.ports import Placement


@dataclass
class FakeCalls:
    """Call records and request bindings, as CallsRepository keeps them."""

    calls: dict[str, Call] = field(default_factory=dict)
    bindings: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → (call, payload)
    opened: list[Call] = field(default_factory=list)

    def open_call(
        self,
        call: Call,
        *,
        payload_hash: str,
        binding_expires_at: int,
        check_after: int,
        expires_at: int,
    ) -> OpenedCall:
        bound = self.bindings.get(call.request_id)
        if bound is not None:
            call_id, bound_payload = bound
            if bound_payload != payload_hash:
                raise RequestIdBoundToOtherPayload(call.request_id)
            return OpenedCall(call=self.calls[call_id], first_attempt=False)
        self.bindings[call.request_id] = (call.call_id, payload_hash)
        self.calls[call.call_id] = call
        self.opened.append(call)
        return OpenedCall(call=call, first_attempt=True)

    def get(self, call_id: str) -> Call | None:
        return self.calls.get(call_id)

    def record_outcome(self, outcome: PlaceCallOutcome) -> None:
        """What the guard's stored outcome writes on the call (OutcomeRecordingStore)."""
        call = self.calls[outcome.call_id]
        refusal = outcome.refusal
        self.calls[outcome.call_id] = call.model_copy(
            update={
                "status": outcome.status,
                "sms_id": outcome.sms_id,
                "esms_code": refusal.code if refusal else None,
                "esms_message": refusal.message if refusal else None,
            }
        )


@dataclass
class SentCall:
    spec: CallSpec
    request_id: str
    callback_url: str | None
    time_budget: float | None


@dataclass
class FakeProvider:
    """Answers each request with the next scripted answer (an exception is raised), else
    accepts it; `status` answers the status queries."""

    answers: list[MakeCallAnswer | Exception] = field(default_factory=list)
    status_answers: dict[str, SendStatusAnswer | Exception] = field(default_factory=dict)
    sent: list[SentCall] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    query_refusal: Exception | None = None  # what check_query raises (a query too long)

    def then(self, *answers: MakeCallAnswer | Exception) -> FakeProvider:
        self.answers.extend(answers)
        return self

    def make_call(
        self,
        spec: CallSpec,
        *,
        request_id: str,
        callback_url: str | None,
        time_budget: float | None = None,
    ) -> MakeCallAnswer:
        self.sent.append(SentCall(spec, request_id, callback_url, time_budget))
        answer = self.answers.pop(0) if self.answers else Accepted(sms_id=f"sms-{len(self.sent)}")
        if isinstance(answer, Exception):
            raise answer
        return answer

    def check_query(self, spec: CallSpec, *, request_id: str, callback_url: str | None) -> None:
        if self.query_refusal is not None:
            raise self.query_refusal

    def get_send_status(self, sms_id: str, *, time_budget: float | None = None) -> SendStatusAnswer:
        self.asked.append(sms_id)
        answer = self.status_answers[sms_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class FakeGuard:
    """Idempotency by request id, as Powertools keeps it: a definitive outcome is replayed, an
    exception releases the id, a different payload is refused, one in flight is refused."""

    calls: FakeCalls | None = None  # where a stored outcome is recorded too
    # request id → (the payload's fingerprint, the outcome): Powertools keeps no more
    stored: dict[str, tuple[str | None, PlaceCallOutcome]] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    contexts: list[Any] = field(default_factory=list)

    def guard(self, place: Placement) -> Placement:
        def guarded(command: PlaceCallCommand, remaining_seconds: float | None) -> PlaceCallOutcome:
            if command.request_id in self.in_flight:
                raise RequestInProgress(command.request_id)
            if command.request_id in self.stored:
                fingerprint, outcome = self.stored[command.request_id]
                if fingerprint != command.fingerprint:
                    raise RequestIdBoundToOtherPayload(command.request_id)
                return outcome.model_copy(update={"replayed": True})
            self.in_flight.add(command.request_id)
            try:
                outcome = place(command, remaining_seconds)
            finally:
                self.in_flight.discard(command.request_id)
            self.stored[command.request_id] = (command.fingerprint, outcome)
            if self.calls is not None:
                self.calls.record_outcome(outcome)
            return outcome

        return guarded

    def register_lambda_context(self, lambda_context: Any) -> None:
        self.contexts.append(lambda_context)


@dataclass
class FakeQueue:
    sent: list[CallOrder] = field(default_factory=list)
    failure: Exception | None = None

    def send(self, orders: Sequence[CallOrder]) -> None:
        if self.failure is not None:
            raise self.failure
        self.sent.extend(orders)

    def send_chunks(self, orders: Sequence[CallOrder]) -> None:
        self.send(orders)


@dataclass
class FakeBatches:
    """Batch records in memory, opened once per id like the conditional put."""

    batches: dict[str, Batch] = field(default_factory=dict)
    calls_of: dict[str, list[BatchCall]] = field(default_factory=dict)

    def open(self, batch: Batch, *, expires_at: int) -> Batch | None:
        if batch.batch_id in self.batches:
            return self.batches[batch.batch_id]
        self.batches[batch.batch_id] = batch
        return None

    def mark_enqueued(self, batch_id: str) -> None:
        self.batches[batch_id] = replace(self.batches[batch_id], enqueued=True)

    def get(self, batch_id: str) -> Batch | None:
        return self.batches.get(batch_id)

    def calls(self, batch_id: str) -> Iterator[BatchCall]:
        return iter(self.calls_of.get(batch_id, []))

    def skip(self, batch_id: str, index: int, rule: CallingRule) -> None:
        batch = self.batches[batch_id]
        skipped = dict(batch.skipped)
        skipped[rule] = skipped.get(rule, frozenset()) | {index}
        self.batches[batch_id] = replace(batch, skipped=skipped)


@dataclass
class FakeCallingRulesStore:
    """The do-not-call list and the cap's slots as CallingRulesRepository keeps them: a slot
    holds (holder, ring time, the ring time it replaced)."""

    listed_numbers: dict[str, DoNotCallEntry] = field(default_factory=dict)
    slots: dict[tuple[str, int], tuple[str | None, int, int]] = field(default_factory=dict)

    def listed(self, number_key: str) -> DoNotCallEntry | None:
        return self.listed_numbers.get(number_key)

    def listed_among(self, number_keys: Sequence[str]) -> set[str]:
        return {key for key in number_keys if key in self.listed_numbers}

    def add(self, number_key: str, entry: DoNotCallEntry) -> bool:
        if number_key in self.listed_numbers:
            return False
        self.listed_numbers[number_key] = entry
        return True

    def set_reason(self, number_key: str, reason: str | None) -> DoNotCallEntry | None:
        entry = self.listed_numbers.get(number_key)
        if entry is None:
            return None
        self.listed_numbers[number_key] = replace(entry, reason=reason)
        return self.listed_numbers[number_key]

    def remove(self, number_key: str) -> bool:
        return self.listed_numbers.pop(number_key, None) is not None

    def hold(self, number_key: str, *, holder: str, rings_at: int, slots: int) -> CapSlot | None:
        for slot in range(slots):
            old = self.slots.get((number_key, slot))
            if old is None or old[1] <= rings_at - CAP_WINDOW_SECONDS:
                self.slots[(number_key, slot)] = (holder, rings_at, old[1] if old else 0)
                return CapSlot(slot, taken_now=True)
            if old[0] == holder:
                return CapSlot(slot, taken_now=False)
        return None

    def release(self, number_key: str, *, holder: str, slot: int) -> None:
        old = self.slots.get((number_key, slot))
        if old is not None and old[0] == holder:
            self.slots[(number_key, slot)] = (None, old[2], 0)


def number_key(phone: str) -> str:
    return f"key-of-{phone[::-1]}"  # not the number, and one per number


def calling_rules(
    store: FakeCallingRulesStore | None = None,
    *,
    hours: str = "08:00-17:00",
    blocked_dates: str = "",
    calls_per_number: int = 1,
    list_applies_to_service_calls: bool = False,
) -> CallingRules:
    return CallingRules(
        store=store if store is not None else FakeCallingRulesStore(),
        number_key=number_key,
        policy=CallingPolicy(
            hours=AdvertisingHours.parse(hours, blocked_dates),
            calls_per_number=calls_per_number,
            list_applies_to_service_calls=list_applies_to_service_calls,
        ),
    )


@dataclass
class FakeReports:
    """Stores reports with a scripted answer each (default APPLIED); `expire` ends a call."""

    answers: list[Stored | Exception] = field(default_factory=list)
    recorded: list[tuple[str, Report]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    # The number and opt_out_key of the call, handed back with a report of a key pressed.
    opt_out: OptOutKey | None = None

    def record(self, call_id: str, report: Report, now: datetime) -> Recorded:
        answer = self.answers.pop(0) if self.answers else Stored.APPLIED
        if isinstance(answer, Exception):
            raise answer
        self.recorded.append((call_id, report))
        return Recorded(answer, self.opt_out if report.key_pressed else None)

    def expire(self, call_id: str, now: datetime) -> bool:
        self.expired.append(call_id)
        return True


@dataclass
class FakeOpenCalls:
    open: list[OpenCall] = field(default_factory=list)
    deferred: dict[str, int] = field(default_factory=dict)
    limits: list[int] = field(default_factory=list)

    def due(self, now_epoch: int, limit: int) -> Iterator[OpenCall]:
        self.limits.append(limit)
        yield from self.open[:limit]

    def defer(self, call_id: str, until_epoch: int) -> None:
        self.deferred[call_id] = until_epoch


def open_call(call_id: str, created_at: datetime, sms_id: str | None = "sms-1") -> OpenCall:
    return OpenCall(
        call_id=call_id, status=CallStatus.ACCEPTED, sms_id=sms_id, created_at=created_at
    )


def fingerprint(spec: CallSpec) -> str:
    """The use case's keyed hash of a call, under a test key."""
    return payload_fingerprint(b"test-fingerprint-key", spec)


def fixed_clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment
