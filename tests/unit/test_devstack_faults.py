"""The local stack's fault knobs: counts, seeded ratios, and what they refuse."""

from __future__ import annotations

import pytest

from devstack.faults import CALLBACK_WRITE_KNOBS, FaultState

pytestmark = pytest.mark.unit


def draws(state: FaultState, count: int) -> list[str | None]:
    return [state.take_any(CALLBACK_WRITE_KNOBS) for _ in range(count)]


def test_a_count_fails_exactly_that_many_invocations() -> None:
    state = FaultState()
    state.set({"fail_next_callback_writes": 2})
    assert draws(state, 4) == ["fail_next_callback_writes"] * 2 + [None] * 2
    assert state.snapshot()["fired"]["fail_next_callback_writes"] == 2


def test_a_ratio_fails_about_that_share_and_the_same_ones_for_the_same_seed() -> None:
    # Given two states armed alike
    first, second = FaultState(), FaultState()
    for state in (first, second):
        state.set({"fail_callback_writes_ratio": 0.1, "seed": 42})
    # When each draws for 2000 invocations
    a, b = draws(first, 2000), draws(second, 2000)
    # Then about one in ten fails, the same ones for the same seed
    assert a == b
    assert 140 <= a.count("fail_callback_writes_ratio") <= 260
    assert first.snapshot()["fired"]["fail_callback_writes_ratio"] == a.count(
        "fail_callback_writes_ratio"
    )


def test_the_count_is_used_up_before_the_ratio_and_clear_disarms_both() -> None:
    state = FaultState()
    state.set({"fail_next_callback_writes": 1, "fail_callback_writes_ratio": 1})
    assert draws(state, 2) == ["fail_next_callback_writes", "fail_callback_writes_ratio"]
    state.clear()
    assert draws(state, 10) == [None] * 10
    assert state.snapshot()["ratios"] == {"fail_callback_writes_ratio": 0.0}


@pytest.mark.parametrize(
    "values",
    [
        {"fail_callback_writes_ratio": 1.5},
        {"fail_callback_writes_ratio": -0.1},
        {"fail_callback_writes_ratio": "0.1"},
        {"fail_callback_writes_ratio": True},
        {"fail_next_callback_writes": 0.5},
        {"seed": "x"},
        {"fail_everything": 1},
    ],
)
def test_bad_values_are_refused_and_change_nothing(values: dict[str, object]) -> None:
    state = FaultState()
    before = state.snapshot()
    with pytest.raises(ValueError):
        state.set(values)
    assert state.snapshot() == before
