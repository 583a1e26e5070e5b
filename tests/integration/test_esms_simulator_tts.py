"""The simulator's MakeCallTemplate_V2, over HTTP on 127.0.0.1: its parameter names, the scripts
the account has (104 for another), the same callbacks as a recording, rules by phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from esms_simulator import EsmsSimulator, Rule
from tests.integration.test_esms_simulator import API_KEY, FAST, SECRET_KEY, Receiver, new_phone

pytestmark = pytest.mark.integration


@pytest.fixture
def sim() -> Iterator[EsmsSimulator]:
    """An account with three scripts: one variable, two, none."""
    scripts = {"OTP1": 1, "REMIND1": 2, "NOTICE": 0}
    with EsmsSimulator(
        api_key=API_KEY, secret_key=SECRET_KEY, default_rule=FAST, scripts=scripts
    ) as simulator:
        yield simulator


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5.0) as http:
        yield http


def speak(client: httpx.Client, sim: EsmsSimulator, **params: str) -> dict[str, Any]:
    query = {"ApiKey": API_KEY, "SecretKey": SECRET_KEY, "Phone": new_phone(), **params}
    response = client.get(f"{sim.base_url}/MakeCallTemplate_V2", params=query)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_a_known_script_is_accepted_and_called_back_like_a_recording(
    sim: EsmsSimulator, client: httpx.Client
) -> None:
    with Receiver() as receiver:
        # When a script is spoken with its variables, voice, speed and a callback URL
        body = speak(
            client,
            sim,
            TemplateId="REMIND1",
            VariableListStr="Nguyễn Văn An||1.250.000 đồng",
            Voice="ngoclam",
            Speed="-3",
            RequestId="remind-1",
            CallbackUrl=f"{receiver.url}/cb",
        )
        # Then it is accepted, and the three callbacks come as for a recording
        assert body["CodeResult"] == "100"
        assert receiver.wait_for(3)
        assert receiver.send_statuses() == ["2", "7", "5"]
    # And the record keeps which function it was and the variables, split
    record = sim.call(body["SMSID"])
    assert record is not None and record.api == "MakeCallTemplate_V2"
    assert record.variables == ("Nguyễn Văn An", "1.250.000 đồng")
    assert record.request_id == "remind-1" and record.params["Voice"] == "ngoclam"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"TemplateId": "NOPE", "VariableListStr": "1"}, "104"),
        ({"VariableListStr": "1"}, "104"),
        ({"TemplateId": "OTP1", "VariableListStr": "1||2"}, "118"),
        ({"TemplateId": "OTP1"}, "118"),
        ({"TemplateId": "OTP1", "VariableListStr": "1", "Voice": "robot"}, "118"),
        ({"TemplateId": "OTP1", "VariableListStr": "1", "Speed": "4"}, "118"),
        ({"TemplateId": "OTP1", "VariableListStr": "1", "Phone": "12345"}, "108"),
        ({"TemplateId": "OTP1", "VariableListStr": "1", "SecretKey": "wrong"}, "101"),
    ],
)
def test_what_the_script_function_refuses(
    sim: EsmsSimulator, client: httpx.Client, params: dict[str, str], code: str
) -> None:
    assert speak(client, sim, **params)["CodeResult"] == code
    assert sim.calls() == []


def test_a_script_without_variables_and_a_repeated_request_id(
    sim: EsmsSimulator, client: httpx.Client
) -> None:
    assert speak(client, sim, TemplateId="NOTICE", RequestId="n-1")["CodeResult"] == "100"
    assert speak(client, sim, TemplateId="NOTICE", RequestId="n-1")["CodeResult"] == "124"


def test_rules_by_phone_apply_to_scripts(sim: EsmsSimulator, client: httpx.Client) -> None:
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, code="103"))
    body = speak(client, sim, TemplateId="OTP1", VariableListStr="1", Phone=phone)
    assert body["CodeResult"] == "103"


def test_the_scripts_can_change_while_it_runs(sim: EsmsSimulator, client: httpx.Client) -> None:
    sim.update_settings(scripts={"DELIVERY2": 2})
    assert speak(client, sim, TemplateId="OTP1", VariableListStr="1")["CodeResult"] == "104"
    body = speak(client, sim, TemplateId="DELIVERY2", VariableListStr="a||b")
    assert body["CodeResult"] == "100"
    with pytest.raises(ValueError):
        sim.update_settings(scripts={"X": -1})
