"""One validated settings object, read from the environment once per execution environment.

Nothing here runs at import time: the composition root (dependencies.py) reads the environment
on first use, so tests (and the local stack) set the environment first and call
`dependencies.reset()` to have it read again.
"""

from __future__ import annotations

import os
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

_DATE = r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*"
_DATES = rf"^({_DATE}(,{_DATE})*)?$"


class Settings(BaseModel):
    """Everything that differs between environments, validated once.

    Credentials come either from Secrets Manager (deployed: the `*_SECRET` names) or straight from
    the environment (local stack, tests). Exactly one source must be configured for each: a
    deployed function silently falling back to an empty key would fail far from the cause.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    calls_table_name: str = Field(min_length=3)
    dedupe_table_name: str = Field(min_length=3)
    esms_base_url: str = Field(pattern=r"^https?://")
    # GetBalance_json, on the provider's REST host (not the voice one); the balance watch.
    esms_balance_url: str = Field(
        default="https://rest.esms.vn/MainService.svc/json/GetBalance_json/", pattern=r"^https?://"
    )
    low_balance_threshold: float = Field(default=100_000, ge=0)  # VND; under it: a warning

    esms_credentials_secret: str | None = None
    esms_api_key: SecretStr | None = None
    esms_secret_key: SecretStr | None = None

    callback_signing_secret: str | None = None
    callback_signing_key: SecretStr | None = None

    public_base_url: str | None = Field(default=None, pattern=r"^https?://")
    public_base_url_parameter: str | None = None

    esms_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=10)
    esms_read_timeout_seconds: float = Field(default=20.0, gt=0, le=60)
    esms_connect_retries: int = Field(default=2, ge=0, le=5)

    call_retention_days: int = Field(default=90, ge=1, le=3650)
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    reconcile_after_seconds: int = Field(default=900, ge=0)
    reconcile_horizon_seconds: int = Field(default=172_800, ge=60)
    reconcile_retry_seconds: int = Field(default=300, ge=1)
    reconcile_max_calls: int = Field(default=200, ge=1, le=10_000)

    # Scheduled and rule-triggered lists: up to this many valid entries are placed within the
    # invocation; longer lists go one message per call through the queue (CallsFunction only).
    calls_queue_url: str | None = Field(default=None, pattern=r"^https?://\S+/[^/\s]+$")
    fan_out_threshold: int = Field(default=10, ge=0, le=1000)

    # The calling rules (domain/calling_rules.py): Decree 91/2020/NĐ-CP's limits by default.
    # Vietnam time; 24:00 closes at midnight (the root also refuses hours that close first).
    advertising_hours: str = Field(
        default="08:00-17:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$",
    )
    # ISO dates, comma-separated (Tết, ...).
    advertising_blocked_dates: str = Field(
        default="",
        pattern=r"^(\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*(,\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*)*)?$",
    )
    advertising_calls_per_number: int = Field(default=1, ge=1, le=10)  # in any 24 h
    do_not_call_service_calls: bool = False  # the do-not-call list stops service calls too

    @model_validator(mode="after")
    def _calling_rules_readable(self) -> Settings:
        opens, closes = self.advertising_hours.split("-")
        if closes <= opens:  # HH:MM texts order like the times they name
            raise ValueError("ADVERTISING_HOURS must close after they open, within one day")
        for text in filter(None, map(str.strip, self.advertising_blocked_dates.split(","))):
            date.fromisoformat(text)  # ValueError for a date that does not exist
        return self

    @model_validator(mode="after")
    def _one_source_each(self) -> Settings:
        if not self.esms_credentials_secret and not (self.esms_api_key and self.esms_secret_key):
            raise ValueError(
                "set ESMS_CREDENTIALS_SECRET, or both ESMS_API_KEY and ESMS_SECRET_KEY"
            )
        if not self.callback_signing_secret and not self.callback_signing_key:
            raise ValueError("set CALLBACK_SIGNING_SECRET or CALLBACK_SIGNING_KEY")
        if not self.public_base_url and not self.public_base_url_parameter:
            raise ValueError("set PUBLIC_BASE_URL or PUBLIC_BASE_URL_PARAMETER")
        return self

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> Settings:
        source = os.environ if environ is None else environ
        values = {
            name: source[name.upper()]
            for name in cls.model_fields
            if source.get(name.upper(), "") != ""
        }
        return cls.model_validate(values)
