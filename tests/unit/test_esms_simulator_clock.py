"""The simulator's clock and its preset numbers, without sockets."""

from __future__ import annotations

import threading
import time

import pytest

from esms_simulator import PRESETS, Rule
from esms_simulator.clock import SimulatorClock, parse_duration
from esms_simulator.presets import preset_rules
from esms_simulator.rules import NO_ANSWER, RuleBook

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), ("90", 90.0), ("+1d", 86400.0), ("2h30m", 9000.0), ("1.5h", 5400.0),
     ("45s", 45.0), ("1d 2h", 93600.0)],
)  # fmt: skip
def test_a_duration_reads_as_seconds(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-1h", "-5", "tomorrow", "1w", "", True])
def test_anything_else_is_refused_saying_why(text: object) -> None:
    with pytest.raises(ValueError, match="duration|forward"):
        parse_duration(text)  # type: ignore[arg-type]


def test_moving_the_clock_wakes_a_call_waiting_for_its_send_date() -> None:
    # Given a call waiting for a moment an hour away on the simulator's clock
    clock = SimulatorClock()
    due = clock.now() + 3600
    woke = threading.Event()
    waiter = threading.Thread(
        target=lambda: clock.wait_until(due, threading.Event()) and woke.set(), daemon=True
    )
    waiter.start()
    assert not woke.wait(0.3)

    # When the clock moves an hour forward
    clock.advance(3600)

    # Then the call goes on at once
    assert woke.wait(2.0)
    assert clock.offset_seconds == 3600


def test_a_cancelled_wait_ends_promptly() -> None:
    clock, cancel = SimulatorClock(), threading.Event()
    cancel.set()
    started = time.monotonic()
    assert clock.wait_until(clock.now() + 3600, cancel) is False
    assert time.monotonic() - started < 1.0


def test_the_clock_only_moves_forward() -> None:
    with pytest.raises(ValueError, match="forward"):
        SimulatorClock().advance(-1)


def test_a_rule_for_a_preset_number_wins_and_replacing_the_rules_keeps_the_presets() -> None:
    # Given the presets behind one rule of the user's for the first preset number
    default = Rule(delays=(0.5, 1.0, 1.5))
    answered = PRESETS[0].phone
    book = RuleBook([Rule(phone=answered, call_status=NO_ANSWER)], default, preset_rules(default))

    # Then the user's rule wins for that number, the presets answer for the others
    assert book.select(answered, "t").call_status == NO_ANSWER
    refused = next(preset for preset in PRESETS if preset.rule.code == "108")
    assert book.select(refused.phone, "t").code == "108"
    assert book.select(PRESETS[1].phone, "t").delays == (0.5, 1.0, 1.5)  # the stack's pace

    # When the rules are replaced, Then the presets stay
    book.replace([])
    assert book.select(answered, "t").ivr == "1"
    assert book.select("0912345678", "t") is default
