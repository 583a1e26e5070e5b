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


def payload_fingerprint(key: bytes, spec: CallSpec) -> str:
    """HMAC-SHA256 of the normalised call, under a key derived from `key` for this use alone."""
    own_key = hmac.new(key, b"esms-calls payload fingerprint v1", hashlib.sha256).digest()
    return hmac.new(own_key, spec.model_dump_json().encode(), hashlib.sha256).hexdigest()
