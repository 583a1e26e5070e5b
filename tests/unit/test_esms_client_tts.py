"""MakeCallTemplate_V2 through the provider client: the exact GET the provider receives for each
option (its own spelling: RequestId, VariableListStr joined by ||, Voice, Speed), the same typed
answers and faults as the recording call, and the query's length bound."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from esms_calls.domain.calls import CallSpec, TtsScript, Voice
from esms_calls.domain.provider import MAX_QUERY_LENGTH, Accepted, RefusalKind, Refused
from esms_calls.errors import InvalidCallRequest, ProviderTimeout, ProviderUnavailable
from tests.support.fake_esms import FakeEsms, raises, refuse, status
from tests.unit.test_esms_client import client_for

pytestmark = pytest.mark.unit

CALLBACK = "https://api.test/callbacks/esms/c/t"


def tts(script: TtsScript, **fields: Any) -> CallSpec:
    return CallSpec(phone="0912345678", template_id="OTP1", tts=script, **fields)


def place(fake: FakeEsms, spec: CallSpec) -> Accepted | Refused:
    return client_for(fake).make_call(spec, request_id="login-7731", callback_url=CALLBACK)


def test_a_script_is_a_get_of_make_call_template_v2_with_its_own_spelling() -> None:
    # Given a tts call with every option
    spec = tts(TtsScript.of(("Trung", "20000"), Voice.FEMALE, -1), send_date="2030/01/02 09:30:00")
    fake = FakeEsms()
    # When it is placed
    answer = place(fake, spec)
    # Then the provider receives a GET of MakeCallTemplate_V2 with exactly these parameters
    assert isinstance(answer, Accepted)
    request = fake.requests[0]
    assert request.method == "GET"
    assert request.url.path == "/MainService.svc/json/MakeCallTemplate_V2"
    assert fake.calls[0] == {
        "ApiKey": "KEY-123",
        "SecretKey": "SECRET-456",
        "Phone": "0912345678",
        "TemplateId": "OTP1",
        "SendDate": "2030/01/02 09:30:00",
        "VariableListStr": "Trung||20000",
        "Voice": "female",
        "Speed": "-1",
        "RequestId": "login-7731",
        "CallbackUrl": CALLBACK,
    }
    # And the separator travels percent-encoded, as any URL-encoded query carries it
    assert "VariableListStr=Trung%7C%7C20000" in request.url.query.decode()


def test_a_script_without_options_sends_only_what_it_has() -> None:
    fake = FakeEsms()
    place(fake, tts(TtsScript.of(())))
    assert set(fake.calls[0]) == {
        "ApiKey",
        "SecretKey",
        "Phone",
        "TemplateId",
        "RequestId",
        "CallbackUrl",
    }


@pytest.mark.parametrize("voice", list(Voice))
def test_each_voice_is_sent_by_the_providers_name(voice: Voice) -> None:
    fake = FakeEsms()
    place(fake, tts(TtsScript.of(("1",), voice)))
    assert fake.calls[0]["Voice"] == voice.value


@pytest.mark.parametrize("speed", [-3, 0, 3])
def test_each_speed_is_sent_as_its_number(speed: int) -> None:
    fake = FakeEsms()
    place(fake, tts(TtsScript.of(("1",), speed=speed)))
    assert fake.calls[0]["Speed"] == str(speed)


def test_vietnamese_variables_arrive_as_written() -> None:
    fake = FakeEsms()
    place(fake, tts(TtsScript.of(("Nguyễn Văn Ánh", "1.250.000 đồng"))))
    assert fake.calls[0]["VariableListStr"] == "Nguyễn Văn Ánh||1.250.000 đồng"


def test_a_recording_still_spells_request_id_its_way() -> None:
    fake = FakeEsms()
    place(fake, CallSpec(phone="0912345678", template_id="7"))
    assert fake.requests[0].url.path.endswith("/MakeCallRecord_V2")
    assert fake.calls[0]["RequestID"] == "login-7731" and "RequestId" not in fake.calls[0]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("99", RefusalKind.REQUEST),
        ("101", RefusalKind.ACCOUNT),
        ("103", RefusalKind.ACCOUNT),
        ("104", RefusalKind.REQUEST),
        ("108", RefusalKind.REQUEST),
        ("124", RefusalKind.DUPLICATE),
        ("140", RefusalKind.ACCOUNT),
        ("199", RefusalKind.DUPLICATE),
        ("777", RefusalKind.ACCOUNT),
    ],
)
def test_every_refusal_of_a_script_is_typed_as_for_a_recording(
    code: str, kind: RefusalKind
) -> None:
    answer = place(FakeEsms().then(refuse(code)), tts(TtsScript.of(("1",))))
    assert isinstance(answer, Refused) and (answer.code, answer.kind) == (code, kind)


def test_a_refusal_echoing_a_sensitive_variable_or_a_credential_is_scrubbed() -> None:
    fake = FakeEsms().then(refuse("777", "bad VariableListStr=482913 for KEY-123"))
    answer = place(fake, tts(TtsScript.of(("482913",), sensitive=True)))
    assert isinstance(answer, Refused)
    assert "482913" not in answer.message and "KEY-123" not in answer.message


@pytest.mark.parametrize(
    "answer",
    [
        status(500, "<html>oops</html>"),
        status(200, "<html>maintenance</html>"),
        raises(httpx.ConnectError),
        raises(httpx.ConnectTimeout),
        raises(httpx.ReadError),
    ],
)
def test_faults_are_provider_faults_without_the_url(answer: Any) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        place(FakeEsms().then(answer), tts(TtsScript.of(("482913",), sensitive=True)))
    assert "482913" not in str(caught.value) and "KEY-123" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_no_answer_in_time_is_a_timeout() -> None:
    with pytest.raises(ProviderTimeout) as caught:
        place(FakeEsms().then(raises(httpx.ReadTimeout)), tts(TtsScript.of(("482913",))))
    assert "482913" not in str(caught.value)


def test_a_withheld_script_cannot_be_placed() -> None:
    # Given a sensitive script as it is stored (variables withheld)
    stored = tts(TtsScript.of(("482913",), sensitive=True)).withheld()
    fake = FakeEsms()
    # Then the client refuses to speak it rather than place a call without its code
    with pytest.raises(ValueError):
        place(fake, stored)
    assert fake.requests == []


def test_a_query_over_2000_characters_is_refused_before_anything_is_sent() -> None:
    fake = FakeEsms()
    client = client_for(fake)
    fits = tts(TtsScript.of(("x" * 100,) * 16))
    client.check_query(fits, request_id="login-7731", callback_url=CALLBACK)
    too_long = tts(TtsScript.of(("ễ" * 100,) * 8))
    with pytest.raises(InvalidCallRequest) as caught:
        client.check_query(too_long, request_id="login-7731", callback_url=CALLBACK)
    assert caught.value.field == "tts.variables" and str(MAX_QUERY_LENGTH) in caught.value.message
    assert fake.requests == []
