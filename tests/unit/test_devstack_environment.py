"""devstack.config.function_env: what a local function process is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.config import StackOptions, function_env
from devstack.template import load_template

pytestmark = pytest.mark.unit


def reconciler_environment(
    opts: StackOptions, esms_base_url: str = "http://127.0.0.1:1"
) -> dict[str, str]:
    template = load_template()
    # Every resource stands for itself: the names are not what these tests are about.
    resources = {
        f"{logical_id}{attribute}": f"local-{logical_id}"
        for logical_id in template["Resources"]
        for attribute in ("", ".Arn", ".QueueUrl", ".QueueName")
    }
    return function_env(
        template,
        "CallbackFunction",
        opts=opts,
        resource_values=resources,
        region="ap-southeast-1",
        aws_environment={},
        esms_base_url=esms_base_url,
        esms_api_key="key",
        esms_secret_key="secret",
        public_base_url="http://127.0.0.1:2",
        python_path=[Path(".")],
    )


def test_a_call_still_ringing_is_asked_again_on_a_later_local_run_not_minutes_later() -> None:
    # Given a local stack reconciling calls a second old
    opts = StackOptions(reconcile_after=1, environ={})

    # When the reconciler's environment is built
    environment = reconciler_environment(opts)

    # Then it asks about calls a second old, and asks again a second after an unsettled answer
    assert environment["RECONCILE_AFTER_SECONDS"] == "1"
    assert environment["RECONCILE_RETRY_SECONDS"] == "1"


def test_asking_about_every_call_at_once_still_waits_a_second_before_asking_again() -> None:
    # Given a local stack reconciling calls of any age
    opts = StackOptions(reconcile_after=0, environ={})

    # When the reconciler's environment is built
    environment = reconciler_environment(opts)

    # Then the look-again delay is the least the settings accept
    assert environment["RECONCILE_RETRY_SECONDS"] == "1"


def test_the_balance_check_asks_the_embedded_simulator() -> None:
    # Given the local stack with its own simulator
    opts = StackOptions(environ={})

    # When the callback function's environment is built
    environment = reconciler_environment(opts, "http://127.0.0.1:5/MainService.svc/json")

    # Then its balance check asks the simulator's GetBalance_json, not eSMS's REST host
    assert environment["ESMS_BALANCE_URL"] == (
        "http://127.0.0.1:5/MainService.svc/json/GetBalance_json/"
    )


def test_with_another_provider_the_balance_check_asks_the_templates_endpoint() -> None:
    # Given the local stack pointed at another provider endpoint
    opts = StackOptions(environ={}, esms_base_url="https://voiceapi.esms.vn/MainService.svc/json")

    # When the callback function's environment is built
    environment = reconciler_environment(opts, "https://voiceapi.esms.vn/MainService.svc/json")

    # Then the balance comes from EsmsBalanceUrl, the provider's REST host
    assert environment["ESMS_BALANCE_URL"] == (
        "https://rest.esms.vn/MainService.svc/json/GetBalance_json/"
    )
