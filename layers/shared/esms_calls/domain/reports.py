"""What the provider reports about a call, by callback or status query, parsed leniently.

The provider's callback is a GET whose query may be appended to our URL with `?` or `&`, or fill
the blank placeholders we list; names can repeat (the last non-empty value counts), CallStatus
has several spellings or none, SendStatus may be missing. Nothing here raises on odd input: a
report that does not parse is still a report, kept raw and flagged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict

from esms_calls.domain.calls import CallOutcome, CallResult, CallStatus

# The names, as the provider spells them; the CallbackUrl lists them blank for providers that fill.
REPORT_FIELDS = (
    "ReferenceId",
    "CallDuration",
    "CallStatus",
    "Ivr",
    "Price",
    "SentResult",
    "CID",
    "SendStatus",
)
PLACEHOLDER_QUERY = "&".join(f"{name}=" for name in REPORT_FIELDS)

_SEND_STATUS = {2: CallStatus.WAITING, 7: CallStatus.REPORT_PENDING, 5: CallStatus.COMPLETED}
_CALL_STATUS = {
    "ANSWERED": CallOutcome.ANSWERED,
    "NOANSWER": CallOutcome.NO_ANSWER,
    "NOANSWERED": CallOutcome.NO_ANSWER,
    "": CallOutcome.UNKNOWN,
}
MAX_RAW_VALUE = 200


class Stored(StrEnum):
    """What storing a report did."""

    APPLIED = "APPLIED"  # moved the call forward
    DUPLICATE = "DUPLICATE"  # seen before: nothing written
    KEPT = "KEPT"  # kept in the history and counted, status unchanged (late, odd, mismatched)
    ORPHAN = "ORPHAN"  # no such call: kept raw on its own


@dataclass(frozen=True)
class OptOutKey:
    """A call's number and its opt_out_key, as its record holds them."""

    phone: str
    key: str


@dataclass(frozen=True)
class Recorded:
    """What storing a report did; for a report of a key pressed on a call with an opt_out_key,
    that key and the call's number (handed back by the write itself)."""

    stored: Stored
    opt_out: OptOutKey | None = None
    # When the write moved the call into a final status: the call's outcome, and when it was
    # placed (its record's created_at), for the time from placement to the final status.
    finished: Finished | None = None


@dataclass(frozen=True)
class Finished:
    outcome: CallOutcome
    placed_at: datetime

    def seconds_since_placed(self, now: datetime) -> float:
        return max(0.0, (now - self.placed_at).total_seconds())


class ReportSource(StrEnum):
    CALLBACK = "CALLBACK"
    STATUS_QUERY = "STATUS_QUERY"


class Report(BaseModel):
    """One report about a call. `status` is None when it moves nothing (odd or status-less)."""

    model_config = ConfigDict(frozen=True)

    source: ReportSource
    raw: dict[str, str]
    reference_id: str | None
    status: CallStatus | None
    result: CallResult | None
    odd_fields: tuple[str, ...] = ()

    @property
    def is_odd(self) -> bool:
        return bool(self.odd_fields)

    @property
    def key_pressed(self) -> str | None:
        """The key the callee pressed (a callback's Ivr), however odd the rest."""
        return self.raw.get("Ivr", "").strip() or None

    @property
    def digest(self) -> str:
        """Identity of a report by its parsed values: a re-sent identical callback has the same."""
        basis = self.result.model_dump(mode="json") if self.result and not self.is_odd else self.raw
        payload = {"ref": self.reference_id, "status": self.status, "values": basis}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def query_values(raw_query: str) -> dict[str, str]:
    """Last non-empty value of each name; `?` inside the query is a separator too (a provider
    appending `?...` to a URL that already has a query)."""
    values: dict[str, str] = {}
    for name, value in parse_qsl(raw_query.replace("?", "&"), keep_blank_values=True):
        value = value.strip()
        if value or name not in values:
            values[name] = value[:MAX_RAW_VALUE]
    return values


class _Reading:
    """Reads a report's raw values, noting every one that is odd instead of raising."""

    def __init__(self, raw: dict[str, str]) -> None:
        self.raw = raw
        self.odd: list[str] = []

    def integer(self, name: str) -> int | None:
        text = self.raw.get(name, "")
        if text == "":
            return None
        try:
            return int(text)
        except ValueError:
            self.odd.append(name)
            return None

    def status(self, send_status: int | None) -> CallStatus | None:
        if send_status is None:
            # Older pages omit SendStatus: a callback that names the call's outcome is its final.
            return CallStatus.COMPLETED if self._call_status_text() else None
        status = _SEND_STATUS.get(send_status)
        if status is None:
            self.odd.append("SendStatus")
        return status

    def outcome(self) -> CallOutcome:
        outcome = _CALL_STATUS.get(self._call_status_text())
        if outcome is None:
            self.odd.append("CallStatus")
            return CallOutcome.UNKNOWN
        return outcome

    def price(self) -> Decimal | None:
        if not self.raw.get("Price"):
            return None
        try:
            price = Decimal(self.raw["Price"])
            if price.is_finite():
                return price
        except InvalidOperation:
            pass
        self.odd.append("Price")
        return None

    def _call_status_text(self) -> str:
        return self.raw.get("CallStatus", "").upper().replace(" ", "").replace("_", "")


def parse_report(values: dict[str, str], source: ReportSource = ReportSource.CALLBACK) -> Report:
    raw = {name: values[name] for name in REPORT_FIELDS if name in values}
    reading = _Reading(raw)
    send_status = reading.integer("SendStatus")
    status = reading.status(send_status)
    result = CallResult(
        call_status=reading.outcome(),
        duration_seconds=reading.integer("CallDuration"),
        ivr=raw.get("Ivr") or None,
        price=reading.price(),
        sent_result=reading.integer("SentResult"),
        cid=raw.get("CID") or None,
        send_status=send_status,
    )
    reference_id = raw.get("ReferenceId") or None
    if reading.odd:
        return Report(
            source=source,
            raw=raw,
            reference_id=reference_id,
            status=None,
            result=None,
            odd_fields=tuple(sorted(set(reading.odd))),
        )
    return Report(source=source, raw=raw, reference_id=reference_id, status=status, result=result)
