"""One attempt at placing an ordered call (an entry of a list, a queued message), and what to do
with it next: done, invalid as asked, or retry later. Shared by the list and the queue."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from esms_calls.domain.calling_rules import CallingRule
from esms_calls.domain.orders import CallOrder, EntryError
from esms_calls.domain.placement import PlaceCallCommand, PlaceCallOutcome
from esms_calls.errors import (
    CallRefusedByRule,
    InvalidCallRequest,
    ProviderError,
    RequestIdBoundToOtherPayload,
    RequestInProgress,
    StorageUnavailable,
)
from esms_calls.usecases.place_call import PlaceCall

# Failures that may pass: retried (through the queue), never reported as the entry's fault.
RETRYABLE = (ProviderError, StorageUnavailable, RequestInProgress)


class Disposition(StrEnum):
    DONE = "DONE"  # a definitive outcome: accepted or refused by the provider
    INVALID = "INVALID"  # cannot be placed as asked (send time passed, request id reused)
    SKIPPED = "SKIPPED"  # a calling rule forbids it (do-not-call list, frequency cap, hours)
    RETRY = "RETRY"  # may succeed later


@dataclass(frozen=True)
class Attempt:
    disposition: Disposition
    outcome: PlaceCallOutcome | None = None
    error: EntryError | None = None
    cause: str | None = None
    skipped: CallingRule | None = None


def attempt(place_call: PlaceCall, order: CallOrder, *, remaining_seconds: float | None) -> Attempt:
    """Place one ordered call and say what to do with it; unexpected errors propagate."""
    try:
        outcome = place_call(
            PlaceCallCommand(request_id=order.request_id, spec=order.spec, batch_id=order.batch_id),
            remaining_seconds=remaining_seconds,
        )
    except CallRefusedByRule as exc:
        return Attempt(Disposition.SKIPPED, skipped=CallingRule(exc.rule), cause=exc.detail)
    except InvalidCallRequest as exc:
        return Attempt(Disposition.INVALID, error=EntryError(field=exc.field, message=exc.message))
    except RequestIdBoundToOtherPayload:
        return Attempt(
            Disposition.INVALID,
            error=EntryError(
                field="request_id", message="was used within 24 h for a different call"
            ),
        )
    except RETRYABLE as exc:
        return Attempt(Disposition.RETRY, cause=type(exc).__name__)
    return Attempt(Disposition.DONE, outcome=outcome)
