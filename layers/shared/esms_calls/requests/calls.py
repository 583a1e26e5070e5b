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
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from esms_calls.domain.calls import CallSpec
from esms_calls.domain.ids import REQUEST_ID_PATTERN
from esms_calls.domain.phone import PHONE_PATTERN, normalise_phone
from esms_calls.domain.send_date import parse_send_at, to_provider_format
from esms_calls.requests.aliases import PROVIDER_NAMES

TEMPLATE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,50}$"
# What the model strips from text fields (str_strip_whitespace strips Unicode's White_Space,
# which is not Python's \s): the document allows it around a value, as the code does.
_STRIPPED = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"


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
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():  # JSON's 3.0 is the integer 3
        return int(value)
    raise PydanticCustomError("int_type", "must be a whole number")


def _send_at(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_send_at(value)
        except ValueError as exc:
            raise PydanticCustomError("datetime_format", str(exc)) from None
    return value


def _ivr(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _aliased(name: str, **kwargs: Any) -> Any:
    return Field(validation_alias=AliasChoices(name, PROVIDER_NAMES[name]), **kwargs)


# The JSON Schemas below say exactly what the validators accept, so that the OpenAPI document
# neither promises what the service refuses nor forbids what it takes (the local stack's
# schemathesis test holds both).
Phone = Annotated[
    str, AfterValidator(_phone), WithJsonSchema({"type": "string", "pattern": PHONE_PATTERN})
]


def _text(pattern: str) -> Any:
    """A string matching ``pattern`` once stripped."""
    inner = pattern.removeprefix("^").removesuffix("$")
    documented = {"type": "string", "pattern": f"^{_STRIPPED}{inner}{_STRIPPED}$"}
    return Annotated[str, Field(pattern=pattern), WithJsonSchema(documented)]


def _digits_up_to(high: int) -> str:
    """A regular expression for the decimal numbers 0..high (leading zeros allowed)."""
    text = str(high)
    shorter = [f"[0-9]{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    below = [
        text[:i]
        + ("0" if digit == "1" else f"[0-{int(digit) - 1}]")
        + (f"[0-9]{{{len(text) - i - 1}}}" if i < len(text) - 1 else "")
        for i, digit in enumerate(text)
        if digit != "0"
    ]
    return "0*(?:" + "|".join([*shorter, *below, text]) + ")"


def _bounded(low: int, high: int) -> Any:
    if low != 0:
        raise ValueError("bounded fields start at 0")  # what _digits_up_to describes
    documented = {
        "anyOf": [
            {"type": "integer", "minimum": low, "maximum": high},
            {"type": "string", "pattern": rf"^\s*{_digits_up_to(high)}\s*$"},
        ]
    }
    return Annotated[
        int, BeforeValidator(_whole_number), Field(ge=low, le=high), WithJsonSchema(documented)
    ]


_IVR: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": f"^{_STRIPPED}[0-9]{_STRIPPED}$"},
        {"type": "integer", "minimum": 0, "maximum": 9},
    ]
}
# number_forward and ivr: both (neither null) or neither (absent or null).
_FORWARDING: dict[str, Any] = {
    "anyOf": [
        {
            "required": ["number_forward", "ivr"],
            "properties": {"number_forward": {"type": "string"}, "ivr": {"not": {"type": "null"}}},
        },
        {"properties": {"number_forward": {"type": "null"}, "ivr": {"type": "null"}}},
    ]
}


class PlaceCallRequest(BaseModel):
    """A request to place one automated call playing a recording."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, frozen=True, json_schema_extra=_FORWARDING
    )

    # repr=False: a model's repr lands in debug and error lines; whole numbers must not.
    phone: Phone = _aliased(
        "phone", repr=False, description="Vietnamese number, any common spelling"
    )
    template_id: _text(TEMPLATE_ID_PATTERN) = _aliased(  # type: ignore[valid-type]
        "template_id", description="the recording's id"
    )
    request_id: _text(REQUEST_ID_PATTERN) | None = _aliased(  # type: ignore[valid-type]
        "request_id",
        default=None,
        description="idempotency key; the Idempotency-Key header is the same thing; one key "
        "names one call for 24 h (another call under it is refused)",
    )
    send_at: Annotated[datetime | None, BeforeValidator(_send_at)] = _aliased(
        "send_at",
        default=None,
        description="when to call, not in the past: ISO-8601 (naive = Vietnam time) or "
        "yyyy/MM/dd HH:mm:ss",
    )
    number_forward: Phone | None = _aliased("number_forward", default=None, repr=False)
    ivr: (
        Annotated[str, BeforeValidator(_ivr), Field(pattern=r"^[0-9]$"), WithJsonSchema(_IVR)]
        | None
    ) = _aliased("ivr", default=None, description="key (0-9) that forwards the call")
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
