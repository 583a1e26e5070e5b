"""The scheduled balance watch: CallbackFunction, invoked as its schedule invokes it, asks the
eSMS simulator (over HTTP) for the account's balance, publishes it and logs it; the template's
LowBalanceAlarm, evaluated on what it published, fires under LowBalanceThreshold only."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.template import function_schedules, load_template
from esms_calls import dependencies
from esms_simulator import EsmsSimulator
from tests.functional.conftest import API_KEY, SECRET_KEY
from tests.support.alarms import alarm_fires
from tests.support.lambda_context import FakeLambdaContext
from tests.support.metrics import datapoints

pytestmark = pytest.mark.functional

TEMPLATE = load_template()
THRESHOLD = float(TEMPLATE["Parameters"]["LowBalanceThreshold"]["Default"])


@pytest.fixture
def simulator(tables: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[EsmsSimulator]:
    with EsmsSimulator(api_key=API_KEY, secret_key=SECRET_KEY) as sim:
        monkeypatch.setenv("ESMS_BASE_URL", sim.base_url)
        monkeypatch.setenv("ESMS_BALANCE_URL", f"{sim.base_url}/GetBalance_json/")
        monkeypatch.setenv("ESMS_READ_TIMEOUT_SECONDS", "1")
        monkeypatch.setenv("LOW_BALANCE_THRESHOLD", str(THRESHOLD))
        dependencies.reset()
        yield sim
    dependencies.reset()


def configure(sim: EsmsSimulator, **settings: Any) -> None:
    """Through the simulator's admin API, as an operator of the local stack would."""
    response = httpx.patch(f"{sim.url}/_simulator/settings", json=settings)
    assert response.status_code == 200, response.text


def run_balance_check(callback_app: Any) -> dict[str, Any]:
    """CallbackFunction invoked with the input the template's balance schedule sends."""
    (schedule,) = [s for s in function_schedules(TEMPLATE) if s.name == "CheckBalance"]
    assert schedule.function == "CallbackFunction"
    result: dict[str, Any] = callback_app.lambda_handler(
        schedule.input, FakeLambdaContext(function_name="CallbackFunction", timeout_seconds=29)
    )
    return result


def records(log_lines: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_lines.getvalue().splitlines() if line.strip()]


def test_a_comfortable_balance_is_published_and_raises_no_alarm(
    simulator: EsmsSimulator,
    callback_app: Any,
    capsys: pytest.CaptureFixture[str],
    log_lines: io.StringIO,
) -> None:
    # Given an account holding well over the threshold
    configure(simulator, balance=2_500_000)

    # When the scheduled check runs
    result = run_balance_check(callback_app)

    # Then the balance is published in the service's namespace, and the alarm stays quiet
    points = datapoints(capsys.readouterr().out)
    (balance,) = [p for p in points if p.name == "EsmsBalance"]
    assert (balance.namespace, balance.values) == ("EsmsCalls", [2_500_000.0])
    assert alarm_fires(TEMPLATE, "LowBalanceAlarm", points) is False
    assert not [p for p in points if p.name == "BalanceCheckFailed"]
    assert result["balance"] == 2_500_000.0 and result["low"] is False
    # ... and logged, at INFO
    (line,) = [r for r in records(log_lines) if r["message"] == "esms balance"]
    assert (line["level"], line["balance"]) == ("INFO", 2_500_000.0)


def test_a_balance_under_the_threshold_raises_the_alarm(
    simulator: EsmsSimulator,
    callback_app: Any,
    capsys: pytest.CaptureFixture[str],
    log_lines: io.StringIO,
) -> None:
    # Given an account about to run out
    configure(simulator, balance=THRESHOLD - 1)

    # When the scheduled check runs
    run_balance_check(callback_app)

    # Then the alarm's definition, evaluated on what was published, fires
    points = datapoints(capsys.readouterr().out)
    assert [p.values for p in points if p.name == "EsmsBalance"] == [[THRESHOLD - 1]]
    assert alarm_fires(TEMPLATE, "LowBalanceAlarm", points) is True
    # ... at the deployment's own threshold too
    higher = {"LowBalanceThreshold": THRESHOLD - 2}
    assert alarm_fires(TEMPLATE, "LowBalanceAlarm", points, higher) is False
    # ... and the log says so
    assert [r["level"] for r in records(log_lines) if r["message"] == "esms balance low"] == [
        "WARNING"
    ]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"api_key": "wrong-key"}, "101"),
        ({"balance_fault": "http_500"}, "ProviderUnavailable"),
        ({"balance_fault": "garbage"}, "ProviderUnavailable"),
        ({"balance_fault": "disconnect"}, "ProviderUnavailable"),
        ({"balance_response_delay": 3}, "ProviderTimeout"),
    ],
    ids=["bad-credentials", "server-error", "not-json", "disconnect", "timeout"],
)
def test_a_check_that_cannot_read_the_balance_says_why_and_publishes_no_balance(
    simulator: EsmsSimulator,
    callback_app: Any,
    capsys: pytest.CaptureFixture[str],
    log_lines: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    fault: dict[str, Any],
    error: str,
) -> None:
    # Given a provider that refuses the credentials, fails or does not answer in time
    if "api_key" in fault:
        monkeypatch.setenv("ESMS_API_KEY", fault["api_key"])
        dependencies.reset()
    else:
        configure(simulator, **fault)

    # When the scheduled check runs
    result = run_balance_check(callback_app)

    # Then the invocation ends normally (the schedule does not retry it; the next run checks),
    assert result == {"balance": None, "low": False, "error": error}
    # ... no balance is made up for the alarm, and the failure is counted
    points = datapoints(capsys.readouterr().out)
    assert alarm_fires(TEMPLATE, "LowBalanceAlarm", points) is None
    assert [p.values for p in points if p.name == "BalanceCheckFailed"] == [[1.0]]
    # ... and one error line says why, without the credentials
    (line,) = [r for r in records(log_lines) if r["message"] == "esms balance check failed"]
    assert (line["level"], line["error"]) == ("ERROR", error)
    assert SECRET_KEY not in log_lines.getvalue() and API_KEY not in log_lines.getvalue()


def test_an_unchanged_balance_is_published_every_run_but_logged_at_info_once(
    simulator: EsmsSimulator,
    callback_app: Any,
    capsys: pytest.CaptureFixture[str],
    log_lines: io.StringIO,
) -> None:
    # Given an account whose balance stays put for two checks, then drops
    configure(simulator, balance=900_000)
    run_balance_check(callback_app)
    run_balance_check(callback_app)
    configure(simulator, balance=850_000)

    # When the next check runs
    run_balance_check(callback_app)

    # Then every check published the balance for the alarm, and INFO names each new level once
    points = datapoints(capsys.readouterr().out)
    assert [p.values for p in points if p.name == "EsmsBalance"] == [
        [900_000.0],
        [900_000.0],
        [850_000.0],
    ]
    infos = [
        r["balance"]
        for r in records(log_lines)
        if r["message"] == "esms balance" and r["level"] == "INFO"
    ]
    assert infos == [900_000.0, 850_000.0]
