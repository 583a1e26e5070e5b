"""The call as the service understands it: its lifecycle, what was asked, what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


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


class CallSpec(BaseModel):
    """What to call and how, normalised: the provider's parameters in our own names."""

    model_config = ConfigDict(frozen=True)

    phone: str = Field(repr=False)  # whole numbers never reach a log line through a repr
    template_id: str
    send_date: str | None = None  # provider format, Vietnam time: yyyy/MM/dd HH:mm:ss
    number_forward: str | None = Field(default=None, repr=False)
    ivr: str | None = None
    time_wait_to_ivr: int | None = None
    max_repeat: int | None = None
    max_retry: int | None = None
    wait_retry: int | None = None


# The provider's spelling of each CallSpec field (shared/esms/README.md): the parameters the
# client sends, and the aliases callers may use for them.
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
