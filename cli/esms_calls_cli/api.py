"""The calls API over HTTP: one method per route, answers as parsed JSON, problems as
ProblemAnswer, no answer at all as ApiUnreachable."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from esms_calls_cli.errors import ApiUnreachable, ProblemAnswer

JSON_BODY = {"Content-Type": "application/json", "Accept": "application/json"}
# httpx's transport retries only what cannot have reached the API (connection refused, DNS,
# connect timeout): safe for every request, POSTs included.
CONNECT_RETRIES = 2


def _path(*segments: str) -> str:
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def _query(params: Mapping[str, str]) -> str:
    """Every reserved character percent-encoded (`,` too), as SigV4's canonical query has it:
    the query sent is the query signed."""
    return urlencode(sorted(params.items()), quote_via=quote, safe="-_.~")


class CallsApi:
    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None,
        timeout: float = 35.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            auth=auth,
            timeout=timeout,
            transport=transport or httpx.HTTPTransport(retries=CONNECT_RETRIES),
            headers={"User-Agent": "esms-calls-cli"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CallsApi:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def place_call(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._send("POST", "/calls", body=body)

    def get_call(self, call_id: str) -> dict[str, Any]:
        return self._send("GET", _path("calls", call_id))

    def list_calls(self, params: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        """Pages of GET /calls, following next_cursor until it is null."""
        return self._pages("/calls", params)

    def place_batch(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._send("POST", "/batches", body=body)

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        return self._send("GET", _path("batches", batch_id))

    def _pages(self, path: str, params: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            page = self._send(
                "GET", path, params={**params, **({"cursor": cursor} if cursor else {})}
            )
            yield page
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        url = self.base_url + path + (f"?{_query(params)}" if params else "")
        try:
            if body is None:
                answer = self._client.request(method, url, headers={"Accept": "application/json"})
            else:
                answer = self._client.request(method, url, json=body, headers=JSON_BODY)
        except httpx.TimeoutException:
            raise ApiUnreachable(f"no answer from {self.base_url} in time") from None
        except httpx.HTTPError as error:
            raise ApiUnreachable(f"cannot reach {self.base_url}: {error}") from None
        try:
            parsed: Any = answer.json()
        except ValueError:
            parsed = None
        if answer.is_success and isinstance(parsed, dict):
            return parsed
        if answer.is_success:
            raise ApiUnreachable(f"{self.base_url} answered {answer.status_code} with no JSON body")
        raise ProblemAnswer.from_answer(answer.status_code, parsed, answer.reason_phrase)
