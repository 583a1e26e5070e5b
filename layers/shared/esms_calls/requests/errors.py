"""Where a validation error points, named as the caller should read it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from esms_calls.requests.aliases import FIELD_OF_PROVIDER_NAME, TTS_FIELD_OF_PROVIDER_NAME


def field_of(
    error: Any, where: str = "", *, skip: Sequence[str] = (), default: str = "body"
) -> str:
    """The field a pydantic error is about: the validator's own `field` when it named one, else
    its location with the provider's spelling of the first part turned into ours, under `where`
    (a list entry's index, `detail`). Leading location parts in `skip` (e.g. "body") are dropped;
    `default` names an error with no location at all."""
    ctx_field = (error.get("ctx") or {}).get("field")
    if ctx_field:
        return f"{where}.{ctx_field}" if where else str(ctx_field)
    parts = [str(part) for part in error.get("loc", ())]
    if parts and parts[0] in skip:
        parts = parts[1:]
    if parts:
        parts[0] = FIELD_OF_PROVIDER_NAME.get(parts[0], parts[0])
    if parts[:1] == ["tts"] and len(parts) > 1:
        parts[1] = TTS_FIELD_OF_PROVIDER_NAME.get(parts[1], parts[1])
    return ".".join([where, *parts] if where else parts) or where or default
