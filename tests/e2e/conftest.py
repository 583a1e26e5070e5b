"""Fixtures: one local stack for the tests that need nothing special, and a client for it; the
figures the reliability tests measured, printed at the end of the run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.stack import RunningStack, local_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    """One stack for the tests that need nothing special (embedded simulator, moto)."""
    with local_stack() as running:
        yield running


@pytest.fixture
def api(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=35) as client:
        yield client


# (test, figures) in the order measured: printed as the "reliability figures" section.
_FIGURES: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[dict[str, Any]], None]:
    """Record what a test measured (calls per second, latencies, counts) for the summary."""

    def record(values: dict[str, Any]) -> None:
        _FIGURES.append((request.node.nodeid, values))

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for test, values in _FIGURES:
        terminalreporter.write_line(f"{test}")
        terminalreporter.write_line(f"    {json.dumps(values, sort_keys=False)}")
