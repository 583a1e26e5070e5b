"""`PUT /do-not-call/{phone}`: the body, and the path's number read like a call's."""

from __future__ import annotations

from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field

from esms_calls.domain.phone import normalise_phone
from esms_calls.errors import InvalidCallRequest
from esms_calls.requests.calls import PHONE_MESSAGE


class DoNotCallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    reason: str | None = Field(
        default=None, min_length=1, max_length=500, description="why the number is listed"
    )


def listed_phone(text: str) -> str:
    """The national form of the path's number; 422 for anything that is not one. The path comes
    as sent (`rawPath`, which Powertools does not decode): `%2B84…` and `%2084` are decoded here."""
    try:
        return normalise_phone(unquote(text))
    except ValueError:
        raise InvalidCallRequest("phone", PHONE_MESSAGE) from None
