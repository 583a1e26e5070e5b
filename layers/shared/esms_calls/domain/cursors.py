"""Listing cursors: opaque to callers, signed by us, bound to the listing and its filters.

A cursor is `base64url(payload).base64url(HMAC-SHA256(key, payload))`. The payload holds where
the page ended, the window the first page resolved (so that "the last 24 h" means the same
hours on every page) and a digest of the filters, never their values (a phone number must not
travel in a URL). Hand-written: it is a dozen lines of the standard library, and no library
binds a cursor to a query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from esms_calls.domain.listing import CallFilter, Listing, Position, Window
from esms_calls.domain.times import iso, parse_iso

_VERSION = 1


class InvalidCursor(ValueError):
    """Not a cursor we issued for this listing and these filters."""


@dataclass(frozen=True)
class CursorState:
    window: Window
    position: Position


def filter_digest(listing: Listing, calls: CallFilter) -> str:
    basis = [
        listing.value,
        calls.request_id,
        calls.batch_id,
        calls.phone,
        sorted(status.value for status in calls.statuses),
        _moment(calls.created_from),
        _moment(calls.created_to),
    ]
    return hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:32]


def encode(key: bytes, listing: Listing, calls: CallFilter, state: CursorState) -> str:
    payload = {
        "v": _VERSION,
        "l": listing.value,
        "f": filter_digest(listing, calls),
        "w": [_moment(state.window.start), _moment(state.window.end)],
        "p": [state.position.partition, state.position.created_key, state.position.call_id],
    }
    data = json.dumps(payload, separators=(",", ":")).encode()
    return f"{_b64(data)}.{_b64(_signature(key, data))}"


def decode(key: bytes, listing: Listing, calls: CallFilter, cursor: str) -> CursorState:
    """The state a cursor carries; InvalidCursor when it is forged, altered, another listing's
    or another query's."""
    try:
        data_text, signature_text = cursor.split(".")
        data, signature = _unb64(data_text), _unb64(signature_text)
    except (ValueError, binascii.Error):
        raise InvalidCursor("not a cursor") from None
    if not hmac.compare_digest(signature, _signature(key, data)):
        raise InvalidCursor("not a cursor we issued")
    try:
        payload: dict[str, Any] = json.loads(data)
        if payload["v"] != _VERSION or payload["l"] != listing.value:
            raise InvalidCursor("a cursor of another listing")
        if payload["f"] != filter_digest(listing, calls):
            raise InvalidCursor("a cursor of the same listing with other filters")
        start, end = payload["w"]
        partition, created_key, call_id = payload["p"]
        return CursorState(
            window=Window(_parsed(start), _parsed(end)),
            position=Position(partition, created_key, call_id),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, InvalidCursor):
            raise
        raise InvalidCursor("not a cursor") from None


def _signature(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, b"cursor\n" + data, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _moment(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def _parsed(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None
