"""PlaceCall with in-memory ports: what the provider is asked, what is recorded and replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from hashlib import sha256

import pytest

from esms_calls.domain.calls import CallSpec, CallStatus, TtsScript
from esms_calls.domain.placement import PlaceCallCommand
from esms_calls.domain.provider import RefusalKind, Refused
from esms_calls.domain.send_date import to_provider_format
from esms_calls.errors import InvalidCallRequest, ProviderTimeout, RequestIdBoundToOtherPayload
from esms_calls.usecases.place_call import PlaceCall, PlacementTimes
from tests.support.fakes import (
    FakeCalls,
    FakeGuard,
    FakeProvider,
    calling_rules,
    fingerprint,
    fixed_clock,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SPEC = CallSpec(phone="0912345678", template_id="123")
TIMES = PlacementTimes(request_id_ttl_seconds=86400, check_after_seconds=900, retention_seconds=90)


def place_call(calls: FakeCalls, provider: FakeProvider, guard: FakeGuard) -> PlaceCall:
    return PlaceCall(
        calls=calls,
        provider=provider,
        callback_url=lambda call_id: f"https://calls.test/callbacks/esms/{call_id}/t",
        fingerprint=fingerprint,
        guard=guard,
        rules=calling_rules(),
        times=TIMES,
        clock=fixed_clock(NOW),
    )


@pytest.fixture
def calls() -> FakeCalls:
    return FakeCalls()


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def use_case(calls: FakeCalls, provider: FakeProvider) -> PlaceCall:
    return place_call(calls, provider, FakeGuard(calls=calls))


def command(request_id: str = "order-1", spec: CallSpec = SPEC) -> PlaceCallCommand:
    return PlaceCallCommand(request_id=request_id, spec=spec)


def test_an_accepted_call_is_recorded_then_placed_with_its_callback_url(
    use_case: PlaceCall, calls: FakeCalls, provider: FakeProvider
) -> None:
    # When a call is placed
    outcome = use_case(command(), remaining_seconds=25)
    # Then it was recorded PENDING first, with the times it lives by
    (opened,) = calls.opened
    assert opened.status is CallStatus.PENDING and opened.created_at == NOW
    # And the provider was asked once, under the request id, with this call's callback URL and
    # the time left less what recording the answer needs
    (sent,) = provider.sent
    assert (sent.spec, sent.request_id) == (SPEC, "order-1")
    assert sent.callback_url == f"https://calls.test/callbacks/esms/{opened.call_id}/t"
    assert sent.time_budget == pytest.approx(22)
    # And the outcome is the acceptance, recorded on the call
    assert (outcome.call_id, outcome.status, outcome.sms_id) == (
        opened.call_id,
        CallStatus.ACCEPTED,
        "sms-1",
    )
    assert calls.calls[opened.call_id].status is CallStatus.ACCEPTED


def test_a_repeated_request_is_answered_from_the_stored_outcome(
    use_case: PlaceCall, provider: FakeProvider
) -> None:
    # Given a placed call
    first = use_case(command())
    # When the same request comes again
    again = use_case(command())
    # Then the provider heard of it once, and the answer is the same, marked replayed
    assert len(provider.sent) == 1
    assert again.replayed and again.call_id == first.call_id and again.sms_id == first.sms_id


def test_the_same_request_id_for_another_call_is_refused(use_case: PlaceCall) -> None:
    use_case(command())
    with pytest.raises(RequestIdBoundToOtherPayload):
        use_case(command(spec=SPEC.model_copy(update={"template_id": "456"})))


def test_a_send_time_in_the_past_is_refused_before_anything_is_recorded(
    use_case: PlaceCall, calls: FakeCalls, provider: FakeProvider
) -> None:
    past = SPEC.model_copy(update={"send_date": to_provider_format(NOW - timedelta(minutes=5))})
    with pytest.raises(InvalidCallRequest) as refused:
        use_case(command(spec=past))
    assert refused.value.field == "send_at"
    assert calls.opened == [] and provider.sent == []


def test_a_provider_refusal_is_a_definitive_failed_outcome(
    use_case: PlaceCall, calls: FakeCalls, provider: FakeProvider
) -> None:
    provider.then(Refused(code="108", kind=RefusalKind.REQUEST, message="invalid phone format"))
    outcome = use_case(command())
    assert outcome.status is CallStatus.FAILED
    assert outcome.refusal is not None and outcome.refusal.code == "108"
    assert outcome.refusal.kind is RefusalKind.REQUEST
    # And it is replayed, not placed again
    assert use_case(command()).replayed and len(provider.sent) == 1


def test_a_timeout_leaves_the_request_id_free_and_the_retry_reuses_the_same_call(
    use_case: PlaceCall, calls: FakeCalls, provider: FakeProvider
) -> None:
    # Given the provider times out on the first attempt, then says the RequestID is known (124)
    provider.then(
        ProviderTimeout("no answer"),
        Refused(code="124", kind=RefusalKind.DUPLICATE, message="RequestID already used"),
    )
    with pytest.raises(ProviderTimeout):
        use_case(command())
    # When the caller retries with the same request id
    outcome = use_case(command())
    # Then the retry used the same call (and so the same callback URL), and the 124 means the
    # first attempt got through: accepted, its SMSID to come with the first callback
    assert len(calls.opened) == 1
    assert provider.sent[0].callback_url == provider.sent[1].callback_url
    assert outcome.call_id == calls.opened[0].call_id
    assert (outcome.status, outcome.sms_id) == (CallStatus.ACCEPTED, None)


def test_a_124_on_a_first_attempt_is_a_refusal(use_case: PlaceCall, provider: FakeProvider) -> None:
    provider.then(Refused(code="124", kind=RefusalKind.DUPLICATE, message="used"))
    outcome = use_case(command())
    assert outcome.status is CallStatus.FAILED
    assert outcome.refusal is not None and outcome.refusal.kind is RefusalKind.DUPLICATE


def test_too_little_time_left_is_a_timeout_without_asking_the_provider(
    use_case: PlaceCall, provider: FakeProvider
) -> None:
    with pytest.raises(ProviderTimeout):
        use_case(command(), remaining_seconds=3.5)
    assert provider.sent == []


def test_a_call_an_earlier_attempt_settled_is_answered_from_its_record(
    calls: FakeCalls, provider: FakeProvider
) -> None:
    # Given an earlier attempt recorded the provider's answer on the call, then lost its outcome
    # (its guard never stored it)
    place_call(calls, provider, FakeGuard(calls=calls))(command())
    # When the request comes again through a guard that has no stored outcome
    outcome = place_call(calls, provider, FakeGuard())(command())
    # Then the call's own record answers, and the provider is not asked again
    assert len(provider.sent) == 1
    assert (outcome.status, outcome.sms_id) == (CallStatus.ACCEPTED, "sms-1")


def test_the_lambda_context_reaches_the_guard(calls: FakeCalls, provider: FakeProvider) -> None:
    guard = FakeGuard(calls=calls)
    place_call(calls, provider, guard).register_lambda_context("ctx")
    assert guard.contexts == ["ctx"]


# ------------------------------------------------------------------ tts calls, sensitive ones

CODE = "482913"
OTP = CallSpec(phone="0912345678", template_id="OTP1", tts=TtsScript.of((CODE,), sensitive=True))


def with_code(code: str) -> CallSpec:
    return OTP.model_copy(update={"tts": TtsScript.of((code,), sensitive=True)})


def test_a_sensitive_call_is_recorded_without_its_variables_and_spoken_with_them(
    use_case: PlaceCall, calls: FakeCalls, provider: FakeProvider
) -> None:
    # When a sensitive tts call is placed
    use_case(command("login-1", OTP))
    # Then the call record keeps the count of its variables, not their values
    (opened,) = calls.opened
    assert opened.spec.tts is not None and opened.spec.tts.variables is None
    assert opened.spec.tts.variable_count == 1 and CODE not in opened.model_dump_json()
    # And the binding keeps a keyed hash, not a plain one
    _, bound_hash = calls.bindings["login-1"]
    assert (
        bound_hash == fingerprint(OTP)
        and bound_hash != sha256(OTP.model_dump_json().encode()).hexdigest()
    )
    # And the provider was asked with the code
    (sent,) = provider.sent
    assert sent.spec == OTP


def test_a_sensitive_replay_is_compared_by_its_variables(
    use_case: PlaceCall, provider: FakeProvider
) -> None:
    # Given a placed one-time code call
    first = use_case(command("login-1", OTP))
    # When the same request comes again, it is replayed; with another code, it is refused
    assert use_case(command("login-1", OTP)).call_id == first.call_id
    with pytest.raises(RequestIdBoundToOtherPayload):
        use_case(command("login-1", with_code("111111")))
    assert len(provider.sent) == 1


def test_a_retry_after_a_timeout_speaks_the_code_it_brings_again(
    use_case: PlaceCall, calls: FakeCalls, provider: FakeProvider
) -> None:
    # Given the first attempt of a sensitive call timed out (its record holds no code)
    provider.then(ProviderTimeout("no answer"))
    with pytest.raises(ProviderTimeout):
        use_case(command("login-1", OTP))
    # When the caller retries the same request
    outcome = use_case(command("login-1", OTP))
    # Then the same call is placed, with the code from the retried request
    assert outcome.call_id == calls.opened[0].call_id and len(calls.opened) == 1
    assert [sent.spec for sent in provider.sent] == [OTP, OTP]
    # And a retry with another code under the same request id is refused
    provider.then(ProviderTimeout("no answer"))
    with pytest.raises(RequestIdBoundToOtherPayload):
        use_case(command("login-1", with_code("111111")))


def test_a_query_the_provider_cannot_take_is_refused_before_anything_is_recorded(
    use_case: PlaceCall, calls: FakeCalls, provider: FakeProvider
) -> None:
    provider.query_refusal = InvalidCallRequest("tts.variables", "too long")
    with pytest.raises(InvalidCallRequest):
        use_case(command("long-1", OTP))
    assert calls.opened == [] and provider.sent == []
