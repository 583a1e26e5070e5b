from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from esms_calls.requests.calls import PlaceCallRequest


def errors_of(body: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        PlaceCallRequest.model_validate(body)
    return {
        (e.get("ctx") or {}).get("field") or ".".join(map(str, e["loc"])): e["type"]
        for e in caught.value.errors()
    }


def test_the_providers_names_are_accepted_as_aliases() -> None:
    # Given a body written with the provider's own parameter names
    body = {
        "Phone": "+84 912 345 678",
        "TemplateId": "rec-1",
        "RequestId": "r:1",
        "SendDate": "2030/01/02 09:30:00",
        "NumberForward": "0987654321",
        "Ivr": "1",
        "TimeWaitToIvr": "10",
        "MaxRepeat": "2",
        "MaxRetry": 3,
        "WaitRetry": "60",
    }
    # When it is validated
    spec = PlaceCallRequest.model_validate(body).to_spec()
    # Then it is the same call as in our own names, normalised
    assert spec.model_dump(exclude={"purpose", "opt_out_key", "outside_hours"}) == {
        "phone": "0912345678",
        "template_id": "rec-1",
        "tts": None,
        "send_date": "2030/01/02 09:30:00",
        "number_forward": "0987654321",
        "ivr": "1",
        "time_wait_to_ivr": 10,
        "max_repeat": 2,
        "max_retry": 3,
        "wait_retry": 60,
    }


def test_send_at_with_a_time_zone_is_sent_in_vietnam_time() -> None:
    request = PlaceCallRequest.model_validate(
        {"phone": "0912345678", "template_id": "1", "send_at": "2030-01-02T02:30:00Z"}
    )
    assert request.to_spec().send_date == "2030/01/02 09:30:00"
    assert request.send_at == datetime(2030, 1, 2, 2, 30, tzinfo=UTC)


def test_naive_send_at_means_vietnam_time() -> None:
    request = PlaceCallRequest.model_validate(
        {"phone": "0912345678", "template_id": "1", "send_at": "2030-01-02T09:30:00"}
    )
    assert request.to_spec().send_date == "2030/01/02 09:30:00"


def test_every_bad_field_is_reported_at_once() -> None:
    errors = errors_of(
        {
            "phone": "12345",
            "template_id": "bad id!",
            "request_id": "x" * 51,
            "send_at": "next tuesday",
            "ivr": "12",
            "number_forward": "0987654321",
            "max_repeat": 11,
            "max_retry": -1,
            "wait_retry": "1.5",
            "time_wait_to_ivr": True,
            "colour": "blue",
        }
    )
    assert set(errors) == {
        "phone",
        "template_id",
        "request_id",
        "send_at",
        "ivr",
        "max_repeat",
        "max_retry",
        "wait_retry",
        "time_wait_to_ivr",
        "colour",
    }
    assert errors["colour"] == "extra_forbidden"


def test_a_field_under_both_names_must_agree() -> None:
    errors = errors_of({"phone": "0912345678", "Phone": "0987654321", "template_id": "1"})
    assert errors == {"phone": "conflicting_names"}
    same = PlaceCallRequest.model_validate(
        {"phone": "0912345678", "Phone": "0912345678", "template_id": "1"}
    )
    assert same.phone == "0912345678"


@pytest.mark.parametrize("extra", [{"ivr": "1"}, {"number_forward": "0987654321"}])
def test_forwarding_needs_both_number_and_key(extra: dict) -> None:
    errors = errors_of({"phone": "0912345678", "template_id": "1", **extra})
    assert list(errors.values()) == ["forwarding_incomplete"]


def test_required_fields_are_required() -> None:
    assert errors_of({}) == {"phone": "missing", "template_id": "recording_or_script"}


def test_a_body_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValidationError):
        PlaceCallRequest.model_validate(["0912345678"])
