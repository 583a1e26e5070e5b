"""CallbackFunction: the provider's callbacks, the scheduled reconciliation and the scheduled
balance check. Wires Powertools; the logic is in the layer."""

# isort: off
# First: pauses cyclic garbage collection until the first event is answered (docs/performance.md).
from esms_calls import gc_paused

# isort: on
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from esms_calls import dependencies, snapshots
from esms_calls.api.callback_api import resolve
from esms_calls.observability import logger, metrics

tracer = Tracer(patch_modules=["botocore"])
# SnapStart: the snapshot holds no secret and no client (esms_calls/snapshots.py).
snapshots.register()


@gc_paused.resumed_after_first_event
# clear_state: keys appended for one event (call_id) must not stick to the next.
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    if event.get("action") == "reconcile":
        # Built on first use: the provider client (httpx) is not needed for callbacks.
        reconcile = dependencies.root().reconcile
        remaining = context.get_remaining_time_in_millis() / 1000
        return reconcile(time_budget_seconds=remaining).__dict__
    if event.get("action") == "check_balance":
        return dependencies.root().check_balance().__dict__
    return resolve(event, context)
