"""Pure logic of the eSMS simulator: URL composition, rules, validation, masking, config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from esms_simulator import Composition, Rule, SimulatorConfig, compose_callback_url, load_config
from esms_simulator.params import (
    CallRequest,
    QueryParams,
    Refusal,
    mask_phone,
    mask_query,
    mask_text,
    parse_make_call,
)
from esms_simulator.rules import RuleBook

pytestmark = pytest.mark.unit

PARAMS = [("ReferenceId", "abc"), ("CallStatus", "NO ANSWER"), ("SendStatus", "5")]
BLANKS = "https://x.test/cb?ReferenceId=&CallStatus=&SendStatus="


# --------------------------------------------------------------------------- URL composition
@pytest.mark.parametrize(
    ("url", "composition", "expected"),
    [
        ("https://x.test/cb", Composition.AUTO,
         "https://x.test/cb?ReferenceId=abc&CallStatus=NO%20ANSWER&SendStatus=5"),
        ("https://x.test/cb?t=1", Composition.AUTO,
         "https://x.test/cb?t=1&ReferenceId=abc&CallStatus=NO%20ANSWER&SendStatus=5"),
        ("https://x.test/cb?", Composition.AUTO,
         "https://x.test/cb?ReferenceId=abc&CallStatus=NO%20ANSWER&SendStatus=5"),
        ("https://x.test/cb#frag", Composition.AUTO,
         "https://x.test/cb?ReferenceId=abc&CallStatus=NO%20ANSWER&SendStatus=5"),
        (BLANKS, Composition.AUTO,
         "https://x.test/cb?ReferenceId=abc&CallStatus=NO%20ANSWER&SendStatus=5"),
        ("https://x.test/cb?t=1&ReferenceId=", Composition.AUTO,
         "https://x.test/cb?t=1&ReferenceId=abc&CallStatus=NO%20ANSWER&SendStatus=5"),
        (BLANKS, Composition.APPEND,
         BLANKS + "&ReferenceId=abc&CallStatus=NO%20ANSWER&SendStatus=5"),
        ("https://x.test/cb", Composition.FILL,
         "https://x.test/cb?ReferenceId=abc&CallStatus=NO%20ANSWER&SendStatus=5"),
    ],
    ids=["question-mark", "ampersand", "bare-question-mark", "fragment-dropped", "fill-blanks",
         "fill-some-append-rest", "append-after-blanks", "fill-without-query"],
)  # fmt: skip
def test_callback_url_composition(url: str, composition: Composition, expected: str) -> None:
    # Given a CallbackUrl, When the callback's query is composed onto it, Then it has this shape
    assert compose_callback_url(url, PARAMS, composition) == expected


# --------------------------------------------------------------------------- rule matching
def test_exact_phone_matches_both_spellings() -> None:
    # Given a rule for a number written in its 84 form
    rule = Rule(phone="84912345678")
    # Then it matches the number in either form, and nothing else
    assert rule.matches("0912345678") and rule.matches("84912345678")
    assert not rule.matches("0912345679")


def test_prefix_pattern_and_template_must_all_hold() -> None:
    # Given a rule with a prefix, a pattern and a template id
    rule = Rule(prefix="0912", pattern=r"0\d+8", template_id="T1")
    # Then a request must satisfy all three
    assert rule.matches("0912345678", "T1")
    assert not rule.matches("0912345678", "T2")
    assert not rule.matches("0912345679", "T1")
    assert not rule.matches("0987654328", "T1")


def test_rulebook_picks_the_first_match_and_honours_times() -> None:
    # Given a default, a rule used once, and a newer rule added on top
    book = RuleBook([Rule(prefix="09", code="103", times=1)], default=Rule(call_status="FAILED"))
    book.add_first(Rule(phone="0911111111", code="99"))
    # When requests are selected
    first = book.select("0922222222", "T")
    second = book.select("0922222222", "T")
    newest = book.select("0911111111", "T")
    # Then the once-only rule served once, then the default; the newest rule wins its number
    assert (first.code, second.code, second.call_status, newest.code) == ("103", None, "", "99")
    assert [r["used"] for r in book.to_dict()["rules"]] == [1, 1]


# --------------------------------------------------------------------------- outcomes
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("ANSWERED", ("ANSWERED", 13, "300.0000", 1)),
        ("NO ANSWER", ("NO ANSWER", 0, "0.0000", 1)),
        ("NOANSWERED", ("NO ANSWER", 0, "0.0000", 1)),
        ("no_answer", ("NO ANSWER", 0, "0.0000", 1)),
        ("", ("", 0, "0.0000", 0)),
        ("FAILED", ("", 0, "0.0000", 0)),
    ],
)
def test_outcome_defaults_follow_the_call_status(
    status: str, expected: tuple[str, int, str, int]
) -> None:
    # Given a rule with only a call status, Then its outcome's other values follow from it
    outcome = Rule(call_status=status).outcome()
    assert (outcome.call_status, outcome.duration, outcome.price, outcome.sent_result) == expected
    assert outcome.cid == "02871002454"


def test_price_is_formatted_with_four_places() -> None:
    assert Rule(price="300").outcome().price == "300.0000"
    assert Rule.from_dict({"price": 12.5}).outcome().price == "12.5000"


@pytest.mark.parametrize(
    "data",
    [
        {"colour": "red"},
        {"call_status": "BUSY"},
        {"code": "abc"},
        {"price": "-1"},
        {"ivr": "12"},
        {"duration": -1},
        {"duration": "13"},
        {"sent_result": 2},
        {"duplicates": 0},
        {"delays": [1, 2]},
        {"delays": -1},
        {"delivery": "sideways"},
        {"fault": "explode"},
        {"composition": "smash"},
        {"pattern": "("},
        {"times": -1},
    ],
)
def test_invalid_rules_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Rule.from_dict(data)


def test_rule_survives_a_round_trip_through_json() -> None:
    # Given a rule with every kind of field set
    rule = Rule.from_dict(
        {"phone": "0912345678", "code": None, "fault": "disconnect", "delivery": "shuffled",
         "composition": "fill", "delays": 0.5, "ivr": 1, "price": "1.5"}
    )  # fmt: skip
    # When it goes through its JSON form (with the read-only usage count added by the admin)
    again = Rule.from_dict(json.loads(json.dumps({**rule.to_dict(), "used": 3})))
    # Then it is the same rule
    assert again == rule
    assert again.delays == (0.5, 0.5, 0.5) and again.ivr == "1"


def test_forcing_code_100_means_no_refusal() -> None:
    assert Rule(code="100").code is None


# --------------------------------------------------------------------------- validation
def _parse(**params: str) -> CallRequest | Refusal:
    base = {"TemplateId": "T1", "Phone": "0912345678"}
    return parse_make_call(QueryParams(list({**base, **params}.items())))


def test_blank_optional_fields_count_as_absent() -> None:
    # Given the provider's URL template sent with every optional field left blank
    request = _parse(SendDate="", Ivr="", MaxRetry="", NumberForward="", CallbackUrl="")
    # Then the request is valid and the fields are absent
    assert isinstance(request, CallRequest)
    assert (request.send_date, request.ivr, request.max_retry, request.callback_url) == (
        None, None, None, None,
    )  # fmt: skip


def test_parameter_names_are_matched_without_case() -> None:
    # Given names spelled differently from the provider's page
    request = parse_make_call(
        QueryParams([("templateid", "T"), ("PHONE", "84912345678"), ("requestid", "r-1")])
    )
    # Then they are understood, and the phone's national form is known
    assert isinstance(request, CallRequest)
    assert (request.request_id, request.national_phone) == ("r-1", "0912345678")


def test_first_invalid_field_decides_the_code() -> None:
    assert _parse(TemplateId="", Phone="1") == Refusal("104", "TemplateId is required")
    refusal = _parse(SendDate="2030/01/01 25:00:00")
    assert isinstance(refusal, Refusal) and refusal.code == "118"
    assert "SendDate" in refusal.message


# --------------------------------------------------------------------------- masking
def test_credentials_are_masked_in_queries_and_free_text() -> None:
    query = "ApiKey=k1&secretkey=s2&Phone=0912345678"
    assert mask_query(query) == "ApiKey=***&secretkey=***&Phone=0912345678"
    line = "GET /MainService.svc/json/MakeCallRecord_V2?APIKEY=k1&SecretKey=s2 HTTP/1.1"
    assert "k1" not in mask_text(line) and "s2" not in mask_text(line)
    assert QueryParams.parse(query).masked()["secretkey"] == "***"
    assert mask_phone("0912345678") == "*******678"


# --------------------------------------------------------------------------- configuration
def test_config_layers_file_then_inline_json_then_variables(tmp_path: Path) -> None:
    # Given a config file, inline JSON overriding part of it, and single variables
    config_file = tmp_path / "sim.json"
    config_file.write_text(
        json.dumps({"port": 9000, "queryable_after": 1.0, "rules": [{"phone": "0912345678"}]})
    )
    env = {
        "ESMS_SIM_CONFIG": str(config_file),
        "ESMS_SIM_CONFIG_JSON": json.dumps({"queryable_after": 2.0, "default_rule": {"ivr": "1"}}),
        "ESMS_SIM_PORT": "9100",
        "ESMS_SIM_API_KEY": "env-key",
    }
    # When the configuration is loaded
    config = load_config(env)
    # Then each layer overrides the one before it
    assert (config.port, config.queryable_after, config.api_key) == (9100, 2.0, "env-key")
    assert config.rules == (Rule(phone="0912345678"),)
    assert config.default_rule.ivr == "1"


@pytest.mark.parametrize(
    "data",
    [{"nope": 1}, {"max_resends": -1}, {"queryable_after": "soon"}, {"rules": {"phone": "1"}}],
)
def test_invalid_config_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SimulatorConfig.from_mapping(data)
