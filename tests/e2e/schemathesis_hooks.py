"""What docs/openapi.json cannot say, applied to schemathesis' valid cases (SCHEMATHESIS_HOOKS).

- An idempotency key names one call for 24 h: another call under the same key is refused (422).
  Each valid case gets a key of its own (the header and the body's request_id the same one).
- A send time must not be in the past: a valid case's send_at is moved to tomorrow.
- A script must be one the provider's account has, with its number of variables: a valid tts
  case speaks the simulator's OTP1 (one variable).
- A batch id is an idempotency key too: each valid `POST /batches` gets its own, header and body
  the same.
- The listings' query values are read by rules the document states in words (a status or a
  comma-separated list of them, 1-100, ISO-8601 times, a Vietnamese number, a cursor this
  listing issued): a valid case gets values that follow them.
- The calling rules depend on the clock and on earlier calls: a valid advertising case calls a
  number of its own (the frequency cap), is deferred rather than refused outside the advertising
  hours, and its opt_out_key is not its ivr (the forwarding key).

Invalid cases are sent as generated: they must be refused whatever their key or send time.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis
from schemathesis import GenerationMode


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    meta = case.meta
    valid = meta is None or meta.generation.mode is GenerationMode.POSITIVE
    route = (case.method.upper(), case.operation.path)
    if not valid:
        return
    if route in LISTINGS:
        _follow_the_listing_rules(case)
    elif route == ("POST", "/batches"):
        _own_batch_id(case)
    elif route == ("POST", "/calls"):
        _own_request_id(case)


LISTINGS = {("GET", "/calls"), ("GET", "/batches/{batch_id}/calls")}


def _follow_the_listing_rules(case: Any) -> None:
    query = case.query
    if not isinstance(query, dict):
        return
    now = datetime.now(UTC)
    rules = {
        "status": "COMPLETED,FAILED",
        "limit": "10",
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": now.isoformat(),
        "phone": "0912345678",
        "request_id": uuid.uuid4().hex,
        "batch_id": uuid.uuid4().hex,
    }
    for name in list(query):
        if name == "cursor":
            del query[name]
        elif name in rules and query[name] is not None:
            query[name] = rules[name]


def _own_batch_id(case: Any) -> None:
    key = uuid.uuid4().hex
    for name in list(case.headers or {}):
        if name.lower() == "idempotency-key":
            case.headers[name] = key
    if isinstance(case.body, dict) and case.body.get("batch_id") is not None:
        case.body["batch_id"] = key


def _own_request_id(case: Any) -> None:
    key = uuid.uuid4().hex
    for name in list(case.headers or {}):
        if name.lower() == "idempotency-key":
            case.headers[name] = key
    body = case.body
    if isinstance(body, dict):
        if body.get("request_id") is not None:
            body["request_id"] = key
        if body.get("send_at") is not None:
            body["send_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        if body.get("purpose") == "advertising":
            body.pop("Phone", None)
            body["phone"] = f"09{secrets.randbelow(10**8):08d}"
            body["outside_hours"] = "defer"
        forwarding_key = body.get("ivr", body.get("Ivr"))
        opt_out_key = body.get("opt_out_key")
        if opt_out_key is not None and str(opt_out_key).strip() == str(forwarding_key).strip():
            body.pop("opt_out_key")
        tts = body.get("tts")
        if isinstance(tts, dict):
            tts.pop("VariableListStr", None)
            tts.update({"template_id": "OTP1", "variables": ["482913"]})
