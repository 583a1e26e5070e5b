"""Hostile input over real HTTP, through the local gateway: oversized bodies, odd encodings,
tricks in paths and headers, forged callbacks. Each gets a clean 4xx; nothing is stored.

The handlers' own versions of these are in tests/functional/test_hostile_http.py; here the
bytes go through a socket, the gateway's parsing and routing, the event it builds, and back.
"""

from __future__ import annotations

import gzip
import http.client
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.e2e.stack import RunningStack, local_stack, wait_for
from tests.e2e.traffic import JSON, SimulatorAdmin

pytestmark = pytest.mark.e2e

APP_BODY_LIMIT = 64 * 1024
GATEWAY_BODY_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True)
class Raw:
    status: int
    headers: dict[str, str]  # lower-cased names; repeats joined
    body: bytes
    header_names: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    url: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Raw:
    """Send exactly this method, path and body (no client-side normalisation of the path)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=35)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        sent = dict(headers or {})
        if body is not None and "Transfer-Encoding" not in sent:
            sent.setdefault("Content-Length", str(len(body)))
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        names = [name.lower() for name, _ in response.getheaders()]
        joined: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        return Raw(response.status, joined, data, names)
    finally:
        connection.close()


def assert_clean_refusal(answer: Raw, expected: set[int]) -> None:
    """A 4xx among ``expected``, with a JSON body; the application's are RFC 9457 problems."""
    assert answer.status in expected, (answer.status, answer.body[:300])
    content_type = answer.headers.get("content-type", "")
    assert content_type.startswith(("application/problem+json", "application/json")), content_type
    body = answer.json()
    if content_type.startswith("application/problem+json"):
        assert body["status"] == answer.status
        assert {"type", "title", "status", "detail"} <= set(body)
    assert "set-cookie" not in answer.headers
    assert b"Traceback" not in answer.body


@pytest.fixture(scope="module")
def hostile_stack() -> Iterator[RunningStack]:
    with local_stack("--concurrency", "2", "--simulator-delays", "0.05") as running:
        yield running


def a_call(**fields: Any) -> dict[str, Any]:
    phone = f"09{secrets.randbelow(10**8):08d}"
    return {"phone": phone, "template_id": "hostile", "request_id": uuid.uuid4().hex, **fields}


def provider_requests(stack: RunningStack) -> int:
    with SimulatorAdmin(stack.simulator_url) as simulator:
        return len(simulator.requests("MakeCallRecord_V2"))


# ------------------------------------------------------------------------------ bodies
def padded(size: int) -> bytes:
    """A valid call, padded with an unknown field up to ``size`` bytes."""
    body = json.dumps({**a_call(), "padding": ""}).encode()
    return body.replace(b'"padding": ""', b'"padding": "' + b"x" * (size - len(body)) + b'"')


BODIES: list[tuple[str, bytes, dict[str, str], set[int]]] = [
    # (name, body, headers, answers expected)
    ("one byte over 64 KiB", padded(APP_BODY_LIMIT + 1), JSON, {413}),
    ("1 MiB", padded(1024 * 1024), JSON, {413}),
    ("not UTF-8 (Latin-1)", '{"phone": "0912345678", "template_id": "é"}'.encode("latin-1"),
     JSON, {400}),
    ("UTF-16 with its charset", json.dumps(a_call()).encode("utf-16"),
     {"Content-Type": "application/json; charset=utf-16"}, {400, 415}),
    ("lone surrogate escape", b'{"phone": "\\ud800", "template_id": "1"}', JSON, {400, 422}),
    ("NUL in a field", b'{"phone": "0912\\u0000345678", "template_id": "1"}', JSON, {422}),
    ("overlong UTF-8", b'{"phone": "\xc0\xb0912345678", "template_id": "1"}', JSON, {400}),
    ("truncated JSON", b'{"phone": "0912345678", "templ', JSON, {400}),
    ("JSON array", b"[" + json.dumps(a_call()).encode() + b"]", JSON, {422}),
    ("JSON string", b'"0912345678"', JSON, {422}),
    ("JSON null", b"null", JSON, {400, 422}),
    ("deeply nested object", b'{"phone": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001, JSON,
     {400, 422}),
    ("deeply nested array", b"[" * 30000 + b"]" * 30000, JSON, {400, 422}),
    ("a 5000-digit number", b'{"phone": "0912345678", "template_id": "1", "max_retry": '
     + b"9" * 5000 + b"}", JSON, {400, 422}),
    ("a huge exponent", b'{"phone": "0912345678", "template_id": "1", "max_retry": 1e999999}',
     JSON, {400, 422}),
    ("the same field twice", b'{"phone": "0912345678", "phone": "0987654321", "template_id": "1",'
     b' "request_id": "dup-' + uuid.uuid4().hex.encode() + b'"}', JSON, {202, 400, 422}),
    ("gzip without saying so", gzip.compress(json.dumps(a_call()).encode()), JSON, {400}),
    ("gzip, Content-Encoding", gzip.compress(json.dumps(a_call()).encode()),
     {**JSON, "Content-Encoding": "gzip"}, {400, 415}),
    ("text/plain", json.dumps(a_call()).encode(), {"Content-Type": "text/plain"}, {415}),
    ("a form", b"phone=0912345678&template_id=1",
     {"Content-Type": "application/x-www-form-urlencoded"}, {415}),
    ("multipart", b"--b\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n0912345678\r\n"
     b"--b--\r\n", {"Content-Type": "multipart/form-data; boundary=b"}, {415}),
    ("an empty body", b"", JSON, {400}),
    ("Idempotency-Key of 10 000 characters", json.dumps(a_call(request_id=None)).encode(),
     {**JSON, "Idempotency-Key": "k" * 10_000}, {422}),
    ("Idempotency-Key with a CR/LF escape", json.dumps(a_call(request_id=None)).encode(),
     {**JSON, "Idempotency-Key": "a%0d%0aSet-Cookie:%20x=1"}, {422}),
    ("Idempotency-Key differs from request_id", json.dumps(a_call()).encode(),
     {**JSON, "Idempotency-Key": "another-one"}, {422}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [pytest.param(body, headers, expected, id=name) for name, body, headers, expected in BODIES],
)
def test_a_hostile_body_gets_a_clean_4xx_and_places_no_call(
    hostile_stack: RunningStack, body: bytes, headers: dict[str, str], expected: set[int]
) -> None:
    # Given the stack, and what the provider was asked so far
    before = provider_requests(hostile_stack)

    # When the body is posted as it is
    answer = raw_request(hostile_stack.url, "POST", "/calls", body=body, headers=headers)

    # Then the answer is a clean refusal, and no call was placed (a repeated field is the one
    # exception: JSON lets the last one win, and the call is then a valid one)
    if answer.status == 202:
        assert 202 in expected
        assert provider_requests(hostile_stack) == before + 1
        return
    assert_clean_refusal(answer, expected)
    assert provider_requests(hostile_stack) == before


def invocations(stack: RunningStack) -> dict[str, int]:
    return {name: f["invocations"] for name, f in stack.health()["functions"].items()}


def test_a_body_over_the_gateway_limit_is_refused_before_any_function(
    hostile_stack: RunningStack,
) -> None:
    # Given a body over API Gateway's 10 MiB limit, and how often each function ran so far
    body = b'{"padding": "' + b"x" * GATEWAY_BODY_LIMIT + b'"}'
    before = invocations(hostile_stack)
    # When it is posted
    answer = raw_request(hostile_stack.url, "POST", "/calls", body=body, headers=JSON)
    # Then the gateway refuses it with its own 413, and no function ran
    assert (answer.status, answer.json()) == (413, {"message": "Request Entity Too Large"})
    assert answer.headers.get("content-type", "").startswith("application/json")
    assert invocations(hostile_stack) == before


def test_a_chunked_body_that_lies_about_its_chunks_is_refused(hostile_stack: RunningStack) -> None:
    answer = raw_request(
        hostile_stack.url, "POST", "/calls", body=b"zz\r\n{}\r\n0\r\n\r\n",
        headers={**JSON, "Transfer-Encoding": "chunked"},
    )  # fmt: skip
    assert_clean_refusal(answer, {400})


# ------------------------------------------------------------------------------ paths
PATHS: list[tuple[str, str]] = [
    ("dot segments, encoded", "/calls/..%2F..%2Fetc%2Fpasswd"),
    ("dot-dot, encoded", "/calls/%2e%2e"),
    ("dot-dot into the admin", "/calls/..%2F_devstack%2Fhealth"),
    ("NUL", "/calls/%00"),
    ("CR LF header injection", "/calls/x%0d%0aSet-Cookie:%20injected=1"),
    ("SQL-ish", "/calls/'%20OR%20'1'='1"),
    ("template-ish", "/calls/%7B%7B7*7%7D%7D"),
    ("invalid UTF-8 escape", "/calls/%ff%fe"),
    ("emoji", "/calls/%F0%9F%98%80"),
    ("4000 characters", "/calls/" + "a" * 4000),
    ("a percent alone", "/calls/%"),
    ("an encoded slash", "/calls/abc%2Fdef"),
    ("a query of tricks", "/calls/abc?call_id=../../x&call_id=%00"),
    ("a fragment-like suffix", "/calls/abc%23def"),
    ("a path parameter ;", "/calls/abc;jsessionid=1"),
]


@pytest.mark.parametrize("path", [pytest.param(path, id=name) for name, path in PATHS])
def test_a_tricky_call_id_is_a_clean_not_found(hostile_stack: RunningStack, path: str) -> None:
    # When a call id with a trick in it is read
    answer = raw_request(hostile_stack.url, "GET", path)
    # Then the answer is a plain 404 (no call has such an id), nothing leaks, no header is injected
    assert_clean_refusal(answer, {404})
    assert "injected" not in json.dumps(answer.headers)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/calls/x/../../_devstack/health", 404),
        ("/calls/./x", 404),
        # http.server reads //calls as /calls: the listing, nothing else
        ("//calls", 200),
        ("/calls/x/extra", 404),
        ("/CALLS", 404),
        ("/callbacks/esms/x", 404),
        # the route's {call_id} and {token}: a token that is no token
        ("/callbacks/esms/..%2F..%2Fcalls/x", 403),
    ],
)
def test_a_path_outside_the_routes_is_the_gateways_404(
    hostile_stack: RunningStack, path: str, status: int
) -> None:
    # When a path that is no route (or reads as one only once normalised) is asked for
    answer = raw_request(hostile_stack.url, "GET", path)
    # Then the answer is exactly that path's: the gateway's 404, the callback route's 403, the
    # listing for //calls
    assert answer.status == status, (answer.status, answer.body[:300])
    if status == 200:
        assert isinstance(answer.json()["items"], list)
    else:
        assert_clean_refusal(answer, {status})


def test_an_unrouted_method_gets_a_clean_answer(hostile_stack: RunningStack) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        answer = raw_request(hostile_stack.url, method, "/calls", body=b"{}", headers=JSON)
        assert_clean_refusal(answer, {404, 405})


# ------------------------------------------------------------------------------ callbacks
def test_forged_callbacks_are_refused_and_change_nothing(hostile_stack: RunningStack) -> None:
    # Given a placed call whose callbacks never come (so only forged ones could change it)
    with (
        SimulatorAdmin(hostile_stack.simulator_url) as simulator,
        httpx.Client(base_url=hostile_stack.url, timeout=35) as api,
    ):
        call = a_call()
        simulator.add_rule({"phone": call["phone"], "drop_callbacks": True})
        try:
            placed = api.post("/calls", json=call)
            assert placed.status_code == 202, placed.text
            call_id, sms_id = placed.json()["call_id"], placed.json()["sms_id"]
            url = next(c["callback_url"] for c in simulator.calls() if c["sms_id"] == sms_id)
            real_token = urlsplit(url).path.rsplit("/", 1)[1]
        finally:
            simulator.reset_rules()
        final = (
            f"ReferenceId={sms_id}&CallDuration=99&CallStatus=ANSWERED&Ivr=&Price=1.0000"
            "&SentResult=1&CID=1&SendStatus=5"
        )
        other_call = uuid.uuid4().hex

        # When callbacks come with a wrong, empty-looking, foreign or mangled token
        forged = [
            f"/callbacks/esms/{call_id}/{'0' * len(real_token)}?{final}",
            f"/callbacks/esms/{call_id}/{real_token[:-1]}?{final}",
            f"/callbacks/esms/{call_id}/{real_token.upper()}x?{final}",
            f"/callbacks/esms/{call_id}/%20?{final}",
            f"/callbacks/esms/{call_id}/{quote(real_token + '/..', safe='')}?{final}",
            f"/callbacks/esms/{other_call}/{real_token}?{final}",
            f"/callbacks/esms/{call_id}%00/{real_token}?{final}",
            f"/callbacks/esms/{call_id}/{'t' * 5000}?{final}",
        ]
        answers = [raw_request(hostile_stack.url, "GET", path) for path in forged]

        # Then each is refused (403: bad token), and the call is as it was
        for answer in answers:
            assert_clean_refusal(answer, {403})
        record = api.get(f"/calls/{call_id}").json()
        assert record["status"] == "ACCEPTED" and record["callbacks_received"] == 0, record

        # And the real URL still works (the refusals did not poison anything)
        genuine = raw_request(hostile_stack.url, "GET", f"{urlsplit(url).path}?{final}")
        assert genuine.status == 200
        settled = wait_for(
            lambda: api.get(f"/calls/{call_id}").json()["status"] == "COMPLETED", timeout=5
        )
        assert settled
