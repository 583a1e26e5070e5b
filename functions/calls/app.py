"""CallsFunction: `POST /calls`, `GET /calls/{call_id}`, EventBridge Scheduler targets and rule
events (one call or a list), and the calls queue that long lists fan out through.

Wires Powertools and tells the event shapes apart; the logic is in the layer. The non-HTTP paths
are imported on first use, so an API cold start does not load them.
"""

# isort: off
# First: pauses cyclic garbage collection until the first event is answered (docs/performance.md).
from esms_calls import gc_paused

# isort: on
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from esms_calls import snapshots
from esms_calls.api.calls_api import register_routes, resolve
from esms_calls.observability import logger, metrics
from esms_calls.triggers import EventKind, kind_of

# Only botocore is traced: httpx requests carry the provider's credentials in their URL.
tracer = Tracer(patch_modules=["botocore"])
# SnapStart: the snapshot holds every route, and no secret (esms_calls/snapshots.py).
snapshots.register(warm_up=register_routes)


@gc_paused.resumed_after_first_event
# clear_state: keys appended for one event (request_id, call_id) must not stick to the next.
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    kind = kind_of(event)
    if kind is EventKind.HTTP:
        return resolve(event, context)
    if kind is EventKind.QUEUE:
        from esms_calls.triggers.queue import handle_queue_batch

        return handle_queue_batch(event, context)
    from esms_calls.triggers.call_lists import handle_call_list

    return handle_call_list(event, kind, context)
