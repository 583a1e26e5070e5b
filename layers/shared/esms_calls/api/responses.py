"""Response bodies: what clients see, mapped explicitly from the domain."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field, field_serializer

from esms_calls.domain.calls import Call, CallOutcome, CallStatus
from esms_calls.domain.times import iso


class CallAccepted(BaseModel):
    call_id: str
    request_id: str
    sms_id: str | None = Field(description="the provider's id; null until a callback brings it")
    status: CallStatus


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


class CallView(BaseModel):
    call_id: str
    request_id: str
    status: CallStatus
    sms_id: str | None
    phone: str
    template_id: str
    send_date: str | None = None
    created_at: datetime
    updated_at: datetime
    esms_code: str | None = None
    esms_message: str | None = None
    result: CallResultView | None = None
    callbacks_received: int

    @field_serializer("created_at", "updated_at")
    def _utc(self, moment: datetime) -> str:
        return iso(moment)

    @classmethod
    def of(cls, call: Call) -> CallView:
        return cls(
            call_id=call.call_id,
            request_id=call.request_id,
            status=call.status,
            sms_id=call.sms_id,
            phone=call.spec.phone,
            template_id=call.spec.template_id,
            send_date=call.spec.send_date,
            created_at=call.created_at,
            updated_at=call.updated_at,
            esms_code=call.esms_code,
            esms_message=call.esms_message,
            result=CallResultView.model_validate(call.result.model_dump()) if call.result else None,
            callbacks_received=call.callbacks_received,
        )
