"""Secrets and deployment values: Secrets Manager / SSM through Powertools Parameters (cached),
or the environment when running locally. Values never leave this module except to their user."""

from __future__ import annotations

from typing import Any

from esms_calls.esms.models import EsmsCredentials
from esms_calls.settings import get_settings
from esms_calls.storage import parameters

# Secrets rotate rarely; five minutes bounds how long a rotated key keeps being used.
_SECRET_MAX_AGE_SECONDS = 300


def _secret(name: str, *, as_json: bool = False) -> Any:
    return parameters.secret(name, max_age=_SECRET_MAX_AGE_SECONDS, as_json=as_json)


def _configured(name: str | None) -> str:
    # Settings guarantees one source of each value; this only narrows the type.
    if not name:
        raise RuntimeError("settings validation should have refused this configuration")
    return name


def esms_credentials() -> EsmsCredentials:
    settings = get_settings()
    if settings.esms_api_key and settings.esms_secret_key:
        return EsmsCredentials(api_key=settings.esms_api_key, secret_key=settings.esms_secret_key)
    value = _secret(_configured(settings.esms_credentials_secret), as_json=True)
    return EsmsCredentials.model_validate(value)


def callback_signing_key() -> bytes:
    settings = get_settings()
    if settings.callback_signing_key:
        return settings.callback_signing_key.get_secret_value().encode()
    return str(_secret(_configured(settings.callback_signing_secret))).encode()


def public_base_url() -> str:
    settings = get_settings()
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    name = _configured(settings.public_base_url_parameter)
    return parameters.parameter(name, max_age=3600).rstrip("/")
