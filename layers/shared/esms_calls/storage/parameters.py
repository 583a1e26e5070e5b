"""Secrets Manager and SSM Parameter Store, read through Powertools Parameters (cached).

The providers get their clients from boto3's default session, the one the DynamoDB client uses:
Powertools' default providers open a session each, and every new session loads botocore's
endpoint and partition data again (~130 ms of a cold start here; docs/performance.md).
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _secrets_provider() -> Any:
    # Imported on first use: the local stack and tests that use the environment never load them.
    import boto3
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=boto3.client("secretsmanager"))


@cache
def _ssm_provider() -> Any:
    import boto3
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=boto3.client("ssm"))


def secret(name: str, *, max_age: int, as_json: bool = False) -> Any:
    if as_json:
        return _secrets_provider().get(name, transform="json", max_age=max_age)
    return _secrets_provider().get(name, max_age=max_age)


def parameter(name: str, *, max_age: int) -> str:
    return str(_ssm_provider().get(name, max_age=max_age))


def reset_caches() -> None:
    for provider in (_secrets_provider, _ssm_provider):
        if provider.cache_info().currsize:
            provider().clear_cache()
        provider.cache_clear()
