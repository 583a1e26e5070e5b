"""The body of `POST /calls`: snake_case names, the provider's names accepted as aliases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from esms_calls.domain.calls import CallSpec
from esms_calls.domain.ids import REQUEST_ID_PATTERN
from esms_calls.domain.phone import normalise_phone
from esms_calls.domain.send_date import parse_send_at, to_provider_format
from esms_calls.requests.aliases import PROVIDER_NAMES


@dataclass(frozen=True)
class _ConflictingNames:
    field: str
    alias: str


def _phone(value: str) -> str:
    try:
        return normalise_phone(value)
    except ValueError:
        raise PydanticCustomError(
            "phone", "must be a Vietnamese phone number, e.g. 0912345678 or +84 912 345 678"
        ) from None


def _whole_number(value: Any) -> Any:
    """Integers, or strings of digits (the provider's own fields are strings); nothing else."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "must be a whole number")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int):
        return value
    raise PydanticCustomError("int_type", "must be a whole number")


def _send_at(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_send_at(value)
        except ValueError as exc:
            raise PydanticCustomError("datetime_format", str(exc)) from None
    return value


def _ivr(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _aliased(name: str, **kwargs: Any) -> Any:
    return Field(validation_alias=AliasChoices(name, PROVIDER_NAMES[name]), **kwargs)


Phone = Annotated[str, AfterValidator(_phone)]


def _bounded(low: int, high: int) -> Any:
    return Annotated[int, BeforeValidator(_whole_number), Field(ge=low, le=high)]


class PlaceCallRequest(BaseModel):
    """A request to place one automated call playing a recording."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    # repr=False: a model's repr lands in debug and error lines; whole numbers must not.
    phone: Phone = _aliased(
        "phone", repr=False, description="Vietnamese number, any common spelling"
    )
    template_id: str = _aliased(
        "template_id", pattern=r"^[A-Za-z0-9_-]{1,50}$", description="the recording's id"
    )
    request_id: str | None = _aliased(
        "request_id",
        default=None,
        pattern=REQUEST_ID_PATTERN,
        description="idempotency key; the Idempotency-Key header is the same thing",
    )
    send_at: Annotated[datetime | None, BeforeValidator(_send_at)] = _aliased(
        "send_at",
        default=None,
        description="when to call: ISO-8601 (naive = Vietnam time) or yyyy/MM/dd HH:mm:ss",
    )
    number_forward: Phone | None = _aliased("number_forward", default=None, repr=False)
    ivr: Annotated[str | None, BeforeValidator(_ivr)] = _aliased(
        "ivr", default=None, pattern=r"^[0-9]$", description="key (0-9) that forwards the call"
    )
    time_wait_to_ivr: _bounded(0, 300) | None = _aliased("time_wait_to_ivr", default=None)  # type: ignore[valid-type]
    max_repeat: _bounded(0, 10) | None = _aliased("max_repeat", default=None)  # type: ignore[valid-type]
    max_retry: _bounded(0, 10) | None = _aliased("max_retry", default=None)  # type: ignore[valid-type]
    wait_retry: _bounded(0, 86400) | None = _aliased("wait_retry", default=None)  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _one_name_per_field(cls, data: Any) -> Any:
        """A field given under both its names must agree; the provider's name is then dropped.

        A disagreement is handed on as a marker so that it is reported against its field, beside
        every other bad field, instead of stopping validation here.
        """
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, provider_name in PROVIDER_NAMES.items():
            if name in data and provider_name in data:
                if data[name] != data[provider_name]:
                    data[name] = _ConflictingNames(name, provider_name)
                del data[provider_name]
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _reject_conflicting_names(cls, value: Any) -> Any:
        if isinstance(value, _ConflictingNames):
            raise PydanticCustomError(
                "conflicting_names",
                "given as both {field} and {alias} with different values",
                {"field": value.field, "alias": value.alias},
            )
        return value

    @model_validator(mode="after")
    def _forwarding_is_complete(self) -> PlaceCallRequest:
        if (self.number_forward is None) != (self.ivr is None):
            raise PydanticCustomError(
                "forwarding_incomplete",
                "number_forward and ivr go together: give both or neither",
                {"field": "ivr" if self.ivr is None else "number_forward"},
            )
        return self

    def to_spec(self) -> CallSpec:
        return CallSpec(
            phone=self.phone,
            template_id=self.template_id,
            send_date=to_provider_format(self.send_at) if self.send_at else None,
            number_forward=self.number_forward,
            ivr=self.ivr,
            time_wait_to_ivr=self.time_wait_to_ivr,
            max_repeat=self.max_repeat,
            max_retry=self.max_retry,
            wait_retry=self.wait_retry,
        )
