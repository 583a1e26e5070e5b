"""The body of `POST /calls`: snake_case names, the provider's names accepted as aliases."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote_plus

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

from esms_calls.domain.calling_rules import OutsideHours, Purpose
from esms_calls.domain.calls import (
    RECORDING_ONLY,
    TTS_PROVIDER_NAMES,
    VARIABLE_SEPARATOR,
    CallSpec,
    TtsScript,
    Voice,
)
from esms_calls.domain.ids import REQUEST_ID_PATTERN
from esms_calls.domain.phone import PHONE_PATTERN, normalise_phone
from esms_calls.domain.provider import MAX_QUERY_LENGTH
from esms_calls.domain.send_date import parse_send_at, to_provider_format
from esms_calls.requests.aliases import (
    FIELD_OF_PROVIDER_NAME,
    PROVIDER_NAMES,
    TTS_FIELD_OF_PROVIDER_NAME,
)

TEMPLATE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,50}$"
MAX_VARIABLE_LENGTH = 100
# What the model strips from text fields (str_strip_whitespace strips Unicode's White_Space,
# which is not Python's \s): the document allows it around a value, as the code does.
_STRIPPED = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"


@dataclass(frozen=True)
class _ConflictingNames:
    field: str
    alias: str


@dataclass(frozen=True)
class _Refused:
    """A field refused before validation (reported beside every other bad field)."""

    field: str
    error_type: str
    message: str


_RECORDING_OR_SCRIPT = "give either template_id (a recording) or tts (a script): exactly one"
_RECORDING_ONLY = "is for recordings only: a tts call (MakeCallTemplate_V2) has no such option"


def _one_name_each(data: Any, names: Mapping[str, str], where: str = "") -> Any:
    """A field given under both its names must agree; the provider's name is then dropped.

    A disagreement is handed on as a marker so that it is reported against its field, beside
    every other bad field, instead of stopping validation here.
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for name, provider_name in names.items():
        if name in data and provider_name in data:
            if data[name] != data[provider_name]:
                data[name] = _ConflictingNames(where + name, provider_name)
            del data[provider_name]
    return data


def _spelling_given(data: dict[str, Any], name: str) -> str | None:
    """Under which of its names a field is given (not null), if any."""
    for spelling in (name, PROVIDER_NAMES[name]):
        if data.get(spelling) is not None:
            return spelling
    return None


def _refuse_markers(value: Any) -> Any:
    if isinstance(value, _ConflictingNames):
        raise PydanticCustomError(
            "conflicting_names",
            "given as both {field} and {alias} with different values",
            {"field": value.field, "alias": value.alias},
        )
    if isinstance(value, _Refused):
        raise PydanticCustomError(value.error_type, value.message, {"field": value.field})
    return value


PHONE_MESSAGE = "must be a Vietnamese phone number, e.g. 0912345678 or +84 912 345 678"


def _phone(value: str) -> str:
    try:
        return normalise_phone(value)
    except ValueError:
        raise PydanticCustomError("phone", PHONE_MESSAGE) from None


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


def _speed(value: Any) -> Any:
    """Integers, or their text ("-1"); null is no speed given; nothing else."""
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():  # JSON's 2.0 is the integer 2
        return int(value)
    raise PydanticCustomError("int_type", "must be a whole number")


def _variable(value: Any) -> Any:
    """One variable: text (a whole number is taken as its digits) the provider can carry.
    Messages never quote the value: it may be a one-time code."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "must be text")
    # Before stripping: a trailing newline is a control character too, not whitespace to drop.
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise PydanticCustomError("variable_control", "must not contain control characters")
    value = value.strip()
    if not 1 <= len(value) <= MAX_VARIABLE_LENGTH:
        raise PydanticCustomError(
            "variable_length", "must be 1 to {max} characters", {"max": MAX_VARIABLE_LENGTH}
        )
    if VARIABLE_SEPARATOR in value:
        raise PydanticCustomError(
            "variable_separator", "must not contain || (the provider joins the variables with it)"
        )
    return value


def _variable_list(value: Any) -> Any:
    """A list, or the provider's own VariableListStr text joined by ||."""
    if isinstance(value, str):
        return value.split(VARIABLE_SEPARATOR)
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
# Exactly one of template_id (a recording) and tts (a script), given and not null.
_RECORDING_OR_SCRIPT_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {
            "required": ["template_id"],
            "properties": {"template_id": {"type": "string"}, "tts": {"type": "null"}},
        },
        {
            "required": ["tts"],
            "properties": {
                "tts": {"type": "object"},
                "template_id": {"type": "null"},
                # the recording's own options: a script call (MakeCallTemplate_V2) has none
                **{name: {"type": "null"} for name in RECORDING_ONLY},
            },
        },
    ]
}


def _tts_aliased(name: str, **kwargs: Any) -> Any:
    return Field(validation_alias=AliasChoices(name, TTS_PROVIDER_NAMES[name]), **kwargs)


# The bounds documented in the schema; _variable enforces them with messages of its own.
Variable = Annotated[
    str, BeforeValidator(_variable), Field(min_length=1, max_length=MAX_VARIABLE_LENGTH)
]


class TtsRequest(BaseModel):
    """`tts`: speak a script registered on the provider's account (MakeCallTemplate_V2)."""

    # hide_input_in_errors: a ValidationError's text, wherever it ends up, never quotes a value.
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, frozen=True, hide_input_in_errors=True
    )

    template_id: _text(TEMPLATE_ID_PATTERN) = _tts_aliased(  # type: ignore[valid-type]
        "template_id", description="the script's id"
    )
    # repr=False: variables may be one-time codes or amounts owed.
    variables: Annotated[tuple[Variable, ...], BeforeValidator(_variable_list)] = _tts_aliased(
        "variables",
        default=(),
        repr=False,
        max_length=100,
        description="the script's variables in order, 1-100 characters each, no || and no "
        "control characters (VariableListStr: the same joined by ||)",
    )
    voice: Voice | None = _tts_aliased(
        "voice",
        default=None,
        description="male, female (northern), hatieumai (southern), ngoclam (Huế)",
    )
    speed: Annotated[int | None, BeforeValidator(_speed)] = _tts_aliased(
        "speed", default=None, ge=-3, le=3, description="-3 (very slow) to 3 (very fast)"
    )
    sensitive: bool = Field(
        default=False,
        description="one-time codes: the variables are never stored, logged or shown; only "
        "their count and a keyed hash are kept",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_name_per_field(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("VariableListStr"), str):
            data = {**data, "VariableListStr": _variable_list(data["VariableListStr"])}
        return _one_name_each(data, TTS_PROVIDER_NAMES, where="tts.")

    @field_validator("*", mode="before")
    @classmethod
    def _reject_markers(cls, value: Any) -> Any:
        return _refuse_markers(value)

    @model_validator(mode="after")
    def _variables_fit_the_query(self) -> TtsRequest:
        """Their share of the query alone; the use case checks the whole query, credentials and
        callback URL included (esms/client.py), before anything is recorded."""
        joined = quote_plus(VARIABLE_SEPARATOR.join(self.variables))
        if len(joined) > MAX_QUERY_LENGTH:
            raise PydanticCustomError(
                "query_too_long",
                "together make the provider's query longer than {max} characters",
                {"field": "tts.variables", "max": MAX_QUERY_LENGTH},
            )
        return self

    def to_script(self) -> TtsScript:
        return TtsScript.of(self.variables, self.voice, self.speed, self.sensitive)


class PlaceCallRequest(BaseModel):
    """A request to place one automated call: a recording (`template_id`) or a script (`tts`)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        frozen=True,
        hide_input_in_errors=True,
        json_schema_extra={"allOf": [_FORWARDING, _RECORDING_OR_SCRIPT_SCHEMA]},
    )

    # repr=False: a model's repr lands in debug and error lines; whole numbers must not.
    phone: Phone = _aliased(
        "phone", repr=False, description="Vietnamese number, any common spelling"
    )
    template_id: _text(TEMPLATE_ID_PATTERN) | None = _aliased(  # type: ignore[valid-type]
        "template_id",
        default=None,
        description="the recording's id; exactly one of template_id and tts",
    )
    tts: TtsRequest | None = Field(
        default=None, description="a script to speak instead of a recording"
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
    purpose: Purpose = Field(
        default=Purpose.SERVICE,
        description="service (default) or advertising: Vietnam's rules for advertising calls "
        "apply (advertising hours, at most one call per number in 24 h, the do-not-call list)",
    )
    opt_out_key: (
        Annotated[str, BeforeValidator(_ivr), Field(pattern=r"^[0-9]$"), WithJsonSchema(_IVR)]
        | None
    ) = Field(
        default=None,
        description="a key (0-9) that, pressed by the callee, puts the number on the "
        "do-not-call list",
    )
    outside_hours: OutsideHours = Field(
        default=OutsideHours.DEFER,
        description="an advertising call outside the advertising hours: defer (moved to their "
        "next opening) or refuse (422 outside-calling-hours)",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_name_per_field(cls, data: Any) -> Any:
        data = _one_name_each(data, PROVIDER_NAMES)
        if not isinstance(data, dict):
            return data
        recording = _spelling_given(data, "template_id")
        if (recording is None) == (data.get("tts") is None):
            spelling = "tts" if recording else "template_id"
            data[spelling] = _Refused(spelling, "recording_or_script", _RECORDING_OR_SCRIPT)
        elif data.get("tts") is not None:
            for name in RECORDING_ONLY:
                given = _spelling_given(data, name)
                if given:
                    data[given] = _Refused(name, "recording_only", _RECORDING_ONLY)
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _reject_markers(cls, value: Any) -> Any:
        return _refuse_markers(value)

    @model_validator(mode="after")
    def _forwarding_is_complete(self) -> PlaceCallRequest:
        if (self.number_forward is None) != (self.ivr is None):
            raise PydanticCustomError(
                "forwarding_incomplete",
                "number_forward and ivr go together: give both or neither",
                {"field": "ivr" if self.ivr is None else "number_forward"},
            )
        if self.opt_out_key is not None and self.opt_out_key == self.ivr:
            raise PydanticCustomError(
                "opt_out_key_is_ivr",
                "must differ from ivr, the key that forwards the call",
                {"field": "opt_out_key"},
            )
        return self

    def to_spec(self) -> CallSpec:
        template_id = self.tts.template_id if self.tts else self.template_id
        if template_id is None:  # _one_name_per_field refused that; this narrows the type
            raise ValueError("a call plays a recording or speaks a script")
        return CallSpec(
            phone=self.phone,
            template_id=template_id,
            tts=self.tts.to_script() if self.tts else None,
            send_date=to_provider_format(self.send_at) if self.send_at else None,
            number_forward=self.number_forward,
            ivr=self.ivr,
            time_wait_to_ivr=self.time_wait_to_ivr,
            max_repeat=self.max_repeat,
            max_retry=self.max_retry,
            wait_retry=self.wait_retry,
            purpose=self.purpose,
            opt_out_key=self.opt_out_key,
            outside_hours=self.outside_hours,
        )


def with_defaults(defaults: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """A list's entry over the list's defaults, before validation: an entry's field overrides
    the default of the same field (whichever name either uses), an entry's `tts` fields the
    default `tts`'s (so an entry brings just its `variables`), and an entry naming its own
    recording or script drops the default's other one."""
    shared = _our_names(defaults, FIELD_OF_PROVIDER_NAME)
    own = _our_names(entry, FIELD_OF_PROVIDER_NAME)
    if "tts" in own and "template_id" not in own:
        shared.pop("template_id", None)
    if "template_id" in own and "tts" not in own:
        shared.pop("tts", None)
    merged = {**shared, **own}
    if isinstance(shared.get("tts"), dict) and isinstance(own.get("tts"), dict):
        merged["tts"] = {
            **_our_names(shared["tts"], TTS_FIELD_OF_PROVIDER_NAME),
            **_our_names(own["tts"], TTS_FIELD_OF_PROVIDER_NAME),
        }
    return merged


def _our_names(values: Mapping[str, Any], ours_of: Mapping[str, str]) -> dict[str, Any]:
    """The provider's names renamed to ours (unless both are given: the request model then says
    whether they agree), so that an entry's field overrides the default of the same field."""
    renamed: dict[str, Any] = {}
    for name, value in values.items():
        ours = ours_of.get(name)
        renamed[ours if ours and ours not in values else name] = value
    return renamed
