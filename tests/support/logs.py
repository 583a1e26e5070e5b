"""Finding whole phone numbers in log output, whatever their spelling."""

from __future__ import annotations

import re

_GAP = r"[ .()-]?"
# A Vietnamese number as any spelling normalise_phone accepts would print it (+84, 0084, 84 or 0,
# then 9 digits of a mobile or 10 of a landline, single separators allowed), standing alone: not
# part of a longer run of letters, digits or dashes (a uuid, an id, a timestamp, a decimal).
_WHOLE_PHONE = re.compile(
    rf"(?<![\w.-])(?:\+84|0084|84|0){_GAP}"
    rf"(?:[35789](?:{_GAP}\d){{8}}|2(?:{_GAP}\d){{9}})(?![\w-])"
)

# The example the service's validation messages give (PHONE_MESSAGE): nobody's number.
_EXAMPLE = re.compile(r"e\.g\. 0912345678(?: or \+84 912 345 678)?")


def whole_phone_numbers(text: str) -> list[str]:
    """The whole phone numbers in `text`, as their digits (`84912345678`, `0912345678`)."""
    text = _EXAMPLE.sub("e.g. …", text)
    return [re.sub(r"\D", "", match.group()) for match in _WHOLE_PHONE.finditer(text)]
