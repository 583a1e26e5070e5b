"""Finding calls: what a listing asks for, and where one of its pages ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from esms_calls.domain.calls import Call, CallStatus
from esms_calls.errors import InvalidQueryParameters

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=31)
MAX_LIMIT = 100
DEFAULT_LIMIT = 50


class Listing(StrEnum):
    """Which listing a cursor belongs to: a cursor of one is refused by the other."""

    CALLS = "calls"  # GET /calls
    BATCH_CALLS = "batch_calls"  # GET /batches/{batch_id}/calls


class CallIndex(StrEnum):
    """The CallsTable index serving a listing, by the attribute its partitions are keyed on."""

    REQUEST = "request_id"
    BATCH = "batch_id"
    PHONE = "phone"
    DAY = "created_day"


@dataclass(frozen=True)
class Window:
    """Bounds on `created_at`, both included; None: unbounded on that side."""

    start: datetime | None
    end: datetime | None

    def days(self) -> list[str]:
        """The UTC days the window covers, newest first (the partitions of CallsByDayIndex)."""
        if self.start is None or self.end is None:
            raise ValueError("a listing by day needs a bounded window")
        first, day = self.start.astimezone(UTC).date(), self.end.astimezone(UTC).date()
        days = []
        while day >= first:
            days.append(day.isoformat())
            day -= timedelta(days=1)
        return days


@dataclass(frozen=True)
class CallFilter:
    """The filters of a listing, validated and normalised (phone in national form)."""

    request_id: str | None = None
    batch_id: str | None = None
    phone: str | None = None
    statuses: frozenset[CallStatus] = frozenset()
    created_from: datetime | None = None  # as the caller gave them; the window resolves them
    created_to: datetime | None = None

    @property
    def narrowed(self) -> bool:
        """A filter that alone bounds the listing, so the 31-day window rule does not apply."""
        return bool(self.request_id or self.batch_id or self.phone)

    def index(self) -> tuple[CallIndex, str | None]:
        """The index that serves this filter best, and its partition (None: one per day)."""
        if self.request_id:
            return CallIndex.REQUEST, self.request_id
        if self.batch_id:
            return CallIndex.BATCH, self.batch_id
        if self.phone:
            return CallIndex.PHONE, self.phone
        return CallIndex.DAY, None

    def window(self, now: datetime) -> Window:
        """The bounds on created_at; without a narrowing filter, the last 24 h by default.
        Raises InvalidQueryParameters when the window is backwards or too wide."""
        start, end = self.created_from, self.created_to
        if not self.narrowed:
            end = end or now
            start = start or end - DEFAULT_WINDOW
        if start and end and start > end:
            raise InvalidQueryParameters([("from", "must not be after `to`")])
        if not self.narrowed and start and end and end - start > MAX_WINDOW:
            raise InvalidQueryParameters(
                [
                    (
                        "from",
                        "the window is over 31 days: narrow it, or filter by request_id, "
                        "batch_id or phone",
                    )
                ]
            )
        return Window(start, end)

    def matches(self, call: Call) -> bool:
        """The filters the index did not apply, checked on the call as it is now."""
        return (
            (not self.request_id or call.request_id == self.request_id)
            and (not self.batch_id or call.batch_id == self.batch_id)
            and (not self.phone or call.spec.phone == self.phone)
            and (not self.statuses or call.status in self.statuses)
        )


@dataclass(frozen=True)
class Position:
    """Where a page ended in its index: the partition, and the last entry read in it (None:
    the partition's newest entry comes next). Index keys never change, so neither does this."""

    partition: str
    created_key: str | None = None
    call_id: str | None = None


@dataclass(frozen=True)
class IndexedCall:
    """One entry of a listing index: where it sorts, and which call it points at."""

    created_key: str
    call_id: str


@dataclass(frozen=True)
class CallsPage:
    calls: list[Call]
    next_cursor: str | None
