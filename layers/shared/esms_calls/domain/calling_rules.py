"""Vietnam's rules for advertising calls (Decree 91/2020/NĐ-CP), as the service enforces them:
advertising only within the advertising hours and never on a blocked date, at most N advertising
calls per number in any 24 hours (counted on the times the calls ring), never to a number on the
do-not-call list. Pure: everything here is a function of its arguments and a moment.

Vietnam keeps UTC+7 all year (no daylight saving): Asia/Ho_Chi_Minh is the fixed offset of
domain/send_date.py, which is also how the provider reads SendDate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from esms_calls.domain.send_date import VIETNAM

# Rolling window of the frequency cap.
CAP_WINDOW_SECONDS = 24 * 3600
# How far next_opening looks ahead: a year and a blocked list far longer than any holiday.
_SEARCH_DAYS = 400
_HOURS = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]|24):([0-5][0-9])$")


class Purpose(StrEnum):
    SERVICE = "service"  # one-time codes, reminders, notices the callee asked for
    ADVERTISING = "advertising"  # the Decree's rules apply


class OutsideHours(StrEnum):
    """What to do with an advertising call that would ring outside the advertising hours."""

    DEFER = "defer"  # move it to the next opening (the provider's SendDate)
    REFUSE = "refuse"  # refuse it: 422 outside-calling-hours


class CallingRule(StrEnum):
    """Why a call was not placed; the problem type's last segment and the batch's skip reason."""

    OUTSIDE_HOURS = "outside-calling-hours"
    FREQUENCY_CAPPED = "frequency-capped"
    DO_NOT_CALL = "do-not-call"


class DoNotCallSource(StrEnum):
    API = "api"  # PUT /do-not-call/{phone}
    KEY_PRESS = "key-press"  # the callee pressed the call's opt_out_key


@dataclass(frozen=True)
class DoNotCallEntry:
    reason: str | None
    source: DoNotCallSource
    created_at: datetime
    call_id: str | None = None  # the call whose key press added it


@dataclass(frozen=True)
class CapSlot:
    """A frequency cap slot a call holds: taken now, or already its own (a retry of the same
    request, whose earlier attempt may have rung)."""

    index: int
    taken_now: bool


@dataclass(frozen=True)
class AdvertisingHours:
    """Seconds of the Vietnamese day [opens, closes) and the dates on which none may ring."""

    opens: int
    closes: int
    blocked_dates: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, hours: str, blocked_dates: str = "") -> AdvertisingHours:
        """`08:00-17:00` (24:00 closes at midnight) and `2027-02-05,2027-02-06`; ValueError
        when either cannot be read or the hours are empty."""
        match = _HOURS.fullmatch(hours.strip())
        if not match:
            raise ValueError("advertising hours must read HH:MM-HH:MM, e.g. 08:00-17:00")
        open_h, open_m, close_h, close_m = (int(part) for part in match.groups())
        opens, closes = open_h * 3600 + open_m * 60, close_h * 3600 + close_m * 60
        if closes > 24 * 3600 or closes <= opens:
            raise ValueError("advertising hours must close after they open, within one day")
        try:
            dates = frozenset(
                date.fromisoformat(text.strip())
                for text in blocked_dates.split(",")
                if text.strip()
            )
        except ValueError:
            raise ValueError("blocked dates must be ISO dates separated by commas") from None
        return cls(opens, closes, dates)

    def allows(self, moment: datetime) -> bool:
        local = moment.astimezone(VIETNAM)
        if local.date() in self.blocked_dates:
            return False
        second = (local - local.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
        return self.opens <= second < self.closes

    def next_opening(self, moment: datetime) -> datetime:
        """`moment` when a call may ring then, else the first moment after it that one may."""
        if self.allows(moment):
            return moment
        local = moment.astimezone(VIETNAM)
        day = local.date()
        if self._opening_of(day) <= local and day not in self.blocked_dates:
            day += timedelta(days=1)  # past today's closing
        for _ in range(_SEARCH_DAYS):
            if day not in self.blocked_dates:
                return self._opening_of(day)
            day += timedelta(days=1)
        raise ValueError("no advertising hours in the coming year: every date is blocked")

    def _opening_of(self, day: date) -> datetime:
        return datetime.combine(day, time(), VIETNAM) + timedelta(seconds=self.opens)
