"""Keyed hashes. The callback URL: the provider signs nothing, so the URL we hand it carries the
proof. A call's fingerprint: what a replay is compared by, without keeping the call's variables.

`{base}/callbacks/esms/{call_id}/{token}?ReferenceId=&...` where token = HMAC-SHA256(signing key,
call id). Call id and token sit in the path: they survive however the provider composes its query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from esms_calls.domain.calls import CallSpec
from esms_calls.domain.reports import PLACEHOLDER_QUERY

CALLBACK_PATH_PREFIX = "/callbacks/esms"


def callback_token(key: bytes, call_id: str) -> str:
    digest = hmac.new(key, call_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_is_valid(key: bytes, call_id: str, token: str) -> bool:
    return hmac.compare_digest(callback_token(key, call_id).encode(), token.encode())


def callback_url(base_url: str, key: bytes, call_id: str) -> str:
    """The URL handed to the provider. Its query lists the report's names blank, as the
    provider's own sample does, for a provider that fills blanks instead of appending."""
    path = f"{CALLBACK_PATH_PREFIX}/{call_id}/{callback_token(key, call_id)}"
    return f"{base_url.rstrip('/')}{path}?{PLACEHOLDER_QUERY}"


def derived_key(key: bytes, label: str) -> bytes:
    """A key for another purpose, derived from this one (HMAC as a KDF). The label holds a
    character no call id has, so no derived key is ever some call's callback token."""
    return hmac.new(key, f"derive: {label}".encode(), hashlib.sha256).digest()


def payload_fingerprint(key: bytes, spec: CallSpec) -> str:
    """HMAC-SHA256 of the normalised call, under a key derived from `key` for this use alone."""
    own_key = derived_key(key, "payload fingerprint v1")
    return hmac.new(own_key, spec.model_dump_json().encode(), hashlib.sha256).hexdigest()


def number_key(key: bytes, phone: str) -> str:
    """What stands for a phone number on the do-not-call list and in the frequency cap: the
    HMAC-SHA256 of its national form under a key of its own, so a stored item never holds the
    number, and without the key no list of candidate numbers can be hashed to find it."""
    own_key = derived_key(key, "calling rules numbers v1")
    return hmac.new(own_key, phone.encode(), hashlib.sha256).hexdigest()
