"""The calling rules as pure functions and as PlaceCall's check point, with in-memory ports."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from esms_calls.domain.calling_rules import (
    AdvertisingHours,
    CallingRule,
    DoNotCallEntry,
    DoNotCallSource,
    OutsideHours,
    Purpose,
)
from esms_calls.domain.calls import CallSpec, CallStatus
from esms_calls.domain.placement import PlaceCallCommand
from esms_calls.domain.provider import RefusalKind, Refused
from esms_calls.domain.send_date import VIETNAM
from esms_calls.errors import CallRefusedByRule, ProviderTimeout, StorageUnavailable
from esms_calls.usecases.place_call import PlaceCall, PlacementTimes
from tests.support.fakes import (
    FakeCallingRulesStore,
    FakeCalls,
    FakeGuard,
    FakeProvider,
    calling_rules,
    fingerprint,
    fixed_clock,
    number_key,
)

pytestmark = pytest.mark.unit

HOURS = AdvertisingHours.parse("08:00-17:00", "2027-02-06, 2027-02-07")
PHONE = "0912345678"
ADVERT = CallSpec(phone=PHONE, template_id="promo", purpose=Purpose.ADVERTISING)


def vietnam(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=VIETNAM)


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        (vietnam(2, 7, 59, 59), False),
        (vietnam(2, 8), True),
        (vietnam(2, 16, 59, 59), True),
        (vietnam(2, 17), False),
    ],
)
def test_the_hours_open_at_eight_and_close_at_five_vietnam_time(
    moment: datetime, allowed: bool
) -> None:
    assert HOURS.allows(moment) is allowed
    assert HOURS.allows(moment.astimezone(UTC)) is allowed  # the same moment in UTC


def test_the_next_opening_is_this_morning_tomorrow_morning_or_after_the_blocked_dates() -> None:
    assert HOURS.next_opening(vietnam(2, 7, 59, 59)) == vietnam(2, 8)
    assert HOURS.next_opening(vietnam(2, 17)) == vietnam(3, 8)
    friday_evening = datetime(2027, 2, 5, 18, tzinfo=VIETNAM)
    assert HOURS.next_opening(friday_evening) == datetime(2027, 2, 8, 8, tzinfo=VIETNAM)
    assert HOURS.next_opening(vietnam(2, 10)) == vietnam(2, 10)


def test_hours_that_cannot_be_read_are_refused() -> None:
    for hours in ("8-17", "17:00-08:00", "08:00-24:30", "08:00-08:00"):
        with pytest.raises(ValueError):
            AdvertisingHours.parse(hours)
    with pytest.raises(ValueError):
        AdvertisingHours.parse("08:00-17:00", "2027-13-01")
    assert AdvertisingHours.parse("00:00-24:00").allows(vietnam(2, 23, 59, 59))
    assert AdvertisingHours.parse("08:00-17:00", "2027-02-06").blocked_dates == {date(2027, 2, 6)}


class World:
    def __init__(self, now: datetime, **policy: object) -> None:
        self.calls = FakeCalls()
        self.provider = FakeProvider()
        self.rules_store = FakeCallingRulesStore()
        self.place_call = PlaceCall(
            calls=self.calls,
            provider=self.provider,
            callback_url=lambda call_id: f"https://calls.test/{call_id}",
            fingerprint=fingerprint,
            guard=FakeGuard(calls=self.calls),
            rules=calling_rules(self.rules_store, **policy),  # type: ignore[arg-type]
            times=PlacementTimes(
                request_id_ttl_seconds=86400, check_after_seconds=900, retention_seconds=90
            ),
            clock=fixed_clock(now),
        )

    def place(self, request_id: str, spec: CallSpec = ADVERT) -> object:
        return self.place_call(
            PlaceCallCommand(request_id=request_id, spec=spec), remaining_seconds=25
        )


def test_an_advertising_call_after_hours_rings_at_the_next_opening() -> None:
    # Given 17:00:00 in Vietnam
    world = World(vietnam(2, 17))
    # When an advertising call is placed
    outcome = world.place("promo-1")
    # Then the provider is asked to ring it at 08:00 tomorrow, and the outcome says so
    assert world.provider.sent[0].spec.send_date == "2026/12/03 08:00:00"
    assert outcome.deferred_until == vietnam(3, 8)  # type: ignore[attr-defined]


def test_an_advertising_call_that_says_refuse_is_refused_outside_the_hours() -> None:
    world = World(vietnam(2, 7, 59, 59))
    spec = ADVERT.model_copy(update={"outside_hours": OutsideHours.REFUSE})
    with pytest.raises(CallRefusedByRule) as refused:
        world.place("promo-1", spec)
    assert refused.value.rule == CallingRule.OUTSIDE_HOURS
    assert world.provider.sent == [] and world.calls.opened == []


def test_a_service_call_rings_whenever_it_is_asked_to() -> None:
    world = World(vietnam(2, 23))
    world.place("otp-1", CallSpec(phone=PHONE, template_id="otp"))
    assert world.provider.sent[0].spec.send_date is None


def test_one_advertising_call_per_number_in_24_hours() -> None:
    # Given an advertising call placed to a number at 09:00
    world = World(vietnam(2, 9))
    world.place("promo-1")
    # When another is asked for the same number
    with pytest.raises(CallRefusedByRule) as refused:
        world.place("promo-2")
    # Then it is capped: the provider heard of one call
    assert refused.value.rule == CallingRule.FREQUENCY_CAPPED
    assert len(world.provider.sent) == 1


def test_a_scheduled_call_counts_on_the_time_it_rings() -> None:
    # Given an advertising call scheduled for tomorrow 09:00
    world = World(vietnam(2, 9))
    tomorrow = CallSpec(
        phone=PHONE, template_id="p", purpose=Purpose.ADVERTISING, send_date="2026/12/03 09:00:00"
    )
    world.place("promo-1", tomorrow)
    # When one is asked for now (24 h before it) and one for the day after (24 h after it)
    with pytest.raises(CallRefusedByRule):
        world.place("promo-2")
    later = tomorrow.model_copy(update={"send_date": "2026/12/04 09:00:00"})
    world.place("promo-3", later)
    # Then the first is capped and the second is placed
    assert [sent.request_id for sent in world.provider.sent] == ["promo-1", "promo-3"]


def test_a_call_the_provider_refuses_gives_its_cap_back() -> None:
    # Given a first advertising call that the provider refuses
    world = World(vietnam(2, 9))
    world.provider.then(Refused(code="99", kind=RefusalKind.REQUEST, message="blocked"))
    assert world.place("promo-1").status is CallStatus.FAILED  # type: ignore[attr-defined]
    # When the number is called again
    outcome = world.place("promo-2")
    # Then it is placed
    assert outcome.status is CallStatus.ACCEPTED  # type: ignore[attr-defined]


def test_a_call_that_could_not_be_recorded_gives_its_cap_back() -> None:
    world = World(vietnam(2, 9))

    def fails(*_args: object, **_kwargs: object) -> object:
        raise StorageUnavailable("down")

    world.calls.open_call = fails  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):
        world.place("promo-1")
    del world.calls.open_call  # the real one again
    assert world.place("promo-2").status is CallStatus.ACCEPTED  # type: ignore[attr-defined]


def test_a_replay_takes_no_second_slot_and_a_retry_keeps_its_own() -> None:
    world = World(vietnam(2, 9), calls_per_number=2)
    world.place("promo-1")
    world.place("promo-1")  # replayed by the guard
    world.place("promo-2")  # the second slot
    assert len(world.provider.sent) == 2
    assert {holder for holder, _at, _before in world.rules_store.slots.values()} == {
        "promo-1",
        "promo-2",
    }


def test_a_listed_number_gets_no_advertising_call_but_its_service_calls() -> None:
    world = World(vietnam(2, 9))
    entry = DoNotCallEntry(reason="asked", source=DoNotCallSource.API, created_at=vietnam(1, 9))
    world.rules_store.add(number_key(PHONE), entry)
    with pytest.raises(CallRefusedByRule) as refused:
        world.place("promo-1")
    assert refused.value.rule == CallingRule.DO_NOT_CALL
    world.place("otp-1", CallSpec(phone=PHONE, template_id="otp"))
    assert [sent.request_id for sent in world.provider.sent] == ["otp-1"]


def test_the_list_stops_service_calls_too_when_the_deployment_says_so() -> None:
    world = World(vietnam(2, 9), list_applies_to_service_calls=True)
    entry = DoNotCallEntry(reason=None, source=DoNotCallSource.API, created_at=vietnam(1, 9))
    world.rules_store.add(number_key(PHONE), entry)
    with pytest.raises(CallRefusedByRule):
        world.place("otp-1", CallSpec(phone=PHONE, template_id="otp"))


def test_screening_a_batch_finds_listed_numbers_and_refused_hours_without_taking_a_slot() -> None:
    store = FakeCallingRulesStore()
    entry = DoNotCallEntry(reason=None, source=DoNotCallSource.API, created_at=vietnam(1, 9))
    store.add(number_key("0987654321"), entry)
    rules = calling_rules(store)
    refuse = ADVERT.model_copy(update={"outside_hours": OutsideHours.REFUSE})
    listed = ADVERT.model_copy(update={"phone": "0987654321"})
    found = rules.screen([ADVERT, listed, refuse], vietnam(2, 18))
    assert found == [None, CallingRule.DO_NOT_CALL, CallingRule.OUTSIDE_HOURS]
    assert store.slots == {}


def test_deferring_goes_past_blocked_dates() -> None:
    world = World(datetime(2027, 2, 5, 17, 30, tzinfo=VIETNAM), blocked_dates="2027-02-06")
    outcome = world.place("promo-1")
    expected = datetime(2027, 2, 7, 8, tzinfo=VIETNAM)
    assert outcome.deferred_until == expected  # type: ignore[attr-defined]


def test_a_retry_that_fails_before_the_provider_keeps_the_slot_its_first_attempt_took() -> None:
    # Given an advertising call whose first attempt timed out: it may have rung
    world = World(vietnam(2, 9))
    world.provider.then(ProviderTimeout("no answer in time"))
    with pytest.raises(ProviderTimeout):
        world.place("promo-1")

    # When its retry fails before reaching the provider
    def fails(*_args: object, **_kwargs: object) -> object:
        raise StorageUnavailable("down")

    world.calls.open_call = fails  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailable):
        world.place("promo-1")
    del world.calls.open_call

    # Then the number stays capped for another advertising call
    with pytest.raises(CallRefusedByRule):
        world.place("promo-2")


@pytest.mark.parametrize(
    "environment",
    [
        {"ADVERTISING_HOURS": "17:00-08:00"},
        {"ADVERTISING_HOURS": "8-17"},
        {"ADVERTISING_BLOCKED_DATES": "2027-02-30"},
        {"ADVERTISING_BLOCKED_DATES": "Tet"},
        {"ADVERTISING_CALLS_PER_NUMBER": "0"},
    ],
)
def test_a_deployment_with_unreadable_calling_rules_is_refused_at_start(
    environment: dict[str, str],
) -> None:
    from pydantic import ValidationError

    from esms_calls.settings import Settings

    base = {
        "CALLS_TABLE_NAME": "calls",
        "DEDUPE_TABLE_NAME": "dedupe",
        "ESMS_BASE_URL": "https://esms.test",
        "ESMS_API_KEY": "k",
        "ESMS_SECRET_KEY": "s",
        "CALLBACK_SIGNING_KEY": "key",
        "PUBLIC_BASE_URL": "https://calls.test",
    }
    with pytest.raises(ValidationError):
        Settings.from_environ({**base, **environment})
    assert Settings.from_environ({**base, "ADVERTISING_HOURS": "00:00-24:00"})
