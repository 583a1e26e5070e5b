"""Immutable snapshots of what the simulator received and did, for tests to assert on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .callbacks import CallbackAttempt
from .rules import STATUS_API_SPELLING, Outcome, Rule

MAKE_CALL = "MakeCallRecord_V2"
MAKE_CALL_TEMPLATE = "MakeCallTemplate_V2"
GET_SEND_STATUS = "GetSendStatus"
GET_BALANCE = "GetBalance_json"


@dataclass(frozen=True)
class ReceivedRequest:
    """One request to a provider path, credentials masked (``***``)."""

    seq: int
    api: str  # "MakeCallRecord_V2", "GetSendStatus"
    method: str
    path: str
    query: str  # raw query string, credentials masked
    params: Mapping[str, str]  # first value of each name, spelled as received
    param_names: tuple[str, ...]  # every name in received order (repeats included)
    received_at: float  # epoch seconds
    code: str | None = None  # CodeResult/CodeResponse answered (None: no JSON answer)
    sms_id: str | None = None  # SMSID answered
    http_status: int | None = None  # None: not answered yet, or the answer was dropped
    answered_at: float | None = None  # epoch seconds the answer was written or dropped

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "api": self.api,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "params": dict(self.params),
            "param_names": list(self.param_names),
            "received_at": self.received_at,
            "code": self.code,
            "sms_id": self.sms_id,
            "http_status": self.http_status,
            "answered_at": self.answered_at,
        }


@dataclass(frozen=True)
class CallRecord:
    """An accepted call: its request, its rule, where it stands, its callback attempts."""

    sms_id: str
    request_id: str | None
    phone: str  # as received
    template_id: str
    callback_url: str | None
    params: Mapping[str, str]  # the request's parameters, credentials masked
    accepted_at: float  # epoch seconds
    accepted_monotonic: float = field(repr=False)
    rule: Rule = field(repr=False)
    outcome: Outcome = field(repr=False)
    api: str = MAKE_CALL  # MakeCallRecord_V2, or MakeCallTemplate_V2 (a script spoken)
    variables: tuple[str, ...] = ()  # the script's VariableListStr, split
    send_status: int = 2
    stages: tuple[int, ...] = ()  # SendStatus values reached so far
    attempts: tuple[CallbackAttempt, ...] = ()

    @property
    def final(self) -> bool:
        return self.send_status == 5

    def delivered(self, send_status: int | None = None) -> list[CallbackAttempt]:
        """Attempts answered 200 (optionally for one SendStatus)."""
        return [
            a
            for a in self.attempts
            if a.ok and (send_status is None or a.send_status == send_status)
        ]

    def status_answer(self) -> dict[str, Any]:
        """The GetSendStatus success body for the call's current state."""
        final = self.final
        return {
            "CallDuration": self.outcome.duration if final else 0,
            "CallStatus": STATUS_API_SPELLING[self.outcome.call_status] if final else "",
            "CodeResponse": "100",
            "Ivr": self.outcome.ivr if final else "",
            # The provider's example spells the id in upper case (SMSID comes in lower case).
            "ReferenceId": self.sms_id.upper(),
            "SendStatus": self.send_status,
            "SentResult": self.outcome.sent_result if final else 0,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "sms_id": self.sms_id,
            "request_id": self.request_id,
            "phone": self.phone,
            "template_id": self.template_id,
            "api": self.api,
            "variables": list(self.variables),
            "callback_url": self.callback_url,
            "params": dict(self.params),
            "accepted_at": self.accepted_at,
            "send_status": self.send_status,
            "final": self.final,
            "stages": list(self.stages),
            "outcome": {
                "call_status": self.outcome.call_status,
                "duration": self.outcome.duration,
                "ivr": self.outcome.ivr,
                "price": self.outcome.price,
                "sent_result": self.outcome.sent_result,
                "cid": self.outcome.cid,
            },
            "rule": self.rule.to_dict(),
            "callbacks": [attempt.to_dict() for attempt in self.attempts],
        }
