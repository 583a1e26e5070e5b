"""The body of `POST /batches`: the entries are validated one by one (requests/call_lists.py),
so that a bad entry is reported by its index while the others are placed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from esms_calls.domain.ids import BATCH_ID_PATTERN

MAX_BATCH_ENTRIES = 10_000


class PlaceBatchRequest(BaseModel):
    """Many calls at once: entries as `POST /calls` takes them (without `request_id`), or bare
    phone numbers taking `defaults`."""

    model_config = ConfigDict(extra="forbid")

    calls: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH_ENTRIES,
        description="POST /calls bodies without request_id, or phone numbers",
    )
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="fields every entry takes unless it gives its own"
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)
    batch_id: str | None = Field(
        default=None,
        pattern=BATCH_ID_PATTERN,
        description="idempotency key; the Idempotency-Key header is the same thing",
    )

    @field_validator("defaults")
    @classmethod
    def _no_request_id(cls, defaults: dict[str, Any]) -> dict[str, Any]:
        if "request_id" in defaults or "RequestId" in defaults:
            raise PydanticCustomError(
                "request_id_in_defaults",
                "a batch's calls get request ids batch:<batch_id>:<index>: leave request_id out",
            )
        return defaults
