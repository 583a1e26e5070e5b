"""CallbackFunction's hand-written twin, the yardstick of its cold-start row: boto3 and plain
json, no framework. Its first callback makes the AWS requests ours makes on a deployed cold
start: the callback signing key from Secrets Manager, then one conditional UpdateItem
(minimal_handlers.CallbackHandler.callback). It never calls the provider: no httpx."""

import os

import boto3
from minimal_handlers import CLIENT_CONFIG, CallbackHandler

_handler = None


def lambda_handler(event, context):
    global _handler
    if _handler is None:
        secrets = boto3.client("secretsmanager", config=CLIENT_CONFIG)
        signing_key = secrets.get_secret_value(SecretId=os.environ["CALLBACK_SIGNING_SECRET"])
        _handler = CallbackHandler(
            os.environ["CALLS_TABLE_NAME"], signing_key["SecretString"].encode()
        )
    return _handler.callback(event, context)
