"""CallsFunction: `POST /calls`, `GET /calls/{call_id}`.

Wires Powertools; the logic is in the layer.
"""

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from esms_calls.api.calls_api import resolve
from esms_calls.observability import logger, metrics

# Only botocore is traced: httpx requests carry the provider's credentials in their URL.
tracer = Tracer(patch_modules=["botocore"])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return resolve(event, context)
