"""The calls twin (twins/calls/app.py, copied beside this file as calls_twin.py) after importing
and building the libraries CallsFunction keeps doing their jobs: Powertools' Logger, Metrics and
Tracer (botocore patched, as ours), its validating HTTP API resolver with one route taking a
pydantic body, its idempotency layer on DynamoDB and its Parameters providers. Nothing of ours:
the row shows what those libraries alone add to the twin's cold start."""

import os

import boto3
import pydantic
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
from calls_twin import lambda_handler as twin_handler


class CallRequest(pydantic.BaseModel):
    phone: str
    template_id: str
    max_retry: int = 1


logger, metrics, tracer = Logger(), Metrics(), Tracer(patch_modules=["botocore"])
resolver = APIGatewayHttpResolver(enable_validation=True)


@resolver.post("/calls")
def create_call(body: CallRequest) -> dict:
    return {"phone": body.phone}


def lambda_handler(event, context):
    dynamodb = boto3.client("dynamodb")
    DynamoDBPersistenceLayer(table_name=os.environ["DEDUPE_TABLE_NAME"], boto3_client=dynamodb)
    SecretsProvider(boto3_client=boto3.client("secretsmanager"))
    SSMProvider(boto3_client=boto3.client("ssm"))
    resolver.resolve(event, context)
    return twin_handler(event, context)
