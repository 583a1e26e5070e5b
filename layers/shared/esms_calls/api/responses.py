"""Response bodies: what clients see, mapped explicitly from the domain."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field, field_serializer

from esms_calls.domain.batches import BatchSummary
from esms_calls.domain.calling_rules import CallingRule, DoNotCallEntry, DoNotCallSource, Purpose
from esms_calls.domain.calls import Call, CallKind, CallOutcome, CallStatus, TtsScript, Voice
from esms_calls.domain.send_date import VIETNAM
from esms_calls.domain.times import iso

_DEFERRED = (
    "when the advertising hours moved the call to their next opening: the time it rings "
    "(Vietnam time); null when it was not moved"
)


def _vietnam_time(moment: datetime | None) -> str | None:
    return moment.astimezone(VIETNAM).isoformat() if moment else None


class CallAccepted(BaseModel):
    call_id: str
    request_id: str
    sms_id: str | None = Field(description="the provider's id; null until a callback brings it")
    status: CallStatus
    deferred_until: datetime | None = Field(default=None, description=_DEFERRED)

    @field_serializer("deferred_until")
    def _in_vietnam(self, moment: datetime | None) -> str | None:
        return _vietnam_time(moment)


class CallResultView(BaseModel):
    call_status: CallOutcome
    duration_seconds: int | None = None
    ivr: str | None = None
    price: Decimal | None = Field(default=None, description="exact decimal, as a string")
    sent_result: int | None = None
    cid: str | None = None
    send_status: int | None = None

    @field_serializer("price")
    def _price_as_text(self, price: Decimal | None) -> str | None:
        return None if price is None else str(price)


class TtsView(BaseModel):
    template_id: str
    variables: list[str] | None = Field(description="null for a sensitive script: never kept")
    variable_count: int
    voice: Voice | None = None
    speed: int | None = None
    sensitive: bool

    @classmethod
    def of(cls, template_id: str, script: TtsScript) -> TtsView:
        shown = script.withheld().variables
        return cls(
            template_id=template_id,
            variables=None if shown is None else list(shown),
            variable_count=script.variable_count,
            voice=script.voice,
            speed=script.speed,
            sensitive=script.sensitive,
        )


class CallView(BaseModel):
    call_id: str
    request_id: str
    status: CallStatus
    sms_id: str | None
    phone: str
    kind: CallKind = Field(description="recording (MakeCallRecord_V2) or tts (MakeCallTemplate_V2)")
    template_id: str = Field(description="the recording's id, or the tts script's")
    tts: TtsView | None = Field(default=None, description="the script's parameters (tts calls)")
    send_date: str | None = None
    purpose: Purpose
    opt_out_key: str | None = None
    deferred_until: datetime | None = Field(default=None, description=_DEFERRED)
    created_at: datetime
    updated_at: datetime
    esms_code: str | None = None
    esms_message: str | None = None
    result: CallResultView | None = None
    callbacks_received: int

    @field_serializer("created_at", "updated_at")
    def _utc(self, moment: datetime) -> str:
        return iso(moment)

    @field_serializer("deferred_until")
    def _in_vietnam(self, moment: datetime | None) -> str | None:
        return _vietnam_time(moment)

    @classmethod
    def of(cls, call: Call) -> CallView:
        return cls(
            call_id=call.call_id,
            request_id=call.request_id,
            status=call.status,
            sms_id=call.sms_id,
            phone=call.spec.phone,
            kind=call.spec.kind,
            template_id=call.spec.template_id,
            tts=TtsView.of(call.spec.template_id, call.spec.tts) if call.spec.tts else None,
            send_date=call.spec.send_date,
            purpose=call.spec.purpose,
            opt_out_key=call.spec.opt_out_key,
            deferred_until=call.deferred_until,
            created_at=call.created_at,
            updated_at=call.updated_at,
            esms_code=call.esms_code,
            esms_message=call.esms_message,
            result=CallResultView.model_validate(call.result.model_dump()) if call.result else None,
            callbacks_received=call.callbacks_received,
        )


class CallsPageView(BaseModel):
    items: list[CallView]
    next_cursor: str | None = Field(description="the next page's cursor; null on the last page")


class EntryErrorView(BaseModel):
    field: str
    message: str


class InvalidEntryView(BaseModel):
    index: int
    errors: list[EntryErrorView]


class SkippedEntryView(BaseModel):
    index: int
    rule: CallingRule = Field(description="outside-calling-hours, frequency-capped, do-not-call")


class BatchAcceptedView(BaseModel):
    batch_id: str
    accepted: int = Field(description="valid entries, each placed once through the calls queue")
    invalid: list[InvalidEntryView]
    skipped: list[SkippedEntryView] = Field(
        description="valid entries a calling rule forbids (not queued); the frequency cap is "
        "counted as each call is placed: GET /batches/{batch_id} counts all skipped entries"
    )


class BatchView(BaseModel):
    batch_id: str
    name: str | None
    created_at: datetime
    total: int = Field(description="valid entries: calls placed, or skipped by a calling rule")
    placed: int = Field(description="calls recorded so far")
    by_status: dict[str, int]
    by_outcome: dict[str, int] = Field(description="ANSWERED, NO_ANSWER, UNKNOWN, REFUSED")
    skipped: dict[str, int] = Field(
        description="entries a calling rule forbade, by rule: outside-calling-hours, "
        "frequency-capped, do-not-call"
    )
    keys_pressed: dict[str, int]
    cost: Decimal = Field(description="sum of the calls' prices, exact decimal, as a string")
    finished: bool = Field(
        description="every entry placed or skipped, and every call in a final status"
    )
    finished_at: datetime | None

    @field_serializer("created_at", "finished_at")
    def _utc(self, moment: datetime | None) -> str | None:
        return iso(moment) if moment else None

    @field_serializer("cost")
    def _cost_as_text(self, cost: Decimal) -> str:
        return str(cost)

    @classmethod
    def of(cls, summary: BatchSummary) -> BatchView:
        return cls.model_validate(summary, from_attributes=True)


class DoNotCallView(BaseModel):
    """An entry of the do-not-call list; the number itself is kept only as a keyed hash."""

    reason: str | None
    source: DoNotCallSource = Field(description="api (PUT) or key-press (the call's opt_out_key)")
    created_at: datetime
    call_id: str | None = Field(description="the call whose opt-out key press added it")

    @field_serializer("created_at")
    def _utc(self, moment: datetime) -> str:
        return iso(moment)

    @classmethod
    def of(cls, entry: DoNotCallEntry) -> DoNotCallView:
        return cls(
            reason=entry.reason,
            source=entry.source,
            created_at=entry.created_at,
            call_id=entry.call_id,
        )
