import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esms_calls.domain.phone import PHONE_PATTERN, InvalidPhoneNumber, mask_phone, normalise_phone


@pytest.mark.parametrize(
    "spelling",
    [
        "0912345678",
        "84912345678",
        "+84912345678",
        "+84 912 345 678",
        "0912.345.678",
        "(+84) 912-345-678",
        "0084912345678",
        " 0912345678 ",
    ],
)
def test_common_spellings_become_the_national_form(spelling: str) -> None:
    # Given a Vietnamese mobile number spelled as people write it
    # When it is normalised
    # Then the provider gets the national form
    assert normalise_phone(spelling) == "0912345678"


def test_landlines_keep_their_eleven_digits() -> None:
    assert normalise_phone("+84 28 7100 2454") == "02871002454"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12345",
        "0112345678",
        "+1 202 555 0100",
        "09123456789",
        "phone",
        "0912 345 67x",
        "849123456780",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalise_phone(text)


def test_masking_never_shows_the_whole_number() -> None:
    masked = mask_phone("0912345678")
    assert masked == "091****678"
    assert "0912345678" not in masked
    assert mask_phone(None) == ""


@given(st.from_regex(PHONE_PATTERN, fullmatch=True))
def test_every_text_the_documented_pattern_allows_is_a_phone_number(text: str) -> None:
    # Given any text docs/openapi.json's phone pattern allows
    # When it is normalised, Then it is a number the provider takes
    assert re.fullmatch(r"0(?:[35789][0-9]{8}|2[0-9]{9})", normalise_phone(text))


@given(st.text(alphabet="0123456789+ .-()x٣", max_size=16))
def test_the_documented_pattern_allows_exactly_what_normalisation_accepts(text: str) -> None:
    # Given any text made of a phone number's characters (and some that are not)
    try:
        normalise_phone(text)
        accepted = True
    except InvalidPhoneNumber:
        accepted = False
    # Then the document's pattern says the same as the code
    assert bool(re.search(PHONE_PATTERN, text)) == accepted
