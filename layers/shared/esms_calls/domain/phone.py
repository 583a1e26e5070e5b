"""Vietnamese phone numbers: the national form the provider expects, and masking."""

from __future__ import annotations

import re

# ASCII white space spelled out, not `\s`: Python's `\s` also takes \x1c-\x1f, which the Rust
# regex pydantic validates the document's pattern with does not (the two would disagree).
_SEPARATOR_CLASS = r"[ \t\n\r\f\v.()-]"
_SEPARATORS = re.compile(_SEPARATOR_CLASS)
# Mobile: 0 + 3/5/7/8/9 + 8 digits. Landline: 02 + 9 digits (area code and subscriber). ASCII
# digits only: the provider takes no other.
_NATIONAL = re.compile(r"^0(?:[35789][0-9]{8}|2[0-9]{9})$")


def _spelled(*pieces: str) -> str:
    """Each piece preceded by any run of separators (spaces, dots, dashes, parentheses)."""
    return "".join(f"{_SEPARATOR_CLASS}*{piece}" for piece in pieces)


# Exactly the texts normalise_phone accepts, as one regular expression (the OpenAPI document's
# pattern for phone numbers): +84, 0084, 84 or 0, then the national number without its 0.
_PREFIXES = (
    _spelled(r"\+", "8", "4"),
    _spelled("0", "0", "8", "4"),
    _spelled("8", "4"),
    _spelled("0"),
)
_MOBILE = _spelled("[35789]") + f"(?:{_spelled('[0-9]')}){{8}}"
_LANDLINE = _spelled("2") + f"(?:{_spelled('[0-9]')}){{9}}"
PHONE_PATTERN = f"^(?:{'|'.join(_PREFIXES)})(?:{_MOBILE}|{_LANDLINE}){_SEPARATOR_CLASS}*$"


class InvalidPhoneNumber(ValueError):
    """The text is not a Vietnamese phone number in any common spelling."""


def normalise_phone(text: str) -> str:
    """Return the national form (`0912345678`) of `0912345678`, `84912345678`, `+84 912 345 678`."""
    digits = _SEPARATORS.sub("", text.strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not _NATIONAL.match(digits):
        raise InvalidPhoneNumber("not a Vietnamese phone number")
    return digits


def mask_phone(phone: str | None) -> str:
    """Keep enough to recognise a number in a log line, never the whole number."""
    if not phone:
        return ""
    if len(phone) <= 6:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 6)}{phone[-3:]}"
