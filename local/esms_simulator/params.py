"""Query parameters of the provider's GET API: parsing, validation, credentials, masking.

Like the provider's WCF front, parameter names are matched without regard to case
(``RequestID`` and ``RequestId`` are the same parameter); the names as received are kept
for inspection.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import parse_qsl, unquote_plus

SECRET_PARAM_NAMES = frozenset({"apikey", "secretkey"})
MASK = "***"

#: ErrorMessage per CodeResult (the provider documents only 101's text).
CODE_MESSAGES: dict[str, str] = {
    "99": "Phone number is blocked",
    "101": "Authorize Failed",
    "102": "Account has no price list",
    "103": "Balance is not enough",
    "104": "Template does not exist",
    "105": "ReferenceId not found",
    "106": "Recording file does not exist",
    "108": "Phone number is invalid",
    "118": "Invalid parameter",
    "120": "Phone list exceeds the limit",
    "124": "RequestId already exists",
    "140": "IP is not allowed",
    "199": "Request already exists and is being processed",
}
#: The simulator's code for a malformed optional field (the provider documents none).
INVALID_PARAMETER = "118"

SEND_DATE_FORMAT = "%Y/%m/%d %H:%M:%S"
_SEND_DATE_RE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}$")
# Mobiles: 0 + 9 digits; landlines: 02 + 9 digits (area code and subscriber).
_NATIONAL_RE = re.compile(r"^0(?:[1-9][0-9]{8}|2[0-9]{9})$")
_INTERNATIONAL_RE = re.compile(r"^84(?:[1-9][0-9]{8}|2[0-9]{9})$")
_UINT_RE = re.compile(r"^\d{1,9}$")
_INT_FIELDS = ("MaxRepeat", "MaxRetry", "TimeWaitToIvr", "WaitRetry")
MAX_REQUEST_ID_LENGTH = 50
VOICES = frozenset({"male", "female", "hatieumai", "ngoclam"})
_SPEED_RE = re.compile(r"^-?[0-3]$")
VARIABLE_SEPARATOR = "||"


def message_for(code: str) -> str:
    return CODE_MESSAGES.get(code, "Unknown error")


def national_form(phone: str) -> str | None:
    """``0912345678`` for ``0912345678`` or ``84912345678`` (``02871002454`` for a landline);
    None for anything else."""
    if _NATIONAL_RE.match(phone):
        return phone
    if _INTERNATIONAL_RE.match(phone):
        return "0" + phone[2:]
    return None


class QueryParams:
    """A query string's parameters in received order, looked up without regard to case."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs: list[tuple[str, str]] = list(pairs)
        self._first: dict[str, str] = {}
        for name, value in self.pairs:
            self._first.setdefault(name.lower(), value)

    @classmethod
    def parse(cls, query: str) -> QueryParams:
        return cls(parse_qsl(query, keep_blank_values=True))

    def get(self, name: str) -> str | None:
        """The first value of ``name`` (any case), or None when absent."""
        return self._first.get(name.lower())

    def value(self, name: str) -> str | None:
        """Like :meth:`get`, but an empty value counts as absent."""
        found = self.get(name)
        return found if found else None

    def names(self) -> list[str]:
        return [name for name, _ in self.pairs]

    def masked(self) -> dict[str, str]:
        """First value of each name as spelled, credentials replaced by ``***``."""
        out: dict[str, str] = {}
        for name, value in mask_pairs(self.pairs):
            out.setdefault(name, value)
        return out


def mask_pairs(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(n, MASK if n.lower() in SECRET_PARAM_NAMES else v) for n, v in pairs]


def mask_query(query: str) -> str:
    """The raw query string with ApiKey/SecretKey values replaced by ``***``."""
    pieces = []
    for piece in query.split("&"):
        name, sep, _ = piece.partition("=")
        if sep and unquote_plus(name).lower() in SECRET_PARAM_NAMES:
            pieces.append(f"{name}={MASK}")
        else:
            pieces.append(piece)
    return "&".join(pieces)


_SECRET_IN_TEXT = re.compile(r"(?i)\b((?:api|secret)key=)[^&\s]*")


def mask_text(text: str) -> str:
    """Mask ``ApiKey=…``/``SecretKey=…`` anywhere in a free text (a request line, a URL)."""
    return _SECRET_IN_TEXT.sub(r"\1" + MASK, text)


def mask_phone(phone: str) -> str:
    """Keep only the last 3 digits of a phone number for log lines."""
    return "*" * max(len(phone) - 3, 0) + phone[-3:] if phone else phone


def credentials_ok(params: QueryParams, api_key: str, secret_key: str) -> bool:
    given_key = (params.get("ApiKey") or "").encode()
    given_secret = (params.get("SecretKey") or "").encode()
    key_ok = hmac.compare_digest(given_key, api_key.encode())
    secret_ok = hmac.compare_digest(given_secret, secret_key.encode())
    return key_ok and secret_ok


@dataclass(frozen=True)
class Refusal:
    """A CodeResult other than 100, with its ErrorMessage."""

    code: str
    message: str

    @classmethod
    def of(cls, code: str, message: str | None = None) -> Refusal:
        return cls(code, message or message_for(code))


@dataclass(frozen=True)
class CallRequest:
    """A MakeCallRecord_V2 request that passed validation."""

    template_id: str
    phone: str
    national_phone: str
    send_date: datetime | None = None
    number_forward: str | None = None
    ivr: str | None = None
    max_repeat: int | None = None
    max_retry: int | None = None
    time_wait_to_ivr: int | None = None
    wait_retry: int | None = None
    callback_url: str | None = None
    request_id: str | None = None
    # MakeCallTemplate_V2's: the script's variables, voice and speed
    variables: tuple[str, ...] = ()
    voice: str | None = None
    speed: int | None = None


def _invalid(field: str, why: str) -> Refusal:
    return Refusal(INVALID_PARAMETER, f"Invalid {field}: {why}")


def _common(params: QueryParams) -> CallRequest | Refusal:
    """The fields both functions take: TemplateId, Phone, SendDate, CallbackUrl, RequestId."""
    template_id = params.value("TemplateId")
    if template_id is None:
        return Refusal.of("104", "TemplateId is required")
    phone = params.value("Phone") or ""
    national = national_form(phone)
    if national is None:
        return Refusal.of("108")
    send_date: datetime | None = None
    raw_date = params.value("SendDate")
    if raw_date is not None:
        if not _SEND_DATE_RE.match(raw_date):
            return _invalid("SendDate", "expected yyyy/MM/dd HH:mm:ss")
        try:
            send_date = datetime.strptime(raw_date, SEND_DATE_FORMAT)
        except ValueError:
            return _invalid("SendDate", "not a real date and time")
    request_id = params.value("RequestId")
    if request_id is not None and len(request_id) > MAX_REQUEST_ID_LENGTH:
        return _invalid("RequestId", f"longer than {MAX_REQUEST_ID_LENGTH} characters")
    return CallRequest(
        template_id=template_id,
        phone=phone,
        national_phone=national,
        send_date=send_date,
        callback_url=params.value("CallbackUrl"),
        request_id=request_id,
    )


def parse_make_call_template(
    params: QueryParams, scripts: Mapping[str, int]
) -> CallRequest | Refusal:
    """Validate MakeCallTemplate_V2's fields against the scripts the account has (script id →
    how many variables it takes). Options of the recording function are ignored, as a WCF
    front ignores parameters it does not know."""
    common = _common(params)
    if isinstance(common, Refusal):
        return common
    expected = scripts.get(common.template_id)
    if expected is None:
        return Refusal.of("104")
    raw = params.value("VariableListStr")
    variables = tuple(raw.split(VARIABLE_SEPARATOR)) if raw is not None else ()
    if len(variables) != expected:
        return _invalid("VariableListStr", f"the script takes {expected} variable(s)")
    voice = params.value("Voice")
    if voice is not None and voice not in VOICES:
        return _invalid("Voice", "expected male, female, hatieumai or ngoclam")
    speed = params.value("Speed")
    if speed is not None and not _SPEED_RE.match(speed):
        return _invalid("Speed", "expected -3 to 3")
    return replace(
        common,
        variables=variables,
        voice=voice,
        speed=int(speed) if speed is not None else None,
    )


def parse_make_call(params: QueryParams) -> CallRequest | Refusal:
    """Validate MakeCallRecord_V2's fields (credentials are checked before this)."""
    common = _common(params)
    if isinstance(common, Refusal):
        return common
    number_forward = params.value("NumberForward")
    if number_forward is not None and national_form(number_forward) is None:
        return Refusal.of("108", "NumberForward is invalid")
    ivr = params.value("Ivr")
    if ivr is not None and not re.fullmatch(r"\d", ivr):
        return _invalid("Ivr", "expected one digit 0-9")
    numbers: dict[str, int | None] = {}
    for name in _INT_FIELDS:
        raw = params.value(name)
        if raw is not None and not _UINT_RE.match(raw):
            return _invalid(name, "expected a non-negative integer")
        numbers[name] = int(raw) if raw is not None else None
    return replace(
        common,
        number_forward=number_forward,
        ivr=ivr,
        max_repeat=numbers["MaxRepeat"],
        max_retry=numbers["MaxRetry"],
        time_wait_to_ivr=numbers["TimeWaitToIvr"],
        wait_retry=numbers["WaitRetry"],
    )
