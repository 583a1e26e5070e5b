"""Secrets Manager and SSM Parameter Store, read through Powertools Parameters (which caches
each value for its max age). The providers are handed their clients: see storage/aws.py."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider


class SecretsReader:
    def __init__(self, secretsmanager: Any) -> None:
        self._provider = SecretsProvider(boto3_client=secretsmanager)

    def text(self, name: str, *, max_age: int) -> str:
        return str(self._provider.get(name, max_age=max_age))

    def json(self, name: str, *, max_age: int) -> Any:
        return self._provider.get(name, transform="json", max_age=max_age)


class ParameterReader:
    def __init__(self, ssm: Any) -> None:
        self._provider = SSMProvider(boto3_client=ssm)

    def text(self, name: str, *, max_age: int) -> str:
        return str(self._provider.get(name, max_age=max_age))
