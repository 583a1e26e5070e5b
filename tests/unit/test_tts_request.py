"""The `tts` part of `POST /calls` (and of list entries): a script instead of a recording, its
variables validated, the provider's names accepted, every refusal reported against its field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from esms_calls.domain.calls import RECORDING_ONLY, CallKind, TtsScript, Voice
from esms_calls.requests.calls import PlaceCallRequest, with_defaults
from esms_calls.requests.errors import field_of

pytestmark = pytest.mark.unit

CODE = "482913"


def tts_call(**tts: Any) -> dict[str, Any]:
    return {"phone": "0912345678", "tts": {"template_id": "OTP1", **tts}}


def errors_of(body: dict[str, Any]) -> dict[str, str]:
    """field (as the API reports it) → error type."""
    with pytest.raises(ValidationError) as caught:
        PlaceCallRequest.model_validate(body)
    return {field_of(e): e["type"] for e in caught.value.errors()}


def test_a_script_with_its_variables_voice_and_speed_is_a_tts_call() -> None:
    # Given a body naming a script, its variables, a voice and a speed
    body = tts_call(variables=["Trung", 20000], voice="hatieumai", speed="-2", sensitive=True)
    # When it is validated
    spec = PlaceCallRequest.model_validate(body).to_spec()
    # Then it is a tts call with its parameters normalised (numbers as their digits)
    assert spec.kind is CallKind.TTS and spec.template_id == "OTP1"
    assert spec.tts == TtsScript.of(("Trung", "20000"), Voice.HATIEUMAI, -2, sensitive=True)


def test_the_providers_names_are_accepted_inside_tts() -> None:
    # Given the provider's own names, VariableListStr joined as the provider joins it
    body = tts_call(VariableListStr="Trung||20000", Voice="male", Speed=3)
    body["tts"] = {
        "TemplateId": "REMIND1",
        **{k: v for k, v in body["tts"].items() if k != "template_id"},
    }
    # When it is validated
    spec = PlaceCallRequest.model_validate(body).to_spec()
    # Then it is the same call as in our names
    assert spec.template_id == "REMIND1"
    assert spec.tts == TtsScript.of(("Trung", "20000"), Voice.MALE, 3)


def test_a_field_given_under_both_names_must_agree() -> None:
    same = tts_call(variables=["a", "b"], VariableListStr="a||b")
    assert PlaceCallRequest.model_validate(same).to_spec().tts == TtsScript.of(("a", "b"))
    assert errors_of(tts_call(voice="male", Voice="female")) == {"tts.voice": "conflicting_names"}


def test_a_recording_call_is_unchanged() -> None:
    spec = PlaceCallRequest.model_validate({"phone": "0912345678", "template_id": "7"}).to_spec()
    assert spec.kind is CallKind.RECORDING and spec.tts is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "0912345678"}, "template_id"),
        ({"phone": "0912345678", "tts": None}, "template_id"),
        ({"phone": "0912345678", "template_id": "7", "tts": {"template_id": "OTP1"}}, "tts"),
        ({"phone": "0912345678", "TemplateId": "7", "tts": {"template_id": "OTP1"}}, "tts"),
    ],
)
def test_exactly_one_of_a_recording_and_a_script(body: dict[str, Any], field: str) -> None:
    assert errors_of(body) == {field: "recording_or_script"}


def test_every_recording_only_option_is_refused_with_a_script() -> None:
    # Given a tts call carrying each option only recordings have, some under the provider's name
    body = {
        **tts_call(),
        "number_forward": "0987654321",
        "Ivr": "1",
        "time_wait_to_ivr": 10,
        "MaxRepeat": 2,
        "max_retry": 1,
        "wait_retry": 60,
    }
    # Then each is reported against its own field, beside the others
    assert errors_of(body) == dict.fromkeys(RECORDING_ONLY, "recording_only")


@pytest.mark.parametrize(
    ("variable", "error"),
    [
        ("12||34", "variable_separator"),
        ("line\nbreak", "variable_control"),
        ("nul\x00", "variable_control"),
        ("del\x7f", "variable_control"),
        ("x" * 101, "variable_length"),
        ("", "variable_length"),
        ("   ", "variable_length"),
        (1.5, "string_type"),
        (True, "string_type"),
        (["nested"], "string_type"),
        (None, "string_type"),
    ],
)
def test_a_variable_the_provider_cannot_carry_is_refused(variable: Any, error: str) -> None:
    body = tts_call(variables=["ok", variable])
    assert errors_of(body) == {"tts.variables.1": error}


def test_a_variable_of_100_characters_in_vietnamese_is_accepted() -> None:
    name = "Nguyễn Thị Hồng Nhung " * 5
    spec = PlaceCallRequest.model_validate(tts_call(variables=[name[:100]])).to_spec()
    assert spec.tts is not None and spec.tts.variables == (name[:100].strip(),)


def test_variables_whose_query_would_pass_2000_characters_are_refused() -> None:
    # Given 12 variables of 100 characters that each take three times their length encoded
    body = tts_call(variables=["ễ" * 34] * 12)
    assert errors_of(body) == {"tts.variables": "query_too_long"}


def test_an_error_names_the_field_as_ours_whatever_name_was_used() -> None:
    assert errors_of(tts_call(VariableListStr="a||")) == {"tts.variables.1": "variable_length"}
    assert errors_of(tts_call(Voice="robot")) == {"tts.voice": "enum"}


@pytest.mark.parametrize("speed", [4, -4, "fast", 1.5, True, "+1"])
def test_speed_is_a_whole_number_from_minus_3_to_3(speed: Any) -> None:
    assert set(errors_of(tts_call(speed=speed))) == {"tts.speed"}


@pytest.mark.parametrize("voice", ["Male", "robot", "", 1])
def test_voice_is_one_of_the_providers_four(voice: Any) -> None:
    assert set(errors_of(tts_call(voice=voice))) == {"tts.voice"}


def test_unknown_fields_and_a_bad_script_id_are_refused() -> None:
    assert errors_of(tts_call(pitch=2)) == {"tts.pitch": "extra_forbidden"}
    assert errors_of({"phone": "0912345678", "tts": {"template_id": "a b"}}) == {
        "tts.template_id": "string_pattern_mismatch"
    }


def test_no_repr_and_no_error_shows_a_variable() -> None:
    # Given a sensitive call, and one whose code is too long
    request = PlaceCallRequest.model_validate(tts_call(variables=[CODE], sensitive=True))
    with pytest.raises(ValidationError) as caught:
        PlaceCallRequest.model_validate(tts_call(variables=[CODE * 20, CODE + "\n"]))
    # Then neither the request, its spec nor the errors' messages print the code
    assert CODE not in repr(request) and CODE not in repr(request.to_spec())
    assert all(CODE not in error["msg"] for error in caught.value.errors())
    # And neither does the error's own text, wherever it might be printed
    assert CODE not in str(caught.value) and CODE not in repr(caught.value)


def test_a_withheld_script_keeps_the_count_and_nothing_else_of_its_variables() -> None:
    spec = PlaceCallRequest.model_validate(tts_call(variables=[CODE], sensitive=True)).to_spec()
    stored = spec.withheld()
    assert stored.tts is not None and stored.tts.variables is None
    assert stored.tts.variable_count == 1 and CODE not in stored.model_dump_json()
    # A script that is not sensitive is kept whole
    plain = PlaceCallRequest.model_validate(tts_call(variables=["Lan"])).to_spec()
    assert plain.withheld() == plain


def test_a_list_entry_brings_its_variables_to_the_defaults_script() -> None:
    # Given defaults naming a script (under the provider's names) and an entry with variables
    defaults = {"tts": {"TemplateId": "REMIND1", "Voice": "female"}}
    entry = {"Phone": "0912345678", "tts": {"variables": ["Lan", "14:00"]}}
    # When the entry is merged over the defaults
    spec = PlaceCallRequest.model_validate(with_defaults(defaults, entry)).to_spec()
    # Then it speaks the defaults' script with its own variables
    assert spec.template_id == "REMIND1"
    assert spec.tts == TtsScript.of(("Lan", "14:00"), Voice.FEMALE)


def test_an_entry_naming_its_own_recording_or_script_drops_the_defaults_other() -> None:
    recording = with_defaults({"tts": {"template_id": "OTP1"}}, {"phone": "1", "template_id": "7"})
    script = with_defaults({"template_id": "7"}, {"phone": "1", "tts": {"template_id": "OTP1"}})
    assert "tts" not in recording and "template_id" not in script
