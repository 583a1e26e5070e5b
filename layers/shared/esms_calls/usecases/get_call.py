"""Look a call up by its id."""

from __future__ import annotations

from esms_calls.domain.calls import Call
from esms_calls.domain.ids import CALL_ID_PATTERN
from esms_calls.errors import CallNotFound
from esms_calls.usecases.ports import CallStore


class GetCall:
    def __init__(self, *, calls: CallStore) -> None:
        self._calls = calls

    def __call__(self, call_id: str) -> Call:
        # Ids we never issue cannot exist: answer without touching the table.
        if not CALL_ID_PATTERN.fullmatch(call_id):
            raise CallNotFound(call_id)
        call = self._calls.get(call_id)
        if call is None:
            raise CallNotFound(call_id)
        return call
