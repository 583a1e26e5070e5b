"""What the client needs to reach the provider (its answers are domain/provider.py's types)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr


class EsmsCredentials(BaseModel):
    model_config = ConfigDict(frozen=True)

    api_key: SecretStr
    secret_key: SecretStr
