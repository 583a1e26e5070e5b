"""The boto3 clients: one configuration for every AWS service the functions talk to.

Every client comes from boto3's default session: a session of its own would load botocore's
endpoint and partition data again (~130 ms of a cold start here; docs/performance.md). boto3
honours AWS_ENDPOINT_URL_<SERVICE>, so the same code reaches moto's server locally.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# The services the functions talk to. The layer's botocore holds the data of these only
# (layers/shared/aws-services, kept equal by a unit test): another would fail in Lambda alone.
SERVICES = frozenset({"dynamodb", "secretsmanager", "sqs", "ssm"})

# Standard retry mode backs off on throttling; a few attempts keep us inside API Gateway's 30 s.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5
)


def client(service: str) -> Any:
    if service not in SERVICES:
        raise ValueError(f"{service} is not in SERVICES (and layers/shared/aws-services)")
    return boto3.client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]


def renew_session() -> None:
    """A new default session for the clients made from now on: its credentials are resolved
    again when it first signs a request (a SnapStart restore must not sign with the
    credentials of the environment its snapshot was taken in)."""
    boto3.setup_default_session()
