"""How requests are authorised: none (the local stack), SigV4 (IAM, deployed) or a bearer token
(the JWT authorizer). Signing is botocore's own; this only adapts it to httpx's Auth flow."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any
from urllib.parse import urlsplit

import httpx

from esms_calls_cli.errors import BadInput

SERVICE = "execute-api"
# Headers worth signing: the ones that say what the request is. Hop-by-hop ones a proxy may change
# (connection, accept-encoding) are left out, as are those botocore never signs (user-agent).
_SIGNED_HEADERS = ("host", "content-type", "idempotency-key", "accept")
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")


class BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class SigV4Auth(httpx.Auth):
    """Signs each request with botocore's SigV4Auth for `execute-api` in `region`.

    `credentials` is a botocore Credentials object (refreshable ones are frozen per request)."""

    requires_request_body = True

    def __init__(self, credentials: Any, region: str) -> None:
        self._credentials = credentials
        self._region = region

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from botocore.auth import SigV4Auth as BotocoreSigV4
        from botocore.awsrequest import AWSRequest

        headers = {
            name: request.headers[name] for name in _SIGNED_HEADERS if name in request.headers
        }
        aws_request = AWSRequest(
            method=request.method, url=str(request.url), data=request.content, headers=headers
        )
        frozen = self._credentials.get_frozen_credentials()
        BotocoreSigV4(frozen, SERVICE, self._region).add_auth(aws_request)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in aws_request.headers:
                request.headers[name] = aws_request.headers[name]
        yield request


def region_of(url: str) -> str | None:
    """The region in an execute-api host name (`abc.execute-api.ap-southeast-1.amazonaws.com`)."""
    match = _EXECUTE_API_HOST.search(urlsplit(url).hostname or "")
    return match.group(1) if match else None


def iam_auth(url: str, region: str | None, profile: str | None) -> SigV4Auth:
    """SigV4 from the standard AWS credential chain (environment, profile, SSO, instance role)."""
    try:
        import botocore.session
    except ImportError:  # botocore is the `cli` extra; the local stack needs none of it
        raise BadInput("--auth iam needs botocore: pip install 'esms-calls[cli]'") from None
    from botocore.exceptions import BotoCoreError

    try:
        session = botocore.session.Session(profile=profile)
        credentials = session.get_credentials()
        configured_region = session.get_config_variable("region")
    except BotoCoreError as error:  # an unknown profile, a broken config file
        raise BadInput(f"--auth iam: {error}") from None
    if credentials is None:
        raise BadInput("--auth iam: no AWS credentials found (environment, profile or role)")
    region = region or region_of(url) or configured_region
    if not region:
        raise BadInput("--auth iam: no region (give --region or set AWS_REGION)")
    return SigV4Auth(credentials, region)
