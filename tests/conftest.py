"""Test-wide environment: fake AWS credentials and a region, set before any boto3 client."""

import os

import moto  # noqa: F401  (imported before any boto3 client is built, as moto asks)

for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-1",
    "POWERTOOLS_SERVICE_NAME": "esms-calls",
    "POWERTOOLS_METRICS_NAMESPACE": "EsmsCalls",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}.items():
    os.environ[name] = value
