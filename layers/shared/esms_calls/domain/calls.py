"""The call as the service understands it: its lifecycle, what was asked, what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from esms_calls.domain.calling_rules import OutsideHours, Purpose


class CallStatus(StrEnum):
    """Where a call is. Moves forward only; `RANK` orders the open states."""

    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    WAITING = "WAITING"
    REPORT_PENDING = "REPORT_PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_final(self) -> bool:
        return self in (CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.EXPIRED)


_RANK = {
    CallStatus.PENDING: 0,
    CallStatus.ACCEPTED: 1,
    CallStatus.WAITING: 2,
    CallStatus.REPORT_PENDING: 3,
    CallStatus.COMPLETED: 4,
    CallStatus.FAILED: 4,
    CallStatus.EXPIRED: 4,
}


class CallOutcome(StrEnum):
    ANSWERED = "ANSWERED"
    NO_ANSWER = "NO_ANSWER"
    UNKNOWN = "UNKNOWN"


class CallKind(StrEnum):
    RECORDING = "recording"  # MakeCallRecord_V2 plays a recording
    TTS = "tts"  # MakeCallTemplate_V2 speaks a script registered on the account


class Voice(StrEnum):
    """MakeCallTemplate_V2's voices, by the provider's names."""

    MALE = "male"  # northern male
    FEMALE = "female"  # northern female
    HATIEUMAI = "hatieumai"  # southern female
    NGOCLAM = "ngoclam"  # Huế female


class TtsScript(BaseModel):
    """How a registered script is spoken: its variables in order, the voice and the speed.

    A sensitive script's variables (one-time codes) live only in memory, for the request that
    places the call: what is stored keeps their count (`withheld()`), and a replay is compared
    through a keyed hash of the whole call (usecases/place_call.py)."""

    model_config = ConfigDict(frozen=True)

    # repr=False: a variable may be a one-time code or a debt amount; no repr prints it.
    # None: withheld (a sensitive script, as stored).
    variables: tuple[str, ...] | None = Field(default=None, repr=False)
    variable_count: int = Field(default=0, ge=0)
    voice: Voice | None = None
    speed: int | None = Field(default=None, ge=-3, le=3)
    sensitive: bool = False

    @model_validator(mode="after")
    def _count_matches(self) -> TtsScript:
        if self.variables is not None and len(self.variables) != self.variable_count:
            raise ValueError("variable_count must be the number of variables")
        return self

    @classmethod
    def of(
        cls,
        variables: tuple[str, ...],
        voice: Voice | None = None,
        speed: int | None = None,
        sensitive: bool = False,
    ) -> TtsScript:
        return cls(
            variables=variables,
            variable_count=len(variables),
            voice=voice,
            speed=speed,
            sensitive=sensitive,
        )

    def withheld(self) -> TtsScript:
        """What may be kept: a sensitive script without its variables."""
        return self.model_copy(update={"variables": None}) if self.sensitive else self


class CallSpec(BaseModel):
    """What to call and how, normalised: the provider's parameters in our own names. A call
    with `tts` speaks the script `template_id`; without, it plays the recording `template_id`."""

    model_config = ConfigDict(frozen=True)

    phone: str = Field(repr=False)  # whole numbers never reach a log line through a repr
    template_id: str
    tts: TtsScript | None = None
    send_date: str | None = None  # provider format, Vietnam time: yyyy/MM/dd HH:mm:ss
    number_forward: str | None = Field(default=None, repr=False)
    ivr: str | None = None
    time_wait_to_ivr: int | None = None
    max_repeat: int | None = None
    max_retry: int | None = None
    wait_retry: int | None = None
    # The service's own, never sent to the provider (NOT_SENT): the calling rules' inputs.
    purpose: Purpose = Purpose.SERVICE
    opt_out_key: str | None = None  # a key that puts the callee on the do-not-call list
    outside_hours: OutsideHours = OutsideHours.DEFER

    @property
    def kind(self) -> CallKind:
        return CallKind.RECORDING if self.tts is None else CallKind.TTS

    @property
    def sensitive(self) -> bool:
        return self.tts is not None and self.tts.sensitive

    def withheld(self) -> CallSpec:
        """What may be stored, queued or shown: the spec without a sensitive script's variables."""
        if self.tts is None or not self.tts.sensitive:
            return self
        return self.model_copy(update={"tts": self.tts.withheld()})


# The provider's spelling of each CallSpec field (shared/esms/README.md): the parameters the
# client sends, and the aliases callers may use for them. MakeCallTemplate_V2 takes the first
# three, SendDate, and TTS_PROVIDER_NAMES; the others are MakeCallRecord_V2's alone.
PROVIDER_NAMES = {
    "phone": "Phone",
    "template_id": "TemplateId",
    "send_date": "SendDate",
    "number_forward": "NumberForward",
    "ivr": "Ivr",
    "time_wait_to_ivr": "TimeWaitToIvr",
    "max_repeat": "MaxRepeat",
    "max_retry": "MaxRetry",
    "wait_retry": "WaitRetry",
}
RECORDING_ONLY = (
    "number_forward",
    "ivr",
    "time_wait_to_ivr",
    "max_repeat",
    "max_retry",
    "wait_retry",
)
# CallSpec fields the provider never hears of.
NOT_SENT = ("purpose", "opt_out_key", "outside_hours")
TTS_PROVIDER_NAMES = {
    "template_id": "TemplateId",
    "variables": "VariableListStr",
    "voice": "Voice",
    "speed": "Speed",
}
# MakeCallTemplate_V2 joins the variables with this; a variable cannot hold it.
VARIABLE_SEPARATOR = "||"


class CallResult(BaseModel):
    """What the provider reported about a call (by callback or status query)."""

    model_config = ConfigDict(frozen=True)

    call_status: CallOutcome
    duration_seconds: int | None = None
    ivr: str | None = None
    price: Decimal | None = None
    sent_result: int | None = None
    cid: str | None = None
    send_status: int | None = None


class Call(BaseModel):
    """A call record."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    request_id: str
    spec: CallSpec
    status: CallStatus
    sms_id: str | None = None
    esms_code: str | None = None
    esms_message: str | None = None
    result: CallResult | None = None
    callbacks_received: int = 0
    created_at: datetime
    updated_at: datetime
    batch_id: str | None = None
    # Set when the advertising hours moved the call (spec.send_date is then this moment).
    deferred_until: datetime | None = None


@dataclass(frozen=True)
class OpenCall:
    """A call not yet final, as the reconciliation sees it."""

    call_id: str
    status: CallStatus
    sms_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class OpenedCall:
    """A call recorded for a request id: new, or the one an earlier attempt recorded."""

    call: Call
    first_attempt: (
        bool  # False: an earlier attempt of this request id may have reached the provider
    )
