"""How the simulator puts the callback's query parameters onto a partner's CallbackUrl.

The provider does not document whether it appends its values or fills the blanks of a
CallbackUrl that already lists the names (``...?ReferenceId=&CallDuration=&...``), so a
receiver must cope with every shape. This module produces each of them on demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from urllib.parse import quote, unquote_plus

#: The callback's query parameters, spelled and ordered as the provider sends them.
CALLBACK_PARAM_NAMES: tuple[str, ...] = (
    "ReferenceId",
    "CallDuration",
    "CallStatus",
    "Ivr",
    "Price",
    "SentResult",
    "CID",
    "SendStatus",
)


class Composition(StrEnum):
    """Shape of the callback URL the simulator calls."""

    #: Fill the blanks when the URL lists callback names with empty values, else append.
    AUTO = "auto"
    #: Always append, with ``?`` when the URL has no query and ``&`` when it has one
    #: (a URL that lists blank names then carries each name twice: blank first, value last).
    APPEND = "append"
    #: Fill the blanks of the names the URL lists; names it does not list are appended.
    FILL = "fill"


def _encode(name: str, value: str) -> str:
    return f"{quote(name, safe='')}={quote(value, safe='')}"


def _split_fragment(url: str) -> str:
    # A fragment never travels over HTTP; drop it so the query lands where a server sees it.
    return url.split("#", 1)[0]


def _blank_names(query: str) -> set[str]:
    names: set[str] = set()
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        if piece and (not sep or value == ""):
            names.add(unquote_plus(name))
    return names


def append_query(url: str, params: Sequence[tuple[str, str]]) -> str:
    """Append ``params`` to ``url`` with ``?`` or ``&`` as its current shape requires."""
    base = _split_fragment(url)
    encoded = "&".join(_encode(name, value) for name, value in params)
    if "?" not in base:
        return f"{base}?{encoded}"
    if base.endswith(("?", "&")):
        return f"{base}{encoded}"
    return f"{base}&{encoded}"


def fill_query(url: str, params: Sequence[tuple[str, str]]) -> str:
    """Fill the blank ``Name=`` entries of ``url``'s query; append the names it lacks."""
    base = _split_fragment(url)
    path, sep, query = base.partition("?")
    if not sep:
        return append_query(base, params)
    wanted = dict(params)
    filled: set[str] = set()
    pieces: list[str] = []
    for piece in query.split("&"):
        name, eq, value = piece.partition("=")
        decoded = unquote_plus(name)
        if piece and decoded in wanted and decoded not in filled and (not eq or value == ""):
            pieces.append(_encode(decoded, wanted[decoded]))
            filled.add(decoded)
        else:
            pieces.append(piece)
    rest = [(name, value) for name, value in params if name not in filled]
    pieces.extend(_encode(name, value) for name, value in rest)
    return f"{path}?{'&'.join(p for p in pieces if p)}"


def compose_callback_url(
    url: str, params: Sequence[tuple[str, str]], composition: Composition
) -> str:
    """Build the URL the provider would GET for one callback."""
    if composition is Composition.FILL:
        return fill_query(url, params)
    if composition is Composition.APPEND:
        return append_query(url, params)
    _, sep, query = _split_fragment(url).partition("?")
    if sep and _blank_names(query) & {name for name, _ in params}:
        return fill_query(url, params)
    return append_query(url, params)
