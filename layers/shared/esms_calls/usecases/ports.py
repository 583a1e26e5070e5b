"""What the use cases need from the outside world, as protocols. storage/ and esms/ implement
them; the composition root (dependencies.py) hands the implementations in; unit tests hand in
fakes (tests/support/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    # Names for the annotations only: a function that needs just one port (the callback) does
    # not load the models of the others.
    from esms_calls.domain.batches import Batch, BatchCall
    from esms_calls.domain.calling_rules import CallingRule, CapSlot, DoNotCallEntry
    from esms_calls.domain.calls import Call, CallSpec, OpenCall, OpenedCall
    from esms_calls.domain.listing import CallIndex, IndexedCall, Position, Window
    from esms_calls.domain.orders import CallOrder
    from esms_calls.domain.placement import PlaceCallCommand, PlaceCallOutcome
    from esms_calls.domain.provider import BalanceAnswer, MakeCallAnswer, SendStatusAnswer
    from esms_calls.domain.reports import Recorded, Report

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


Placement = Callable[["PlaceCallCommand", float | None], "PlaceCallOutcome"]


class CallStore(Protocol):
    def open_call(
        self,
        call: Call,
        *,
        payload_hash: str,
        binding_expires_at: int,
        check_after: int,
        expires_at: int,
    ) -> OpenedCall: ...

    def get(self, call_id: str) -> Call | None: ...


class ReportStore(Protocol):
    def record(self, call_id: str, report: Report, now: datetime) -> Recorded: ...

    def expire(self, call_id: str, now: datetime) -> bool: ...


class OpenCallStore(Protocol):
    def due(self, now_epoch: int, limit: int) -> Iterator[OpenCall]: ...

    def defer(self, call_id: str, until_epoch: int) -> None: ...


class CallIndexReader(Protocol):
    """The listing indexes of the call records, newest first."""

    def entries(
        self,
        index: CallIndex,
        partition: str,
        window: Window,
        after: Position | None,
        limit: int,
    ) -> tuple[list[IndexedCall], bool]:
        """Up to `limit` entries of one partition after `after`, and whether more follow."""
        ...

    def calls(self, call_ids: Sequence[str]) -> dict[str, Call]: ...


class BatchStore(Protocol):
    def open(self, batch: Batch, *, expires_at: int) -> Batch | None:
        """Record a new batch; None when recorded, else the batch already under its id."""
        ...

    def mark_enqueued(self, batch_id: str) -> None: ...

    def get(self, batch_id: str) -> Batch | None: ...

    def calls(self, batch_id: str) -> Iterator[BatchCall]:
        """Every call of the batch, oldest first."""
        ...

    def skip(self, batch_id: str, index: int, rule: CallingRule) -> None:
        """Count the entry as skipped by this rule (once, however often it is told)."""
        ...


class CallingRulesStore(Protocol):
    """The do-not-call list and the frequency cap's slots, by keyed hash of the number."""

    def listed(self, number_key: str) -> DoNotCallEntry | None: ...

    def listed_among(self, number_keys: Sequence[str]) -> set[str]:
        """The keys of these that are on the list."""
        ...

    def add(self, number_key: str, entry: DoNotCallEntry) -> bool: ...

    def set_reason(self, number_key: str, reason: str | None) -> DoNotCallEntry | None: ...

    def remove(self, number_key: str) -> bool: ...

    def hold(
        self, number_key: str, *, holder: str, rings_at: int, slots: int
    ) -> CapSlot | None: ...

    def release(self, number_key: str, *, holder: str, slot: int) -> None: ...


class CallQueue(Protocol):
    def send(self, orders: Sequence[CallOrder]) -> None: ...

    def send_chunks(self, orders: Sequence[CallOrder]) -> None: ...


class CallPlacer(Protocol):
    """The provider's side of placing a call."""

    def make_call(
        self,
        spec: CallSpec,
        *,
        request_id: str,
        callback_url: str | None,
        time_budget: float | None = None,
    ) -> MakeCallAnswer: ...

    def check_query(self, spec: CallSpec, *, request_id: str, callback_url: str | None) -> None: ...


class StatusSource(Protocol):
    """The provider's status query."""

    def get_send_status(
        self, sms_id: str, *, time_budget: float | None = None
    ) -> SendStatusAnswer: ...


class BalanceSource(Protocol):
    """The provider's balance query."""

    def get_balance(self, *, time_budget: float | None = None) -> BalanceAnswer: ...


class PlacementGuard(Protocol):
    """Makes a placing step idempotent by request id: a repeat is answered with the stored
    outcome; raises RequestIdBoundToOtherPayload, RequestInProgress or StorageUnavailable."""

    def guard(self, place: Placement) -> Placement: ...

    def register_lambda_context(self, lambda_context: Any) -> None: ...
