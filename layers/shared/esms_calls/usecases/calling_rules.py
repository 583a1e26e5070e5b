"""The one check point of the calling rules: PlaceCall admits every call through it after the
replay check (a replay is answered from the stored outcome and consumes nothing), whether the
call came from `POST /calls`, a batch's queue message, a schedule run or a rule event: all of
them are placed by PlaceCall.

An advertising call outside the advertising hours is moved to their next opening (the provider's
SendDate) or refused; a number on the do-not-call list is refused (service calls too when the
deployment says so); a number whose frequency cap is used up is refused. The cap slot is taken
last, with one conditional write; `release` gives it back when the call is not placed after all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from esms_calls.domain.calling_rules import (
    AdvertisingHours,
    CallingRule,
    CapSlot,
    OutsideHours,
    Purpose,
)
from esms_calls.domain.calls import CallSpec
from esms_calls.domain.phone import mask_phone
from esms_calls.domain.send_date import VIETNAM, from_provider_format, to_provider_format
from esms_calls.errors import CallRefusedByRule
from esms_calls.observability import count, logger
from esms_calls.usecases.ports import CallingRulesStore

_METRIC = {
    CallingRule.OUTSIDE_HOURS: "CallsOutsideHoursRefused",
    CallingRule.FREQUENCY_CAPPED: "CallsCapped",
    CallingRule.DO_NOT_CALL: "CallsOnDoNotCall",
}


@dataclass(frozen=True)
class CallingPolicy:
    hours: AdvertisingHours
    calls_per_number: int  # advertising calls per number in any 24 h
    list_applies_to_service_calls: bool  # the do-not-call list stops service calls too


@dataclass(frozen=True)
class CapHold:
    number_key: str
    holder: str
    slot: CapSlot


@dataclass(frozen=True)
class Admission:
    """A call the rules let through: its spec as it is to be placed (SendDate moved to the
    advertising hours' opening when `deferred_until` is set) and the cap slot it holds."""

    spec: CallSpec
    deferred_until: datetime | None = None
    hold: CapHold | None = None


class CallingRules:
    def __init__(
        self,
        *,
        store: CallingRulesStore,
        number_key: Callable[[str], str],
        policy: CallingPolicy,
    ) -> None:
        self._store = store
        self._number_key = number_key
        self._policy = policy

    def admit(self, request_id: str, spec: CallSpec, now: datetime) -> Admission:
        """The call as it may be placed, or CallRefusedByRule."""
        rings_at = max(from_provider_format(spec.send_date), now) if spec.send_date else now
        advertising = spec.purpose is Purpose.ADVERTISING
        deferred_until = None
        if advertising and not self._policy.hours.allows(rings_at):
            opening = self._policy.hours.next_opening(rings_at)
            if spec.outside_hours is OutsideHours.REFUSE:
                self._refuse(
                    spec,
                    CallingRule.OUTSIDE_HOURS,
                    "an advertising call may ring only within the advertising hours; the next "
                    f"opening is {opening.astimezone(VIETNAM).isoformat()}",
                )
            spec = spec.model_copy(update={"send_date": to_provider_format(opening)})
            rings_at = deferred_until = opening
        if advertising or self._policy.list_applies_to_service_calls:
            if self._store.listed(self._number_key(spec.phone)) is not None:
                self._refuse(spec, CallingRule.DO_NOT_CALL, "the number is on the do-not-call list")
        hold = None
        if advertising:
            hold = self._hold(request_id, spec, int(rings_at.timestamp()))
        if deferred_until is not None:
            count("CallsDeferred")
        return Admission(spec=spec, deferred_until=deferred_until, hold=hold)

    def screen(self, specs: Sequence[CallSpec], now: datetime) -> list[CallingRule | None]:
        """For each call, the rule that already forbids it, taking nothing: a batch's entries
        are screened before they are queued (the do-not-call list read a hundred numbers to a
        request); the cap is counted, and everything checked again, as each is placed."""
        rules: list[CallingRule | None] = []
        to_look_up: dict[int, str] = {}
        for position, spec in enumerate(specs):
            rings_at = max(from_provider_format(spec.send_date), now) if spec.send_date else now
            advertising = spec.purpose is Purpose.ADVERTISING
            rule = None
            if (
                advertising
                and spec.outside_hours is OutsideHours.REFUSE
                and not self._policy.hours.allows(rings_at)
            ):
                rule = CallingRule.OUTSIDE_HOURS
            elif advertising or self._policy.list_applies_to_service_calls:
                to_look_up[position] = self._number_key(spec.phone)
            rules.append(rule)
        listed = self._store.listed_among(list(set(to_look_up.values())))
        for position, number_key in to_look_up.items():
            if number_key in listed:
                rules[position] = CallingRule.DO_NOT_CALL
        for rule in rules:
            if rule is not None:
                count(_METRIC[rule])
        return rules

    def release(self, admission: Admission, *, unless_held_before: bool = False) -> None:
        """Give the cap slot back: the call never rang (the provider refused it, or it could
        not even be recorded). `unless_held_before`: keep a slot this request held already,
        since an earlier attempt of it may have rung."""
        hold = admission.hold
        if hold is None or (unless_held_before and not hold.slot.taken_now):
            return
        self._store.release(hold.number_key, holder=hold.holder, slot=hold.slot.index)
        logger.info("frequency cap released", extra={"phone": mask_phone(admission.spec.phone)})

    def _hold(self, request_id: str, spec: CallSpec, rings_at: int) -> CapHold:
        number_key = self._number_key(spec.phone)
        slot = self._store.hold(
            number_key, holder=request_id, rings_at=rings_at, slots=self._policy.calls_per_number
        )
        if slot is None:
            self._refuse(
                spec,
                CallingRule.FREQUENCY_CAPPED,
                f"the number had {self._policy.calls_per_number} advertising call(s) within 24 "
                "hours of this one",
            )
        return CapHold(number_key=number_key, holder=request_id, slot=slot)

    @staticmethod
    def _refuse(spec: CallSpec, rule: CallingRule, detail: str) -> NoReturn:
        count(_METRIC[rule])
        logger.info(
            "call refused by a calling rule",
            extra={"rule": rule.value, "phone": mask_phone(spec.phone)},
        )
        raise CallRefusedByRule(rule, detail)
