"""Placing a call: the command, and the definitive outcome stored for replay and on the call."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from esms_calls.domain.calls import Call, CallSpec, CallStatus
from esms_calls.domain.provider import RefusalKind, classify


class PlaceCallCommand(BaseModel):
    """Place this call under this request id (the idempotency key; `spec` is the payload).

    `fingerprint`, a keyed hash of the spec set by the use case, is what a replay is compared
    by: the spec itself may hold a one-time code, and neither it nor a plain hash of it (a
    six-digit code is guessed from one in a million tries) is ever stored."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    spec: CallSpec
    batch_id: str | None = None
    fingerprint: str | None = None


class Refusal(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    kind: RefusalKind
    message: str


class PlaceCallOutcome(BaseModel):
    """A definitive outcome: accepted by the provider, or refused. Replayed for 24 h."""

    call_id: str
    request_id: str
    status: CallStatus
    sms_id: str | None = None
    refusal: Refusal | None = None
    # When the advertising hours moved the call to their next opening.
    deferred_until: datetime | None = None
    replayed: bool = False

    @classmethod
    def of(cls, call: Call) -> PlaceCallOutcome:
        """The outcome a call record already holds (an earlier attempt recorded it)."""
        refusal = None
        if call.status is CallStatus.FAILED and call.esms_code:
            kind, message = classify(call.esms_code, call.esms_message)
            refusal = Refusal(code=call.esms_code, kind=kind, message=call.esms_message or message)
        return cls(
            call_id=call.call_id,
            request_id=call.request_id,
            status=call.status,
            sms_id=call.sms_id,
            refusal=refusal,
            deferred_until=call.deferred_until,
        )
