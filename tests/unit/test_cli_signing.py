"""`esms-calls --auth iam`: requests signed with SigV4 for execute-api, checked by a stub that
verifies signatures the way API Gateway does, written from AWS's description of the algorithm
(not with botocore, which signs): a signature that does not match what was sent is refused."""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import parse_qsl, quote

import httpx
import pytest
import time_machine
from botocore.credentials import Credentials

from esms_calls_cli.api import CallsApi
from esms_calls_cli.auth import SigV4Auth, region_of
from esms_calls_cli.errors import ProblemAnswer

pytestmark = pytest.mark.unit

KEY_ID, SECRET, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token"
REGION = "ap-southeast-1"
API = f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com"
NOW = "2026-12-02T03:04:05Z"
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def expected_signature(request: httpx.Request, signed: list[str], date: str) -> str:
    """SigV4 as AWS documents it, from the request as it arrives."""
    raw_path = request.url.raw_path.split(b"?")[0].decode()
    query = sorted((_encode(k), _encode(v)) for k, v in parse_qsl(request.url.query.decode(), True))
    canonical = "\n".join(
        [
            request.method,
            quote(raw_path, safe="/~"),  # every service but S3: the path as sent, encoded again
            "&".join(f"{k}={v}" for k, v in query),
            "".join(f"{name}:{' '.join(request.headers[name].split())}\n" for name in signed),
            ";".join(signed),
            hashlib.sha256(request.content).hexdigest(),
        ]
    )
    scope = f"{date}/{REGION}/execute-api/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            request.headers["x-amz-date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + SECRET).encode()
    for part in (date, REGION, "execute-api", "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def api_gateway(request: httpx.Request) -> httpx.Response:
    """The verifying stub: 200 with what it checked, or 403 as API Gateway answers."""
    request.read()
    match = AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
    if not match or match["key"] != KEY_ID or request.headers.get("x-amz-security-token") != TOKEN:
        return httpx.Response(403, json={"message": "Missing Authentication Token"})
    signed = match["signed"].split(";")
    if not {"host", "x-amz-date", "x-amz-security-token"} <= set(signed):
        return httpx.Response(403, json={"message": "a required header is not signed"})
    if not hmac.compare_digest(
        match["signature"], expected_signature(request, signed, match["date"])
    ):
        return httpx.Response(
            403, json={"message": "The request signature we calculated does not match"}
        )
    return httpx.Response(200, json={"signed": signed, "amz_date": request.headers["x-amz-date"]})


def signed_api(transport: httpx.BaseTransport) -> CallsApi:
    return CallsApi(
        API, auth=SigV4Auth(Credentials(KEY_ID, SECRET, TOKEN), REGION), transport=transport
    )


@time_machine.travel(NOW, tick=False)
def test_a_signed_get_with_a_query_passes_the_verifier() -> None:
    # Given a listing whose query holds a space, a plus and a comma
    with signed_api(httpx.MockTransport(api_gateway)) as api:
        # When it is sent signed
        [page] = list(api.list_calls({"phone": "+84 912 345 678", "status": "COMPLETED,FAILED"}))
    # Then the verifier found the signature right, made at the fixed time
    assert page["amz_date"] == "20261202T030405Z"
    assert page["signed"] == ["accept", "host", "x-amz-date", "x-amz-security-token"]


@time_machine.travel(NOW, tick=False)
def test_a_signed_post_covers_its_body_and_content_type() -> None:
    with signed_api(httpx.MockTransport(api_gateway)) as api:
        answer = api.place_call({"phone": "0912345678", "template_id": "123", "request_id": "r1"})
    assert "content-type" in answer["signed"]


@time_machine.travel(NOW, tick=False)
def test_a_path_with_reserved_characters_passes_the_verifier() -> None:
    with signed_api(httpx.MockTransport(api_gateway)) as api:
        assert api.get_batch("reminders:2026-12-02")["amz_date"] == "20261202T030405Z"


def test_a_body_changed_after_signing_is_refused_by_the_verifier() -> None:
    # Given a transport that alters the body after the client signed it (the stub can fail)
    def tamper(request: httpx.Request) -> httpx.Response:
        request.read()
        altered = httpx.Request(
            request.method, request.url, headers=request.headers,
            content=request.content.replace(b"0912345678", b"0987654321"),
        )  # fmt: skip
        return api_gateway(altered)

    with signed_api(httpx.MockTransport(tamper)) as api, pytest.raises(ProblemAnswer) as refused:
        api.place_call({"phone": "0912345678", "template_id": "123", "request_id": "r1"})
    # Then it is refused as API Gateway would
    assert refused.value.status == 403


def test_the_region_is_read_from_an_execute_api_url() -> None:
    assert region_of(API) == REGION
    assert region_of("https://calls.example.com") is None
