"""CallsFunction's hand-written twin, the yardstick of its cold-start row: boto3, httpx and plain
json, no framework. Its first `POST /calls` makes the AWS and provider requests ours makes on a
deployed cold start, in the deployed configuration: the callback signing key and the provider's
credentials from Secrets Manager, the public base URL from SSM, then the placement itself
(minimal_handlers.MinimalHandlers.place_call: PutItem, TransactWriteItems, the provider's GET,
TransactWriteItems)."""

import json
import os

import boto3
from minimal_handlers import CLIENT_CONFIG, MinimalHandlers

_handlers = None


def _configured() -> MinimalHandlers:
    secrets = boto3.client("secretsmanager", config=CLIENT_CONFIG)
    ssm = boto3.client("ssm", config=CLIENT_CONFIG)
    signing_key = secrets.get_secret_value(SecretId=os.environ["CALLBACK_SIGNING_SECRET"])
    base_url = ssm.get_parameter(Name=os.environ["PUBLIC_BASE_URL_PARAMETER"])["Parameter"]
    credentials = json.loads(
        secrets.get_secret_value(SecretId=os.environ["ESMS_CREDENTIALS_SECRET"])["SecretString"]
    )
    return MinimalHandlers(
        os.environ["CALLS_TABLE_NAME"],
        os.environ["DEDUPE_TABLE_NAME"],
        os.environ["ESMS_BASE_URL"],
        credentials["api_key"],
        credentials["secret_key"],
        signing_key["SecretString"].encode(),
        transport=None,
        public_base_url=base_url["Value"],
    )


def lambda_handler(event, context):
    global _handlers
    if _handlers is None:
        _handlers = _configured()
    return _handlers.place_call(event, context)
