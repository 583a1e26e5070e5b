"""The eSMS voice API client: the only module that touches httpx.

Credentials travel in the query string (the provider offers nothing else), so no URL, query or
exception carrying one may reach a log line: httpx's own request logging is silenced and every
transport error is re-raised as a typed error without its cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from esms_calls.domain.calls import PROVIDER_NAMES, CallSpec
from esms_calls.domain.provider import (
    ACCEPTED,
    Accepted,
    MakeCallAnswer,
    Refused,
    SendStatus,
    SendStatusAnswer,
    classify,
)
from esms_calls.errors import ProviderTimeout, ProviderUnavailable
from esms_calls.esms.models import EsmsCredentials

# httpx logs every request line, query string included, at INFO; httpcore traces at DEBUG.
# (observability.py quiets them too; this module must be safe on its own.)
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_MAKE_CALL = "/MakeCallRecord_V2"
_SEND_STATUS = "/GetSendStatus"


class EsmsClient:
    """One instance per execution environment: its connection pool outlives invocations."""

    def __init__(
        self,
        base_url: str,
        credentials: Callable[[], EsmsCredentials],
        *,
        connect_timeout: float,
        read_timeout: float,
        connect_retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._credentials = credentials
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        # httpx's transport retries only failures to connect (refused, DNS, connect timeout), with
        # backoff: those never reached the provider, so repeating them cannot place a call twice.
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport or httpx.HTTPTransport(retries=connect_retries),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers={"Accept": "application/json"},
        )

    def make_call(
        self,
        spec: CallSpec,
        *,
        request_id: str,
        callback_url: str | None,
        time_budget: float | None = None,
    ) -> MakeCallAnswer:
        """Place a call, its parameters spelled as the provider's page spells them."""
        query = {**_provider_params(spec), "RequestID": request_id}
        if callback_url:
            query["CallbackUrl"] = callback_url
        body = self._get(_MAKE_CALL, query, time_budget)
        code = _code(body, "CodeResult")
        if code == ACCEPTED:
            sms_id = str(body.get("SMSID") or "").strip()
            if not sms_id:
                raise ProviderUnavailable("the provider accepted the call but gave no SMSID")
            return Accepted(sms_id=sms_id)
        return self._refused(code, body)

    def get_send_status(self, sms_id: str, *, time_budget: float | None = None) -> SendStatusAnswer:
        body = self._get(_SEND_STATUS, {"ReferenceId": sms_id}, time_budget)
        code = _code(body, "CodeResponse") if "CodeResponse" in body else _code(body, "CodeResult")
        if code != ACCEPTED:
            return self._refused(code, body)
        return SendStatus(
            reference_id=str(body.get("ReferenceId") or sms_id),
            send_status=_optional_int(body.get("SendStatus")),
            call_status=str(body.get("CallStatus") or ""),
            duration_seconds=_optional_int(body.get("CallDuration")),
            ivr=str(body.get("Ivr") or ""),
            sent_result=_optional_int(body.get("SentResult")),
        )

    def close(self) -> None:
        self._http.close()

    def _get(
        self, path: str, query: Mapping[str, str], time_budget: float | None
    ) -> dict[str, Any]:
        creds = self._credentials()
        full_query = {
            "ApiKey": creds.api_key.get_secret_value(),
            "SecretKey": creds.secret_key.get_secret_value(),
            **query,
        }
        read = (
            self._read_timeout
            if time_budget is None
            else max(0.1, min(self._read_timeout, time_budget))
        )
        timeout = httpx.Timeout(read, connect=min(self._connect_timeout, read))
        try:
            response = self._http.get(path, params=full_query, timeout=timeout)
        except httpx.ConnectTimeout:
            raise ProviderUnavailable("could not connect to the provider in time") from None
        except httpx.TimeoutException:
            raise ProviderTimeout("the provider did not answer in time") from None
        except httpx.TransportError as exc:
            # The exception's text can hold the URL; keep only its type.
            raise ProviderUnavailable(
                f"provider connection failed ({type(exc).__name__})"
            ) from None
        if response.status_code >= 500:
            raise ProviderUnavailable(f"the provider answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnavailable(
                f"the provider answered HTTP {response.status_code} with a body that is not JSON"
            ) from None
        if not isinstance(body, dict):
            raise ProviderUnavailable("the provider answered JSON that is not an object")
        return body

    def _refused(self, code: str, body: Mapping[str, Any]) -> Refused:
        kind, message = classify(code, _scrubbed(body.get("ErrorMessage"), self._credentials()))
        return Refused(code=code, kind=kind, message=message)


def _provider_params(spec: CallSpec) -> dict[str, str]:
    values = spec.model_dump(exclude_none=True)
    return {PROVIDER_NAMES[name]: str(value) for name, value in values.items()}


def _code(body: Mapping[str, Any], key: str) -> str:
    code = body.get(key)
    if code is None or str(code).strip() == "":
        raise ProviderUnavailable("the provider's answer has no result code")
    return str(code).strip()


def _optional_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _scrubbed(message: Any, creds: EsmsCredentials) -> str | None:
    """A provider message is passed on verbatim, except for anything that echoes a credential."""
    if message is None:
        return None
    text = str(message)[:500]
    for secret in (creds.api_key.get_secret_value(), creds.secret_key.get_secret_value()):
        if secret:
            text = text.replace(secret, "***")
    return text
