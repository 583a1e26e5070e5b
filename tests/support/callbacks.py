"""Callback events as the provider sends them: GET on the CallbackUrl we handed out."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.support import events

# The provider's own documented example callback.
PROVIDER_EXAMPLE_QUERY = (
    "ReferenceId=066107ee-6ec4-4283-b595-aa74977c65c5&CallDuration=0&CallStatus=&Ivr="
    "&Price=0.0000&SentResult=0&CID=02871002454&SendStatus=5"
)


def report_query(sms_id: str, send_status: int | None = 5, **overrides: str) -> str:
    values = {
        "ReferenceId": sms_id,
        "CallDuration": "13",
        "CallStatus": "ANSWERED",
        "Ivr": "1",
        "Price": "300.0000",
        "SentResult": "1",
        "CID": "02871002454",
    }
    if send_status is not None:
        values["SendStatus"] = str(send_status)
    values.update(overrides)
    return urlencode(values)


def appended(callback_url: str, query: str, joiner: str = "&") -> str:
    """The provider appending its query to the URL we gave (which lists blank placeholders)."""
    return f"{callback_url}{joiner}{query}"


def filled(callback_url: str, query: str) -> str:
    """The provider filling the blank placeholders of the URL we gave."""
    path, _, _ = callback_url.partition("?")
    return f"{path}?{query}"


def callback_event(url: str) -> dict[str, Any]:
    """The HTTP API event for a GET of this URL, shaped like `events/callback_get.json`."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    event = copy.deepcopy(events.load_event("callback_get.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = parts.path
    event["rawQueryString"] = parts.query
    event["pathParameters"] = {"call_id": segments[-2], "token": segments[-1]}
    # API Gateway joins repeated names with commas here; the handler reads rawQueryString.
    joined: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        joined.setdefault(name, []).append(value)
    event["queryStringParameters"] = {k: ",".join(v) for k, v in joined.items()} or None
    if event["queryStringParameters"] is None:
        del event["queryStringParameters"]
    return event
