"""The provider client against httpx's mock transport: requests as the provider spells them,
every CodeResult typed, faults reported without URL or credentials."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import SecretStr

from esms_calls.domain.calls import CallSpec
from esms_calls.domain.provider import Accepted, Balance, RefusalKind, Refused, SendStatus
from esms_calls.errors import ProviderTimeout, ProviderUnavailable
from esms_calls.esms.client import EsmsClient
from esms_calls.esms.models import EsmsCredentials
from tests.support.fake_esms import FakeEsms, raises, refuse, status

CREDS = EsmsCredentials(api_key=SecretStr("KEY-123"), secret_key=SecretStr("SECRET-456"))


def client_for(fake: FakeEsms) -> EsmsClient:
    return EsmsClient(
        "https://voiceapi.test/MainService.svc/json/",
        lambda: CREDS,
        connect_timeout=1,
        read_timeout=2,
        transport=fake.transport(),
    )


def make_call(fake: FakeEsms) -> Accepted | Refused:
    return client_for(fake).make_call(
        CallSpec(phone="0912345678", template_id="7"),
        request_id="r-1",
        callback_url="https://api.test/callbacks/esms/c/t",
    )


def test_a_call_request_is_a_get_with_the_providers_parameter_names() -> None:
    fake = FakeEsms()
    answer = make_call(fake)
    assert isinstance(answer, Accepted)
    request = fake.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/MainService.svc/json/MakeCallRecord_V2"
    assert fake.calls[0] == {
        "ApiKey": "KEY-123",
        "SecretKey": "SECRET-456",
        "Phone": "0912345678",
        "TemplateId": "7",
        "RequestID": "r-1",
        "CallbackUrl": "https://api.test/callbacks/esms/c/t",
    }


def test_the_smsid_is_trimmed() -> None:
    fake = FakeEsms().then(
        lambda r: httpx.Response(200, json={"CodeResult": "100", "SMSID": "8eb2af6d-fb4c4814 "})
    )
    assert make_call(fake) == Accepted(sms_id="8eb2af6d-fb4c4814")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("99", RefusalKind.REQUEST),
        ("101", RefusalKind.ACCOUNT),
        ("102", RefusalKind.ACCOUNT),
        ("103", RefusalKind.ACCOUNT),
        ("104", RefusalKind.REQUEST),
        ("106", RefusalKind.REQUEST),
        ("108", RefusalKind.REQUEST),
        ("120", RefusalKind.REQUEST),
        ("124", RefusalKind.DUPLICATE),
        ("140", RefusalKind.ACCOUNT),
        ("199", RefusalKind.DUPLICATE),
    ],
)
def test_every_documented_code_is_typed(code: str, kind: RefusalKind) -> None:
    answer = make_call(FakeEsms().then(refuse(code)))
    assert isinstance(answer, Refused)
    assert (answer.code, answer.kind) == (code, kind)


def test_an_unknown_code_is_an_account_fault_with_the_providers_message() -> None:
    answer = make_call(FakeEsms().then(refuse("777", "Tài khoản bị khóa")))
    assert answer == Refused(code="777", kind=RefusalKind.ACCOUNT, message="Tài khoản bị khóa")


def test_a_message_echoing_a_credential_is_scrubbed() -> None:
    answer = make_call(FakeEsms().then(refuse("777", "bad key KEY-123 / SECRET-456")))
    assert isinstance(answer, Refused)
    assert "KEY-123" not in answer.message and "SECRET-456" not in answer.message


@pytest.mark.parametrize(
    "answer",
    [
        status(502, "<html>Bad Gateway</html>"),
        status(200, "<html>maintenance</html>"),
        status(200, '{"CodeResult": "10'),
        status(200, "[1, 2]", "application/json"),
        status(200, '{"SMSID": "x"}', "application/json"),
        status(200, '{"CodeResult": "100"}', "application/json"),
        raises(httpx.ConnectError),
        raises(httpx.ReadError),
        raises(httpx.RemoteProtocolError),
        raises(httpx.ConnectTimeout),
    ],
)
def test_garbage_and_broken_connections_are_provider_faults(answer) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        make_call(FakeEsms().then(answer))
    assert "KEY-123" not in str(caught.value) and "voiceapi.test" not in str(caught.value)
    # No chained httpx error either: its text could carry the URL into a traceback.
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_no_answer_in_time_is_a_timeout() -> None:
    with pytest.raises(ProviderTimeout) as caught:
        make_call(FakeEsms().then(raises(httpx.ReadTimeout)))
    assert "SECRET-456" not in str(caught.value)


def test_the_read_timeout_shrinks_to_the_time_left() -> None:
    fake = FakeEsms()
    client_for(fake).make_call(
        CallSpec(phone="0912345678", template_id="7"),
        request_id="r",
        callback_url=None,
        time_budget=0.5,
    )
    assert fake.requests[0].extensions["timeout"]["read"] == 0.5


def test_send_status_success_uses_code_response_and_numbers() -> None:
    fake = FakeEsms().then(
        lambda r: httpx.Response(
            200,
            json={
                "CallDuration": 13,
                "CallStatus": "ANSWERED",
                "CodeResponse": "100",
                "Ivr": "",
                "ReferenceId": "505139D7",
                "SendStatus": 5,
                "SentResult": 1,
            },
        )
    )
    answer = client_for(fake).get_send_status("505139D7")
    assert answer == SendStatus(
        reference_id="505139D7",
        send_status=5,
        call_status="ANSWERED",
        duration_seconds=13,
        ivr="",
        sent_result=1,
    )
    assert fake.requests[0].url.params["ReferenceId"] == "505139D7"


def test_send_status_not_known_yet_is_105() -> None:
    fake = FakeEsms().then(
        lambda r: httpx.Response(
            200, json={"CodeResult": "105", "CountRegenerate": 0, "ErrorMessage": "not found"}
        )
    )
    answer = client_for(fake).get_send_status("x")
    assert isinstance(answer, Refused) and answer.kind is RefusalKind.NOT_FOUND_YET


BALANCE_URL = "https://rest.esms.test/MainService.svc/json/GetBalance_json/"


def balance_client(answer: httpx.Response, seen: list[httpx.Request]) -> EsmsClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    return EsmsClient(
        "https://voiceapi.test/MainService.svc/json",
        lambda: CREDS,
        connect_timeout=1,
        read_timeout=2,
        transport=httpx.MockTransport(handle),
        balance_url=BALANCE_URL,
    )


def test_the_balance_is_a_json_post_to_the_rest_host_with_the_credentials_in_its_body() -> None:
    # Given the provider's documented answer
    seen: list[httpx.Request] = []
    answer = httpx.Response(200, json={"Balance": 8_450_000, "CodeResponse": "100", "UserID": 42})

    # When the client asks for the balance
    balance = balance_client(answer, seen).get_balance()

    # Then it POSTed JSON to GetBalance_json on the REST host, the credentials in the body only
    assert balance == Balance(amount=8_450_000.0, user_id="42")
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", BALANCE_URL)
    assert json.loads(request.content) == {"ApiKey": "KEY-123", "SecretKey": "SECRET-456"}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            httpx.Response(200, json={"CodeResponse": "101", "ErrorMessage": "Authorize Failed"}),
            "101",
        ),
        (httpx.Response(200, json={"CodeResponse": "100"}), ProviderUnavailable),
        (httpx.Response(200, json={"CodeResponse": "100", "Balance": "lots"}), ProviderUnavailable),
        (httpx.Response(502, text="Bad Gateway"), ProviderUnavailable),
    ],
    ids=["refused", "no-balance", "not-a-number", "5xx"],
)
def test_a_balance_answer_without_a_balance_is_a_refusal_or_a_provider_error(
    answer: httpx.Response, expected: str | type[Exception]
) -> None:
    client = balance_client(answer, [])
    if isinstance(expected, str):
        refused = client.get_balance()
        assert isinstance(refused, Refused) and refused.code == expected
        assert refused.kind is RefusalKind.ACCOUNT
    else:
        with pytest.raises(expected):
            client.get_balance()
