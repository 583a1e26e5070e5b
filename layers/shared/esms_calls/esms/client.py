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

from esms_calls.domain.calls import (
    NOT_SENT,
    PROVIDER_NAMES,
    RECORDING_ONLY,
    TTS_PROVIDER_NAMES,
    VARIABLE_SEPARATOR,
    CallSpec,
    TtsScript,
)
from esms_calls.domain.provider import (
    ACCEPTED,
    MAX_QUERY_LENGTH,
    Accepted,
    Balance,
    BalanceAnswer,
    MakeCallAnswer,
    Refused,
    SendStatus,
    SendStatusAnswer,
    classify,
)
from esms_calls.errors import InvalidCallRequest, ProviderTimeout, ProviderUnavailable
from esms_calls.esms.models import EsmsCredentials

# httpx logs every request line, query string included, at INFO; httpcore traces at DEBUG.
# (observability.py quiets them too; this module must be safe on its own.)
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_MAKE_CALL = "/MakeCallRecord_V2"
_MAKE_TTS_CALL = "/MakeCallTemplate_V2"
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
        balance_url: str | None = None,
    ) -> None:
        self._credentials = credentials
        # GetBalance_json lives on another host (rest.esms.vn) than the voice functions.
        self._balance_url = balance_url
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
        """Place a call, its parameters spelled as the provider's page spells them: a recording
        with MakeCallRecord_V2, a script with MakeCallTemplate_V2."""
        path, query = _make_call_query(spec, request_id, callback_url)
        body = self._get(path, query, time_budget)
        code = _code(body, "CodeResult")
        if code == ACCEPTED:
            sms_id = str(body.get("SMSID") or "").strip()
            if not sms_id:
                raise ProviderUnavailable("the provider accepted the call but gave no SMSID")
            return Accepted(sms_id=sms_id)
        return self._refused(code, body, spec)

    def check_query(self, spec: CallSpec, *, request_id: str, callback_url: str | None) -> None:
        """Refuse a call whose query would be longer than the provider takes (InvalidCallRequest),
        before anything is recorded for it."""
        _, query = _make_call_query(spec, request_id, callback_url)
        length = len(str(httpx.QueryParams(self._with_credentials(query))))
        if length > MAX_QUERY_LENGTH:
            field = "tts.variables" if spec.tts and spec.tts.variables else "body"
            raise InvalidCallRequest(
                field, f"make the provider's query longer than {MAX_QUERY_LENGTH} characters"
            )

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

    def get_balance(self, *, time_budget: float | None = None) -> BalanceAnswer:
        """The account's balance (GetBalance_json: a POST with the credentials as JSON)."""
        if not self._balance_url:
            raise ValueError("the client was built without a balance_url")
        body = self._send("POST", self._balance_url, time_budget, json=self._with_credentials({}))
        code = _code(body, "CodeResponse")
        if code != ACCEPTED:
            return self._refused(code, body)
        try:
            amount = float(body["Balance"])
        except (KeyError, TypeError, ValueError):
            raise ProviderUnavailable("the provider's balance answer has no number") from None
        return Balance(amount=amount, user_id=str(body.get("UserID") or ""))

    def close(self) -> None:
        self._http.close()

    def _get(
        self, path: str, query: Mapping[str, str], time_budget: float | None
    ) -> dict[str, Any]:
        return self._send("GET", path, time_budget, params=self._with_credentials(query))

    def _send(
        self, method: str, url: str, time_budget: float | None, **content: Any
    ) -> dict[str, Any]:
        read = (
            self._read_timeout
            if time_budget is None
            else max(0.1, min(self._read_timeout, time_budget))
        )
        timeout = httpx.Timeout(read, connect=min(self._connect_timeout, read))
        try:
            response = self._http.request(method, url, timeout=timeout, **content)
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

    def _with_credentials(self, query: Mapping[str, str]) -> dict[str, str]:
        creds = self._credentials()
        return {
            "ApiKey": creds.api_key.get_secret_value(),
            "SecretKey": creds.secret_key.get_secret_value(),
            **query,
        }

    def _refused(self, code: str, body: Mapping[str, Any], spec: CallSpec | None = None) -> Refused:
        creds = self._credentials()
        secrets = [creds.api_key.get_secret_value(), creds.secret_key.get_secret_value()]
        if spec is not None and spec.sensitive and spec.tts and spec.tts.variables:
            secrets += spec.tts.variables  # a message echoing the query must not carry a code
        kind, message = classify(code, _scrubbed(body.get("ErrorMessage"), secrets))
        return Refused(code=code, kind=kind, message=message)


def _make_call_query(
    spec: CallSpec, request_id: str, callback_url: str | None
) -> tuple[str, dict[str, str]]:
    """The path and query of a call. The two functions spell the request id differently."""
    if spec.tts is None:
        path, query = _MAKE_CALL, {**_recording_params(spec), "RequestID": request_id}
    else:
        path, query = _MAKE_TTS_CALL, {**_tts_params(spec, spec.tts), "RequestId": request_id}
    if callback_url:
        query["CallbackUrl"] = callback_url
    return path, query


def _recording_params(spec: CallSpec) -> dict[str, str]:
    values = spec.model_dump(exclude_none=True, exclude={"tts", *NOT_SENT})
    return {PROVIDER_NAMES[name]: str(value) for name, value in values.items()}


def _tts_params(spec: CallSpec, script: TtsScript) -> dict[str, str]:
    if script.variables is None:
        # Programming error: a withheld script (as stored) can never be spoken.
        raise ValueError("the script's variables were withheld: it cannot be placed")
    values = spec.model_dump(exclude_none=True, exclude={"tts", *RECORDING_ONLY, *NOT_SENT})
    query = {PROVIDER_NAMES[name]: str(value) for name, value in values.items()}
    if script.variables:
        query[TTS_PROVIDER_NAMES["variables"]] = VARIABLE_SEPARATOR.join(script.variables)
    if script.voice is not None:
        query[TTS_PROVIDER_NAMES["voice"]] = script.voice.value
    if script.speed is not None:
        query[TTS_PROVIDER_NAMES["speed"]] = str(script.speed)
    return query


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


def _scrubbed(message: Any, secrets: list[str]) -> str | None:
    """A provider message is passed on verbatim, except for anything that echoes a credential
    or a sensitive variable."""
    if message is None:
        return None
    text = str(message)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text[:500]
