"""The provider's CodeResult table, mapped to typed outcomes (see shared/esms/README.md)."""

from __future__ import annotations

from enum import StrEnum


class RefusalKind(StrEnum):
    """Whose fault a refusal is: decides the HTTP answer and whether a retry can help."""

    REQUEST = "REQUEST"  # something in the request: fix it, use a new request id
    ACCOUNT = "ACCOUNT"  # our account or deployment: credentials, balance, allow-list, unknown
    DUPLICATE = "DUPLICATE"  # the provider already has this RequestID
    NOT_FOUND_YET = "NOT_FOUND_YET"  # status query: the id is not known yet, ask again later


ACCEPTED = "100"

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
