"""Look a call up by its id."""

from __future__ import annotations

import re

from esms_calls import dependencies
from esms_calls.domain.calls import Call
from esms_calls.errors import CallNotFound

CALL_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def get_call(call_id: str) -> Call:
    # Ids we never issue cannot exist: answer without touching the table.
    if not CALL_ID_PATTERN.fullmatch(call_id):
        raise CallNotFound(call_id)
    call = dependencies.calls_repository().get(call_id)
    if call is None:
        raise CallNotFound(call_id)
    return call
