"""The query parameters of the listings (`GET /calls`, `GET /batches/{batch_id}/calls`),
validated together so that every bad one is reported at once."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from esms_calls.domain.calls import CallStatus
from esms_calls.domain.ids import BATCH_ID_PATTERN, REQUEST_ID_PATTERN
from esms_calls.domain.listing import DEFAULT_LIMIT, MAX_LIMIT, CallFilter
from esms_calls.domain.phone import normalise_phone
from esms_calls.domain.send_date import VIETNAM
from esms_calls.errors import InvalidQueryParameters

_MAX_CURSOR = 2048


class _Reading:
    def __init__(self, params: dict[str, str]) -> None:
        self.params = params
        self.errors: list[tuple[str, str]] = []

    def text(self, name: str, pattern: str) -> str | None:
        value = self.params.get(name)
        if value is None or value == "":
            return None
        if not re.fullmatch(pattern, value):
            self.errors.append((name, f"must match {pattern}"))
            return None
        return value

    def phone(self) -> str | None:
        value = self.params.get("phone")
        if not value:
            return None
        try:
            return normalise_phone(value)
        except ValueError:
            self.errors.append(("phone", "must be a Vietnamese phone number, e.g. 0912345678"))
            return None

    def statuses(self) -> frozenset[CallStatus]:
        value = self.params.get("status")
        if not value:
            return frozenset()
        found = set()
        for part in value.split(","):
            try:
                found.add(CallStatus(part.strip().upper()))
            except ValueError:
                known = ", ".join(status.value for status in CallStatus)
                self.errors.append(("status", f"{part.strip()!r} is not one of {known}"))
        return frozenset(found)

    def moment(self, name: str) -> datetime | None:
        value = self.params.get(name)
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value.strip().replace(" ", "+"))
        except ValueError:
            self.errors.append((name, "must be an ISO-8601 time, e.g. 2026-12-01T09:00:00+07:00"))
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)

    def limit(self) -> int:
        value = self.params.get("limit")
        if value is None or value == "":
            return DEFAULT_LIMIT
        if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
            self.errors.append(("limit", f"must be a whole number from 1 to {MAX_LIMIT}"))
            return DEFAULT_LIMIT
        return int(value)

    def cursor(self) -> str | None:
        value = self.params.get("cursor")
        if value and len(value) > _MAX_CURSOR:
            self.errors.append(("cursor", "is not a cursor of this listing"))
            return None
        return value or None


def listing_query(
    params: dict[str, Any] | None, *, batch_id: str | None = None
) -> tuple[CallFilter, int, str | None]:
    """The filter, page size and cursor of a listing's query; InvalidQueryParameters listing
    every bad parameter. `batch_id`: the batch a path names (its listing takes no batch_id)."""
    reading = _Reading({k: v for k, v in (params or {}).items() if isinstance(v, str)})
    calls = CallFilter(
        request_id=reading.text("request_id", REQUEST_ID_PATTERN),
        batch_id=batch_id or reading.text("batch_id", BATCH_ID_PATTERN),
        phone=reading.phone(),
        statuses=reading.statuses(),
        created_from=reading.moment("from"),
        created_to=reading.moment("to"),
    )
    limit, cursor = reading.limit(), reading.cursor()
    if reading.errors:
        raise InvalidQueryParameters(reading.errors)
    return calls, limit, cursor
