"""The provider's answers in typed form, and its CodeResult table (see shared/esms/README.md).

Domain types: the use cases decide on them; the provider client (esms/) produces them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class RefusalKind(StrEnum):
    """Whose fault a refusal is: decides the HTTP answer and whether a retry can help."""

    REQUEST = "REQUEST"  # something in the request: fix it, use a new request id
    ACCOUNT = "ACCOUNT"  # our account or deployment: credentials, balance, allow-list, unknown
    DUPLICATE = "DUPLICATE"  # the provider already has this RequestID
    NOT_FOUND_YET = "NOT_FOUND_YET"  # status query: the id is not known yet, ask again later


ACCEPTED = "100"
# The longest GET query the provider takes (credentials, callback URL and variables included).
MAX_QUERY_LENGTH = 2000

_KNOWN: dict[str, tuple[RefusalKind, str]] = {
    "99": (RefusalKind.REQUEST, "phone number blocked"),
    "101": (RefusalKind.ACCOUNT, "wrong ApiKey/SecretKey"),
    "102": (RefusalKind.ACCOUNT, "no price list for the account"),
    "103": (RefusalKind.ACCOUNT, "insufficient balance"),
    "104": (RefusalKind.REQUEST, "template does not exist"),
    "105": (RefusalKind.NOT_FOUND_YET, "id not found yet"),
    "106": (RefusalKind.REQUEST, "recording file does not exist"),
    "108": (RefusalKind.REQUEST, "invalid phone format"),
    "120": (RefusalKind.REQUEST, "phone list over the limit"),
    "124": (RefusalKind.DUPLICATE, "RequestID already used within 24 h"),
    "140": (RefusalKind.ACCOUNT, "caller IP not on the account's allow-list"),
    "199": (RefusalKind.DUPLICATE, "request already exists and is being processed"),
}


def classify(code: str, provider_message: str | None) -> tuple[RefusalKind, str]:
    """Kind and message of a non-100 code; unknown codes are account faults, message verbatim."""
    known = _KNOWN.get(code)
    if known is not None:
        return known
    return RefusalKind.ACCOUNT, provider_message or f"unknown provider code {code}"


class Accepted(BaseModel):
    model_config = ConfigDict(frozen=True)

    sms_id: str


class Refused(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    kind: RefusalKind
    message: str


MakeCallAnswer = Accepted | Refused


class SendStatus(BaseModel):
    """GetSendStatus's answer when the provider knows the call."""

    model_config = ConfigDict(frozen=True)

    reference_id: str
    send_status: int | None = None
    call_status: str = ""
    duration_seconds: int | None = None
    ivr: str = ""
    sent_result: int | None = None


SendStatusAnswer = SendStatus | Refused


class Balance(BaseModel):
    """GetBalance_json's answer: what the account has left, in VND."""

    model_config = ConfigDict(frozen=True)

    amount: float
    user_id: str = ""


BalanceAnswer = Balance | Refused
