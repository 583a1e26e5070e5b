"""The callback twin (twins/callback/app.py, copied beside this file as callback_twin.py) after
importing and building the libraries CallbackFunction keeps doing their jobs: Powertools'
Logger, Metrics and Tracer (botocore patched, as ours), its HTTP API resolver, and pydantic
with one model. Nothing of ours: the row shows what those libraries alone add to the twin's cold
start, the least any function using them can cost."""

import pydantic
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from callback_twin import lambda_handler as twin_handler


class Report(pydantic.BaseModel):
    call_id: str
    status: str = "COMPLETED"


logger, metrics, tracer = Logger(), Metrics(), Tracer(patch_modules=["botocore"])
resolver = APIGatewayHttpResolver()


def lambda_handler(event, context):
    Report(call_id=event["pathParameters"]["call_id"])
    return twin_handler(event, context)
