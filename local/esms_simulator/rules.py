"""Outcome rules: what the simulated provider does with a call, chosen by phone number.

A :class:`Rule` both *matches* requests (exact phone, prefix, regular expression, template
id) and *describes* what happens to them: a forced refusal code, a transport fault, the call's
final outcome, the delays between its stages and how its callbacks are delivered. A
:class:`RuleBook` holds the ordered rules and the default rule; the first matching rule wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from .params import national_form
from .urls import Composition

DEFAULT_CID = "02871002454"
DEFAULT_DELAYS: tuple[float, float, float] = (0.05, 0.1, 0.1)

ANSWERED = "ANSWERED"
NO_ANSWER = "NO ANSWER"
FAILED = ""

_CALL_STATUS_ALIASES: dict[str, str] = {
    "ANSWERED": ANSWERED,
    "NO ANSWER": NO_ANSWER,
    "NO_ANSWER": NO_ANSWER,
    "NOANSWER": NO_ANSWER,
    "NOANSWERED": NO_ANSWER,
    "": FAILED,
    "FAILED": FAILED,
    "UNKNOWN": FAILED,
}

#: GetSendStatus spells "no answer" differently from the callback.
STATUS_API_SPELLING: dict[str, str] = {ANSWERED: "ANSWERED", NO_ANSWER: "NOANSWERED", FAILED: ""}

_PRICE_RE = re.compile(r"^\d+(\.\d+)?$")
_CODE_RE = re.compile(r"^\d{1,4}$")


class Delivery(StrEnum):
    """Order in which a call's callbacks reach the partner."""

    #: Each callback as its stage happens: SendStatus 2, then 7, then 5.
    SEQUENTIAL = "sequential"
    #: Held until the call ends, then sent newest first (5, 7, 2).
    REVERSED = "reversed"
    #: Held until the call ends, then sent one by one in random order.
    SHUFFLED = "shuffled"
    #: Held until the call ends, then all sent at once (copies included), each on its own thread.
    CONCURRENT = "concurrent"


class Fault(StrEnum):
    """A transport failure of MakeCallRecord_V2's answer (the call may still go through)."""

    HTTP_500 = "http_500"
    GARBAGE = "garbage"
    DISCONNECT = "disconnect"


def normalize_call_status(value: str) -> str:
    """Return the callback spelling (``ANSWERED``, ``NO ANSWER``, ``""``) of any spelling."""
    key = value.strip().upper()
    if key not in _CALL_STATUS_ALIASES:
        raise ValueError(f"unknown call_status {value!r}: use ANSWERED, NO ANSWER or ''")
    return _CALL_STATUS_ALIASES[key]


def format_price(value: str | float | Decimal) -> str:
    """Format a price as the provider does: a decimal string with 4 places (``300.0000``)."""
    text = str(value).strip()
    if not _PRICE_RE.match(text):
        raise ValueError(f"price must be a non-negative decimal, got {value!r}")
    try:
        return str(Decimal(text).quantize(Decimal("0.0001")))
    except InvalidOperation as exc:  # pragma: no cover - guarded by the regex
        raise ValueError(f"invalid price {value!r}") from exc


@dataclass(frozen=True)
class Outcome:
    """The final result of a call, as its last callback reports it."""

    call_status: str
    duration: int
    ivr: str
    price: str
    sent_result: int
    cid: str


def _delays(value: Any) -> tuple[float, float, float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        items: list[Any] = [value, value, value]
    elif isinstance(value, list | tuple) and len(value) == 3:
        items = list(value)
    else:
        raise ValueError("delays must be a number of seconds or a list of 3 (before 2, 7, 5)")
    out: list[float] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float) or item < 0:
            raise ValueError(f"delays must be non-negative numbers, got {item!r}")
        out.append(float(item))
    return (out[0], out[1], out[2])


@dataclass(frozen=True)
class Rule:
    """Matches MakeCallRecord_V2 requests and decides what happens to them.

    Matching (all given criteria must hold; none given matches every request):
    ``phone`` exact number (national ``0…`` and ``84…`` spellings are the same number),
    ``prefix`` start of the number, ``pattern`` regular expression matching the whole number,
    ``template_id`` exact TemplateId, ``times`` how many requests the rule applies to at most.
    """

    phone: str | None = None
    prefix: str | None = None
    pattern: str | None = None
    template_id: str | None = None
    times: int | None = None
    # Refusal: the CodeResult answered instead of 100, with its ErrorMessage.
    code: str | None = None
    message: str | None = None
    # Transport: delay the answer, or break it (``fault_accepts``: the call went through anyway).
    response_delay: float = 0.0
    fault: Fault | None = None
    fault_accepts: bool = True
    # Outcome reported by the final callback (None: derived from call_status).
    call_status: str = ANSWERED
    duration: int | None = None
    ivr: str = ""
    price: str | None = None
    sent_result: int | None = None
    cid: str = DEFAULT_CID
    # Seconds before SendStatus 2, before 7, before 5.
    delays: tuple[float, float, float] = DEFAULT_DELAYS
    # Callbacks.
    drop_callbacks: bool = False
    duplicates: int = 1
    skip_intermediate: bool = False
    delivery: Delivery = Delivery.SEQUENTIAL
    composition: Composition | None = None
    _compiled: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "call_status", normalize_call_status(self.call_status))
        if self.code is not None:
            code = str(self.code).strip()
            if not _CODE_RE.match(code):
                raise ValueError(f"code must be a numeric CodeResult, got {self.code!r}")
            set_(self, "code", None if code == "100" else code)
        if self.price is not None:
            set_(self, "price", format_price(self.price))
        set_(self, "ivr", "" if self.ivr is None else str(self.ivr))
        set_(self, "cid", str(self.cid))
        if self.ivr and not re.fullmatch(r"\d", self.ivr):
            raise ValueError(f"ivr must be one digit or empty, got {self.ivr!r}")
        for name in ("duration", "times"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.sent_result not in (None, 0, 1):
            raise ValueError("sent_result must be 0 or 1")
        if isinstance(self.duplicates, bool) or not isinstance(self.duplicates, int):
            raise ValueError("duplicates must be an integer")
        if self.duplicates < 1:
            raise ValueError("duplicates must be at least 1")
        if self.response_delay < 0:
            raise ValueError("response_delay must not be negative")
        set_(self, "delays", _delays(self.delays))
        set_(self, "delivery", Delivery(self.delivery))
        if self.fault is not None:
            set_(self, "fault", Fault(self.fault))
        if self.composition is not None:
            set_(self, "composition", Composition(self.composition))
        for name in ("phone", "prefix"):
            value = getattr(self, name)
            if value is not None:
                set_(self, name, national_form(value) or value)
        if self.pattern is not None:
            try:
                set_(self, "_compiled", re.compile(self.pattern))
            except re.error as exc:
                raise ValueError(f"invalid pattern {self.pattern!r}: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        """Build a rule from JSON-like data; unknown keys are refused (ValueError)."""
        if not isinstance(data, Mapping):
            raise ValueError("a rule must be a JSON object")
        known = {f.name for f in fields(cls) if f.init}
        data = {k: v for k, v in data.items() if k != "used"}  # read-only, from to_dict()
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown rule field(s): {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the inverse of :meth:`from_dict`)."""
        data = asdict(self)
        data.pop("_compiled", None)
        data["delays"] = list(self.delays)
        for name in ("delivery", "fault", "composition"):
            value = data[name]
            data[name] = None if value is None else str(value)
        return data

    def matches(self, phone: str, template_id: str = "") -> bool:
        """Whether this rule applies to a request for ``phone`` and ``template_id``."""
        candidates = {phone, national_form(phone) or phone}
        if self.phone is not None and self.phone not in candidates:
            return False
        if self.prefix is not None and not any(c.startswith(self.prefix) for c in candidates):
            return False
        if self._compiled is not None and not any(self._compiled.fullmatch(c) for c in candidates):
            return False
        return self.template_id is None or self.template_id == template_id

    def outcome(self) -> Outcome:
        """The final outcome, defaults derived from ``call_status``."""
        answered = self.call_status == ANSWERED
        return Outcome(
            call_status=self.call_status,
            duration=self.duration if self.duration is not None else (13 if answered else 0),
            ivr=self.ivr,
            price=self.price or ("300.0000" if answered else "0.0000"),
            sent_result=(
                self.sent_result
                if self.sent_result is not None
                else (0 if self.call_status == FAILED else 1)
            ),
            cid=self.cid,
        )


def coerce_rule(rule: Rule | Mapping[str, Any]) -> Rule:
    """Accept a :class:`Rule` or its dict form."""
    return rule if isinstance(rule, Rule) else Rule.from_dict(rule)


class RuleBook:
    """Ordered rules, then fixed presets, then a default; not thread-safe on its own (the
    simulator locks)."""

    def __init__(
        self, rules: Iterable[Rule] = (), default: Rule | None = None, presets: Iterable[Rule] = ()
    ) -> None:
        self._default = default or Rule()
        self._presets = tuple(presets)
        self._rules: list[Rule] = []
        self._used: list[int] = []
        self.replace(rules, self._default)

    @property
    def default(self) -> Rule:
        return self._default

    @property
    def rules(self) -> list[Rule]:
        return list(self._rules)

    def replace(self, rules: Iterable[Rule], default: Rule | None = None) -> None:
        """Replace every rule (usage counters restart); keep the default unless given."""
        self._rules = list(rules)
        self._used = [0] * len(self._rules)
        if default is not None:
            self._default = default

    def add_first(self, rule: Rule) -> None:
        """Add a rule ahead of the others (the newest rule wins)."""
        self._rules.insert(0, rule)
        self._used.insert(0, 0)

    def select(self, phone: str, template_id: str) -> Rule:
        """The first rule that matches and is not used up (counts one use), else the default."""
        for index, rule in enumerate(self._rules):
            if rule.times is not None and self._used[index] >= rule.times:
                continue
            if rule.matches(phone, template_id):
                self._used[index] += 1
                return rule
        preset = next((p for p in self._presets if p.matches(phone, template_id)), None)
        return preset or self._default

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": [
                {**rule.to_dict(), "used": used}
                for rule, used in zip(self._rules, self._used, strict=True)
            ],
            "default": self._default.to_dict(),
            "presets": [preset.to_dict() for preset in self._presets],
        }
