"""The entries of a call list (a batch, a schedule's or a rule event's list), each validated as a
`POST /calls` body, bare numbers taking the list's defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from esms_calls.domain.orders import EntryError, InvalidEntry, ListEntry
from esms_calls.domain.phone import mask_phone
from esms_calls.requests.calls import PlaceCallRequest, with_defaults
from esms_calls.requests.errors import field_of


def entries_of(
    raw_entries: list[Any], defaults: Mapping[str, Any], *, own_ids: str | None
) -> tuple[list[ListEntry], list[InvalidEntry]]:
    """The valid entries and the invalid ones (by index, every error, the phone masked).
    `own_ids` None: entries may bring their own request id; else why they may not."""
    entries: list[ListEntry] = []
    invalid: list[InvalidEntry] = []
    for index, raw in enumerate(raw_entries):
        if isinstance(raw, str):
            raw = {"phone": raw}
        if not isinstance(raw, dict):
            error = EntryError(field="call", message="must be an object, or a phone number")
            invalid.append(InvalidEntry(index=index, errors=[error]))
            continue
        phone = raw.get("phone", raw.get("Phone"))
        masked = mask_phone(phone) if isinstance(phone, str) else None
        try:
            request = PlaceCallRequest.model_validate(with_defaults(defaults, raw))
        except ValidationError as exc:
            errors = [
                EntryError(field=field_of(e, default="event"), message=e["msg"])
                for e in exc.errors()
            ]
            invalid.append(InvalidEntry(index=index, errors=errors, phone=masked))
            continue
        if request.request_id and own_ids is not None:
            error = EntryError(field="request_id", message=own_ids)
            invalid.append(InvalidEntry(index=index, errors=[error], phone=masked))
            continue
        entries.append(
            ListEntry(index=index, spec=request.to_spec(), request_id=request.request_id)
        )
    return entries, invalid
